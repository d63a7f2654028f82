"""Audition: plan, render (cached) and play a sample in the session's tempo and key.

:class:`Auditioner` is the one object the UI talks to for sound. Its blocking methods
(:meth:`Auditioner.prepare`, :meth:`Auditioner.export`) decode and stretch, so the UI calls them
on a worker thread; :meth:`Auditioner.play` and :meth:`Auditioner.stop` only hand arrays to the
audio callback and return at once.

Renders go into a :class:`~companion.preview.cache.RenderCache`, so the second audition of a
sample in the same context starts at once, and :meth:`Auditioner.prefetch` fills the cache ahead
of the producer (the top suggestions, the neighbours of the selection).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion.errors import AudioOutputError
from companion.music.keys import Key, parse_key
from companion.preview.cache import RenderCache, RenderKey
from companion.preview.plan import PreviewPlan, plan_preview
from companion.preview.player import Player
from companion.preview.render import Rendered, render, render_head, write_wav

log = logging.getLogger(__name__)

#: Seconds of draft audio rendered before an uncached audition starts; the whole draft must be
#: ready before they have played (an 8 s loop's draft takes ~0.15–0.3 s on a 2-core laptop).
HEAD_S = 1.5


@dataclass(frozen=True)
class AuditionItem:
    """What the auditioner needs to know of a sample.

    Attributes:
        path: the file.
        kind: ``"loop"`` or ``"one-shot"``.
        bpm: its tempo (BPM) or None.
        key: its key (``"A minor"``, a :class:`Key`) or None.
    """

    path: str
    kind: str
    bpm: float | None = None
    key: Key | str | None = None

    def parsed_key(self) -> Key | None:
        """The key as a :class:`Key` (None when unknown or unreadable)."""
        if self.key is None or isinstance(self.key, Key):
            return self.key
        try:
            return parse_key(self.key)
        except ValueError:
            return None


@dataclass(frozen=True)
class Started:
    """An audition that plays (returned by :meth:`Auditioner.play_at_once`).

    Attributes:
        item: what plays.
        first: the render that started it (a draft head, a whole draft, or the cached render).
        cache_hit: the full-quality render came from the cache; nothing follows.
        first_ms: request → the first render handed to the player, ms.
        tag: the player's tag of this sound (for :meth:`Auditioner.finish`).
    """

    item: AuditionItem
    first: Rendered
    cache_hit: bool
    first_ms: float
    tag: object

    @property
    def draft(self) -> bool:
        """True when a draft plays and the full-quality render is still to come."""
        return not self.cache_hit


@dataclass(frozen=True)
class Prepared:
    """A render ready to play and whether it came from the cache."""

    item: AuditionItem
    rendered: Rendered
    cache_hit: bool


class Auditioner:
    """Plans, renders, caches and plays previews.

    Args:
        player: the output; None for a silent auditioner (rendering and export still work).
        cache: the render cache (a new 256 MB one by default).
        high_quality: Rubber Band's high-quality mode.
        follow_tempo / follow_key: adapt loops to the session tempo / samples to its key.
        export_dir: where rendered files for dragging into the DAW are written
            (default: a ``samplemind-renders`` folder in the system temp dir).
    """

    def __init__(
        self,
        player: Player | None,
        cache: RenderCache | None = None,
        *,
        high_quality: bool = True,
        follow_tempo: bool = True,
        follow_key: bool = True,
        export_dir: Path | None = None,
    ) -> None:
        self.player = player
        self.cache = cache or RenderCache()
        self.high_quality = high_quality
        self.follow_tempo = follow_tempo
        self.follow_key = follow_key
        self.export_dir = export_dir or Path(tempfile.gettempdir()) / "samplemind-renders"
        self._rate: int | None = None
        self._rate_lock = threading.Lock()

    # ------------------------------------------------------------------ planning
    @property
    def sample_rate(self) -> int:
        """Rate renders are made at: the output device's rate (48 kHz without a player)."""
        with self._rate_lock:
            if self._rate is None:
                self._rate = self.player.sample_rate if self.player is not None else 48000
            return self._rate

    def set_device(self, device: int | str | None) -> None:
        """Switch the output device (stops playback; renders follow the new rate)."""
        if self.player is not None:
            self.player.device = device
        with self._rate_lock:
            self._rate = None

    def plan(self, item: AuditionItem, context_bpm: float | None, context_key: Key | None) -> PreviewPlan:
        """The :class:`PreviewPlan` of ``item`` for a context (pure, cheap)."""
        return plan_preview(
            kind=item.kind,
            bpm=item.bpm,
            key=item.parsed_key(),
            context_bpm=context_bpm,
            context_key=context_key,
            follow_tempo=self.follow_tempo,
            follow_key=self.follow_key,
        )

    # ------------------------------------------------------------------ blocking work
    def prepare(self, item: AuditionItem, context_bpm: float | None, context_key: Key | None) -> Prepared:
        """Render ``item`` for the context (or take it from the cache). Call on a worker thread.

        Raises:
            AudioDecodeError: the file cannot be read.
            AudioOutputError: the output device is gone (its rate cannot be read).
            OSError: the file vanished.
        """
        plan = self.plan(item, context_bpm, context_key)
        rate = self.sample_rate
        key = RenderKey.of(item.path, plan, rate, self.high_quality)
        rendered, hit = self.cache.get_or_render(
            key, lambda: render(item.path, plan, rate, high_quality=self.high_quality)
        )
        return Prepared(item, rendered, hit)

    def is_cached(self, item: AuditionItem, context_bpm: float | None, context_key: Key | None) -> bool:
        """True when the render of ``item`` for this context is in the cache (a click plays it
        without rendering). Cheap; does not mark the entry as used."""
        plan = self.plan(item, context_bpm, context_key)
        return RenderKey.of(item.path, plan, self.sample_rate, self.high_quality) in self.cache

    def prefetch(
        self,
        items: list[AuditionItem],
        context_bpm: float | None,
        context_key: Key | None,
        *,
        cancelled: Callable[[], bool] | None = None,
    ) -> int:
        """Render items into the cache ahead of time, in order (worker thread); unreadable ones
        are skipped.

        Args:
            cancelled: asked before each item; when it returns True (the context or the list
                changed) the rest is skipped. The render in progress is finished (and cached).

        Returns:
            How many were rendered now (not already cached).
        """
        done = 0
        for item in items:
            if cancelled is not None and cancelled():
                break
            try:
                if not self.prepare(item, context_bpm, context_key).cache_hit:
                    done += 1
            except Exception as exc:  # noqa: BLE001 - a prefetch miss only costs a later wait
                log.info("pre-render of %s skipped: %s", item.path, exc)
        return done

    def play_at_once(
        self,
        item: AuditionItem,
        context_bpm: float | None,
        context_key: Key | None,
        *,
        current: Callable[[], bool] = lambda: True,
    ) -> Started | None:
        """Start an audition as soon as possible (worker thread); returns once sound plays.

        A cached full-quality render plays at once. Otherwise a draft of the first
        :data:`HEAD_S` seconds is rendered (:func:`~companion.preview.render.render_head`: the
        pitch by resampling, the tempo by Rubber Band's fast engine) and starts; the whole
        draft follows and takes over at the same position (:meth:`Player.continue_with`).
        Call :meth:`finish` next to render the full quality into the cache and switch to it.

        Args:
            current: asked between steps; False (a newer click, a stop) ends the work there.

        Returns:
            What plays, or None when ``current()`` turned False before anything played.

        Raises:
            AudioDecodeError: the file cannot be read.
            AudioOutputError: no player, or the device cannot be opened.
        """
        if self.player is None:
            raise AudioOutputError("no audio output is configured — choose one in Settings")
        t0 = time.perf_counter()
        plan = self.plan(item, context_bpm, context_key)
        rate = self.sample_rate
        tag = object()
        cached = self.cache.get(RenderKey.of(item.path, plan, rate, self.high_quality))
        if cached is not None or plan.is_identity:
            prepared = (
                Prepared(item, cached, True) if cached is not None else self.prepare(item, context_bpm, context_key)
            )
            if not current():
                return None
            self.player.play(prepared.rendered, tag=tag)
            return Started(item, prepared.rendered, True, (time.perf_counter() - t0) * 1000.0, tag)
        head, complete = render_head(item.path, plan, rate, HEAD_S)
        if not current():
            return None
        self.player.play(head, tag=tag)
        started = Started(item, head, False, (time.perf_counter() - t0) * 1000.0, tag)
        if not complete:
            whole = render(item.path, plan, rate, draft=True)
            if current():
                self.player.continue_with(tag, whole)
        return started

    def finish(self, started: Started, context_bpm: float | None, context_key: Key | None) -> Prepared:
        """Render ``started``'s full quality into the cache (worker thread) and let a looping
        draft switch to it at its next loop turn (a one-shot draft plays to its end; the next
        click plays the full render from the cache).

        Raises:
            AudioDecodeError: the file cannot be read.
        """
        prepared = self.prepare(started.item, context_bpm, context_key)
        if self.player is not None and started.draft:
            self.player.continue_with(started.tag, prepared.rendered, at_loop_turn=True)
        return prepared

    def export(
        self,
        item: AuditionItem,
        context_bpm: float | None,
        context_key: Key | None,
        *,
        start_s: float = 0.0,
        end_s: float | None = None,
    ) -> Path:
        """Write the rendered preview (or a region of it) as a WAV file to drag into the DAW.

        The file name says what it is: ``<stem> 128bpm Am.wav`` for a stretched loop, with a
        region suffix when only part of it is written.

        Returns:
            The WAV file (in :attr:`export_dir`).
        """
        prepared = self.prepare(item, context_bpm, context_key)
        plan = prepared.rendered.plan
        stem = Path(item.path).stem
        bits = [stem]
        if plan.target_bpm:
            bits.append(f"{plan.target_bpm:g}bpm")
        if plan.semitones and plan.sounding_key is not None:
            bits.append(plan.sounding_key.short)
        if start_s > 0 or end_s is not None:
            bits.append(f"{start_s:.2f}-{(end_s or prepared.rendered.duration_s):.2f}s")
        digest = hashlib.blake2b(f"{item.path}|{plan}|{start_s}|{end_s}".encode(), digest_size=4).hexdigest()
        dest = self.export_dir / digest / (" ".join(bits) + ".wav")
        if not dest.exists():
            write_wav(prepared.rendered, dest, start_s=start_s, end_s=end_s)
        return dest

    # ------------------------------------------------------------------ transport
    def play(self, prepared: Prepared, *, start_s: float = 0.0, end_s: float | None = None) -> None:
        """Start playing (returns at once).

        Raises:
            AudioOutputError: no player, or the device cannot be opened.
        """
        if self.player is None:
            raise AudioOutputError("no audio output is configured — choose one in Settings")
        self.player.play(prepared.rendered, start_s=start_s, end_s=end_s)

    def stop(self) -> None:
        """Fade out whatever plays."""
        if self.player is not None:
            self.player.stop()

    def close(self) -> None:
        """Release the audio device."""
        if self.player is not None:
            self.player.close()
