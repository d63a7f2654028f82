"""Ableton Link adapter: session tempo, beat phase and play state through ``aalink``.

Link (https://ableton.github.io/link/) synchronises tempo, beat phase and start/stop between
peers on the local network. It carries **no key**, so it only feeds ``bpm`` and ``playing``;
beat, phase and the peer count are available from :meth:`LinkAdapter.state`.

The binding is ``aalink`` (PyPI, maintained, asyncio-based, wheels for Linux/macOS/Windows).
It runs here on its own thread with its own event loop. Link discovers peers by UDP multicast
(224.76.78.75:20808) on every interface, loopback included; nothing is sent beyond the LAN.

While this peer is alone, its own (placeholder) tempo is not pushed into the context: tempo
and play state are taken from Link only once another peer has joined, and again on each
change made by any peer.

**Licence.** Ableton Link is dual-licensed: GPLv2-or-later, or a proprietary licence from
Ableton (link-devs@ableton.com). ``aalink`` bundles Link and is GPLv3-or-later. A GPL library
loaded into the same process makes the whole distributed program subject to the GPL, so the
companion must not *ship* ``aalink`` inside a closed-source build: it is an optional extra the
user installs (``pip install aalink``), imported only when Link is switched on. Distributing
it with the app needs either a GPL-compatible licence for the app or Ableton's proprietary
Link licence with a binding of our own. (This is a summary for the team, not legal advice.)
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from companion.bridge.address_space import BPM_RANGE
from companion.bridge.updates import ContextUpdate, UpdateSink
from companion.errors import CompanionError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkState:
    """A snapshot of the Link session as this peer sees it.

    Attributes:
        tempo: session tempo, BPM.
        beat: beats on the session timeline.
        phase: position in the current bar-like cycle, beats in ``[0, quantum)``.
        quantum: beats per phase cycle (4 = one 4/4 bar).
        playing: the session's transport state (start/stop sync).
        peers: other Link peers connected.
    """

    tempo: float
    beat: float
    phase: float
    quantum: float
    playing: bool
    peers: int


def _require_aalink() -> Any:
    try:
        import aalink
    except ImportError as exc:
        raise CompanionError(
            "Ableton Link needs the optional package aalink (GPLv3+): `pip install aalink` — "
            "see plugin_bridge/README.md for what its licence means for distribution"
        ) from exc
    return aalink


class LinkAdapter:
    """Joins the Link session and turns its tempo and play-state changes into updates.

    Args:
        on_update: receives :class:`~companion.bridge.updates.ContextUpdate` values with
            source ``"link"`` (``bpm`` in BPM rounded to 0.01, ``playing``), on the Link thread.
        quantum: beats per phase cycle reported by :meth:`state` (4 = a 4/4 bar).
        start_tempo: this peer's tempo until it joins a session, BPM.

    Raises:
        CompanionError: from :meth:`start` when ``aalink`` is not installed.
    """

    def __init__(self, on_update: UpdateSink, *, quantum: float = 4.0, start_tempo: float = 120.0) -> None:
        self._on_update = on_update
        self.quantum = quantum
        self.start_tempo = start_tempo
        self._loop: asyncio.AbstractEventLoop | None = None
        self._link: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._peers = 0
        self.updates = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> LinkAdapter:
        """Start the Link thread and enable Link.

        Raises:
            CompanionError: aalink is missing, or Link could not start.
        """
        if self._thread is not None:
            return self
        aalink = _require_aalink()
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, args=(aalink,), name="ableton-link", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise CompanionError(f"Ableton Link did not start: {self._error or 'timed out'}")
        log.info("Ableton Link enabled (quantum %g)", self.quantum)
        return self

    def stop(self) -> None:
        """Leave the session and stop the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        self._thread = None
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=5.0)

    def __enter__(self) -> LinkAdapter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, aalink: Any) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open(aalink))
        except Exception as exc:  # noqa: BLE001 - reported to start() by _error
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            if self._link is not None:
                self._link.enabled = False
                self._link = None
            loop.close()
            self._loop = None

    async def _open(self, aalink: Any) -> None:
        link = aalink.Link(self.start_tempo)
        link.quantum = self.quantum
        link.start_stop_sync_enabled = True
        link.set_tempo_callback(self._on_tempo)
        link.set_start_stop_callback(self._on_start_stop)
        link.set_num_peers_callback(self._on_peers)
        link.enabled = True
        self._link = link

    # -- Link callbacks (on the Link thread's event loop) ----------------------------------------

    def _emit(self, **fields: Any) -> None:
        update = ContextUpdate(
            fields=MappingProxyType(fields),
            source="link",
            received_at=time.perf_counter(),
            addresses=tuple(f"link:{name}" for name in fields),
        )
        try:
            self._on_update(update)
            self.updates += 1
        except CompanionError as exc:
            log.warning("Link update %s refused: %s", dict(fields), exc)
        except Exception:
            log.exception("Link update %s failed; Link goes on", dict(fields))

    @staticmethod
    def _bpm(tempo: float) -> float | None:
        bpm = round(float(tempo), 2)  # Link reports e.g. 130.00013 after a peer's change
        return bpm if BPM_RANGE[0] <= bpm <= BPM_RANGE[1] else None

    def _on_tempo(self, tempo: float) -> None:
        bpm = self._bpm(tempo)
        if self._peers > 0 and bpm is not None:
            self._emit(bpm=bpm)

    def _on_start_stop(self, playing: bool) -> None:
        if self._peers > 0:
            self._emit(playing=bool(playing))

    def _on_peers(self, peers: int) -> None:
        joined = self._peers == 0 and peers > 0
        self._peers = int(peers)
        log.info("Link peers: %d", peers)
        if joined and self._link is not None:
            bpm = self._bpm(self._link.tempo)
            fields: dict[str, Any] = {"playing": bool(self._link.playing)}
            if bpm is not None:
                fields["bpm"] = bpm
            self._emit(**fields)

    # -- queries ---------------------------------------------------------------------------------

    def state(self, timeout: float = 1.0) -> LinkState:
        """The session's tempo, beat, phase, play state and peer count, read on the Link thread.

        Raises:
            CompanionError: Link is not running.
        """
        loop = self._loop
        if loop is None or self._link is None:
            raise CompanionError("Ableton Link is not running: call start() first")

        async def read() -> LinkState:
            link = self._link
            return LinkState(
                tempo=float(link.tempo),
                beat=float(link.beat),
                phase=float(link.phase),
                quantum=float(link.quantum),
                playing=bool(link.playing),
                peers=int(link.num_peers),
            )

        return asyncio.run_coroutine_threadsafe(read(), loop).result(timeout)


__all__ = ["LinkAdapter", "LinkState"]
