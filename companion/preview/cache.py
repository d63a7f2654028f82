"""The render cache: a thread-safe LRU of rendered previews, bounded in bytes.

Rendering a loop in Rubber Band's high-quality mode takes about 0.1 s per second of audio on
one laptop core, so the first audition of a loop waits for it; the cache makes the second one
start at once, and the UI pre-renders the top suggestions (and the neighbours of the selection)
into it on a worker thread, so most first auditions are cache hits too.

Entries are keyed by the file's identity (path, size, mtime) and the render parameters, so an
edited file is rendered again. Two threads asking for the same entry render it once: the second
waits for the first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion.preview.plan import PreviewPlan
from companion.preview.render import Rendered

#: Default memory budget, bytes (about 12 minutes of 48 kHz stereo float32).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class RenderKey:
    """Identity of one render: the file as it is on disk and the render parameters."""

    path: str
    size: int
    mtime_ns: int
    speed: float
    semitones: int
    sample_rate: int
    high_quality: bool
    loop: bool = False  # a loop is rendered with its tail wrapped onto its head

    @classmethod
    def of(cls, path: Path | str, plan: PreviewPlan, sample_rate: int, high_quality: bool = True) -> RenderKey:
        """The key of ``path`` rendered with ``plan`` (stats the file; call off the GUI thread).

        Raises:
            OSError: the file is gone.
        """
        st = os.stat(path)
        return cls(
            str(path),
            int(st.st_size),
            int(st.st_mtime_ns),
            round(float(plan.speed), 5),
            int(plan.semitones),
            int(sample_rate),
            bool(high_quality),
            bool(plan.loop),
        )


class RenderCache:
    """LRU cache of :class:`Rendered` previews.

    Args:
        max_bytes: memory budget; the least recently used entries are dropped beyond it.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[RenderKey, Rendered] = OrderedDict()
        self._in_flight: dict[RenderKey, threading.Event] = {}
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        with self._lock:
            return self._bytes

    def get(self, key: RenderKey) -> Rendered | None:
        """The cached render, or None (marks it most recently used)."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: RenderKey, rendered: Rendered) -> None:
        """Store a render, evicting the least recently used ones beyond the budget."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if rendered.nbytes > self.max_bytes:
                return
            self._entries[key] = rendered
            self._bytes += rendered.nbytes
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes

    def get_or_render(self, key: RenderKey, render: Callable[[], Rendered]) -> tuple[Rendered, bool]:
        """The cached render of ``key``, rendering it (once, whatever the threads) when missing.

        Args:
            key: the entry.
            render: produces the render; called on this thread when nobody else is rendering it.

        Returns:
            ``(rendered, hit)``: hit is True when no render was needed on this call.

        Raises:
            Whatever ``render`` raises (then the next call tries again).
        """
        while True:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return hit, True
                waiting = self._in_flight.get(key)
                if waiting is None:
                    done = threading.Event()
                    self._in_flight[key] = done
                    self.misses += 1
                    break
            waiting.wait()  # another thread renders it; then look again (or render if it failed)
        try:
            rendered = render()
            self.put(key, rendered)
            return rendered, False
        finally:
            with self._lock:
                self._in_flight.pop(key, None)
            done.set()

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
