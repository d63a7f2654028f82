"""Audition for the window: render and play on workers, pre-render, drag files.

The :class:`~companion.preview.audition.Auditioner` comes from the session
(:meth:`companion.app.Session.open_audition`); rendering and playing run on the controller's
``audio`` pool, pre-rendering the likely next auditions on the ``prefetch`` pool so it never
queues in front of a click.

Pre-rendering: after each new list (and a short quiet time) the selected card and the top
:data:`PREFETCH_TOP` cards are rendered for the current context, in list order, one after the
other on the single ``prefetch`` worker; a newer list (a context change) cancels what is left of
the older one. Memory stays bounded by the auditioner's LRU render cache (256 MB by default),
which holds them next to the renders of earlier clicks.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QObject, QTimer, QUrl, Signal, Slot

from companion.errors import AudioDecodeError
from companion.preview.audition import Prepared
from companion.ui.items import SuggestionItem

if TYPE_CHECKING:
    from companion.ui.controller import AppController

log = logging.getLogger(__name__)

#: Quiet time after a list change before the top of the list is pre-rendered (ms).
PREFETCH_DELAY_MS = 600
#: Longest the pre-render waits for that quiet (ms): a list that a scan or an embedding job
#: re-ranks every second still gets its top pre-rendered.
PREFETCH_MAX_WAIT_MS = 2000
#: How many cards from the top of the list are pre-rendered (the ones a producer sees first).
PREFETCH_TOP = 10
MIME_SAMPLE = "application/x-samplemind-sample"


class AuditionAdapter(QObject):
    """Preview, pre-render and drag for one controller.

    Args:
        controller: the owner (signals ``preview_state`` and ``message``, task pools, session).
        audio: open the settings' output device (False: render only).
    """

    _player_state = Signal(str)

    def __init__(self, controller: AppController, *, audio: bool = True) -> None:
        super().__init__(controller)
        self._c = controller
        self.auditioner, problem = controller.session.open_audition(audio=audio, on_state=self._player_state.emit)
        if problem:
            QTimer.singleShot(0, lambda: controller.message.emit(problem))
        self._player_state.connect(self._on_player_state)
        self._token = 0
        self._item: SuggestionItem | None = None
        self._playing = False
        self._exports: dict[tuple[Any, ...], str] = {}
        self._prefetch_items: list[SuggestionItem] = []
        self._prefetch_key: tuple[Any, ...] | None = None  # what the scheduled pre-render renders
        self._prefetch_waiting_since = 0.0  # time.monotonic() of the first list the timer waits on
        self._prefetch_generation = 0
        self._prefetch_timer = QTimer(self, singleShot=True, interval=PREFETCH_DELAY_MS)
        self._prefetch_timer.timeout.connect(self._prefetch)

    @property
    def preview_item(self) -> SuggestionItem | None:
        """The card auditioned last (playing or loading)."""
        return self._item

    @property
    def playing(self) -> bool:
        """True while audio plays."""
        return self._playing

    def stop_timers(self) -> None:
        """Shutdown: no more pre-rendering."""
        self._prefetch_timer.stop()
        self._prefetch_generation += 1
        self._prefetch_key = None

    def stop(self) -> None:
        """Fade out (cheap: flags the audio callback)."""
        self._token += 1
        self.auditioner.stop()

    def preview(
        self, item: SuggestionItem, *, start: float | None = None, region: tuple[float, float] | None = None
    ) -> None:
        """Render (cached) and play ``item`` in the session's tempo and key.

        Args:
            start: play from this fraction of the sample (a click on the waveform).
            region: play only this ``(start, end)`` fraction range (looped for loops).
        """
        c = self._c
        self._token += 1
        token = self._token
        self._item = item
        requested = time.perf_counter()
        c.preview_state.emit(item.sample_id, "loading", "")
        ctx = c.context()
        auditioner = self.auditioner
        c.tasks.clear("audio")  # an older request still queued is superseded
        if start is None and region is None and auditioner.player is not None:
            self._play_at_once(item, token, requested)
            return

        def work() -> Any:
            prepared = auditioner.prepare(item.audition(), ctx.bpm, ctx.key)
            if token != self._token:
                return None  # superseded while rendering
            dur = prepared.rendered.duration_s
            a, b = region if region else ((start or 0.0), None)
            auditioner.play(prepared, start_s=a * dur, end_s=None if b is None else b * dur)
            return prepared, (time.perf_counter() - requested) * 1000.0

        def done(result: Any, error: BaseException | None) -> None:
            if self._failed(item, error) or result is None:
                return
            prepared, start_ms = result
            plan = prepared.rendered.plan
            c.decisions.previewed(item, requested, start_ms, prepared)
            note = f"plays {plan.note}" + (
                " · from the cache" if prepared.cache_hit else f" · rendered in {prepared.rendered.render_ms:.0f} ms"
            )
            c.preview_state.emit(item.sample_id, "note", note)

        c.tasks.run(work, done, pool="audio", priority=10)

    def _play_at_once(self, item: SuggestionItem, token: int, requested: float) -> None:
        """Play from the start: a cached render at once, else a draft that the full render
        replaces (:meth:`Auditioner.play_at_once`, then :meth:`Auditioner.finish` on the
        ``prefetch`` pool, ahead of any pre-render)."""
        c = self._c
        ctx = c.context()
        auditioner = self.auditioner
        audition = item.audition()

        def current() -> bool:
            return token == self._token

        def work() -> Any:
            return auditioner.play_at_once(audition, ctx.bpm, ctx.key, current=current)

        def finished(_prepared: Any, error: BaseException | None) -> None:
            if error is not None:
                log.info("full render of %s failed: %s", item.path, error)
            if self._prefetch_items:
                self._prefetch_timer.start(PREFETCH_DELAY_MS)  # the pre-renders it displaced start again after it

        def done(started: Any, error: BaseException | None) -> None:
            if self._failed(item, error) or started is None:
                return
            plan = started.first.plan
            c.decisions.previewed(
                item, requested, started.first_ms, Prepared(audition, started.first, started.cache_hit)
            )
            if started.cache_hit:
                c.preview_state.emit(item.sample_id, "note", f"plays {plan.note} · from the cache")
                return
            c.preview_state.emit(
                item.sample_id, "note", f"plays {plan.note} · draft in {started.first_ms:.0f} ms, full quality follows"
            )
            c.tasks.clear("prefetch")
            c.tasks.run(lambda: auditioner.finish(started, ctx.bpm, ctx.key), finished, pool="prefetch", priority=0)
            self._prefetch_timer.start(PREFETCH_DELAY_MS)  # the pre-renders it displaced start again after it

        c.tasks.run(work, done, pool="audio", priority=10)

    def _failed(self, item: SuggestionItem, error: BaseException | None) -> bool:
        """Show an audition error (and record an unreadable file as a problem)."""
        if error is None:
            return False
        c = self._c
        c.preview_state.emit(item.sample_id, "error", str(error))
        c.message.emit(str(error))
        if isinstance(error, AudioDecodeError):
            self.report_unplayable(item.path, str(error))
        return True

    def report_unplayable(self, path: str, reason: str) -> None:
        """A file failed to decode for audition: record it as a problem on the ``db`` pool
        (:meth:`companion.app.Session.report_unplayable`), then refresh the Problems list."""
        c = self._c
        session, db = c.session, c.db

        def recorded(ok: Any, error: BaseException | None) -> None:
            if error is not None:
                log.warning("cannot record the problem of %s: %s", path, error)
            elif ok:
                c.library.refresh_info()

        c.tasks.run(lambda: session.report_unplayable(path, reason, catalog=db), recorded, pool="db")

    @Slot(str)
    def _on_player_state(self, state: str) -> None:
        self._playing = state == "playing"
        sid = self._item.sample_id if self._item is not None else None
        self._c.preview_state.emit(sid, state, "")

    def plan_note(self, item: SuggestionItem) -> str:
        """How ``item`` will sound in this session, e.g. ``"auditions at 120 → 124 BPM, +2 st"``."""
        return "auditions " + self._c.session.plan_audition(item.audition()).note

    def position_fraction(self) -> float | None:
        """Playhead of the current audition as a fraction of its render, or None."""
        player = self.auditioner.player
        if player is None or not self._playing:
            return None
        pos = player.position_s()
        item = self._item
        if pos is None or item is None:
            return None
        plan = self._c.session.plan_audition(item.audition())
        dur = (item.duration_s or 0.0) / (plan.speed or 1.0)
        return None if dur <= 0 else min(1.0, pos / dur)

    def set_volume(self, volume: float) -> None:
        """Audition volume 0–1 (ramped in the audio callback; saved when the window closes)."""
        if self.auditioner.player is not None:
            self.auditioner.player.volume = volume

    def set_device(self, device: str | None) -> None:
        """Switch the output device (on the audio pool)."""
        if self.auditioner.player is not None:
            auditioner = self.auditioner
            self._c.tasks.run(lambda: auditioner.set_device(device), pool="audio", priority=20)

    def output_devices(self, done: Any) -> None:
        """List output devices on a worker, then ``done(devices)`` on the GUI thread."""

        def work() -> list[Any]:
            from companion.preview.player import output_devices

            return output_devices()

        self._c.tasks.run(work, lambda r, e: done(r if e is None else []), pool="audio", priority=20)

    # ================================================================== pre-render
    def schedule_prefetch(self, items: list[SuggestionItem]) -> None:
        """Pre-render these cards for the current context once the list has been quiet for
        :data:`PREFETCH_DELAY_MS`, or at the latest :data:`PREFETCH_MAX_WAIT_MS` after the first
        list it waits on: the first ``PREFETCH_TOP + 1`` distinct ones, in order (the window
        passes the selected card, then the list). A list that asks for the same renders as the
        scheduled one (the same files, tempo and key, in the same context) changes nothing; any
        pre-rendering of another list stops after the render in progress."""
        seen: set[int] = set()
        wanted: list[SuggestionItem] = []
        for it in items:
            if it.sample_id not in seen:
                seen.add(it.sample_id)
                wanted.append(it)
        wanted = wanted[: PREFETCH_TOP + 1]
        ctx = self._c.context()
        key = (tuple(it.audition() for it in wanted), ctx.bpm, ctx.key)
        self._prefetch_items = wanted
        if key == self._prefetch_key:
            return  # the same renders are waiting or under way: let them go on
        self._prefetch_key = key
        self._prefetch_generation += 1  # a running pre-render of the old list stops
        now = time.monotonic()
        if not self._prefetch_timer.isActive():
            self._prefetch_waiting_since = now
        left_ms = PREFETCH_MAX_WAIT_MS - (now - self._prefetch_waiting_since) * 1000.0
        self._prefetch_timer.start(int(max(0.0, min(PREFETCH_DELAY_MS, left_ms))))

    @property
    def prefetch_items(self) -> list[SuggestionItem]:
        """The cards the latest list asked to pre-render (selected card first)."""
        return list(self._prefetch_items)

    @Slot()
    def _prefetch(self) -> None:
        items = [it.audition() for it in self._prefetch_items]
        if not items or self.auditioner.player is None:
            return
        ctx = self._c.context()
        auditioner = self.auditioner
        generation = self._prefetch_generation

        def stale() -> bool:
            return generation != self._prefetch_generation

        self._c.tasks.clear("prefetch")
        self._c.tasks.run(lambda: auditioner.prefetch(items, ctx.bpm, ctx.key, cancelled=stale), pool="prefetch")

    # ================================================================== drag
    def _export_key(self, item: SuggestionItem, rendered: bool, region: tuple[float, float] | None) -> tuple[Any, ...]:
        ctx = self._c.context()
        return (item.sample_id, rendered, region, ctx.bpm if rendered else None, ctx.key if rendered else None)

    def prepare_drag(self, item: SuggestionItem, *, rendered: bool, region: tuple[float, float] | None = None) -> None:
        """Write the file a drag will carry (render or region) ahead of the drag, on a worker."""
        if not rendered and region is None:
            return
        key = self._export_key(item, rendered, region)
        if key in self._exports:
            return
        ctx = self._c.context()
        bpm, k = (ctx.bpm, ctx.key) if rendered else (None, None)
        auditioner = self.auditioner

        def work() -> str:
            a = item.audition()
            if region is None:
                return str(auditioner.export(a, bpm, k))
            prepared = auditioner.prepare(a, bpm, k)
            dur = prepared.rendered.duration_s
            return str(auditioner.export(a, bpm, k, start_s=region[0] * dur, end_s=region[1] * dur))

        def done(path: Any, error: BaseException | None) -> None:
            if error is not None:
                self._c.message.emit(f"cannot prepare the drag file: {error}")
            else:
                self._exports[key] = path

        self._c.tasks.run(work, done, pool="audio", priority=5)

    def mime_for(
        self, item: SuggestionItem, *, rendered: bool = False, region: tuple[float, float] | None = None
    ) -> QMimeData:
        """Drag data: a file URL (the original, or its prepared render/region), plus JSON."""
        path = item.path
        if rendered or region is not None:
            ready = self._exports.get(self._export_key(item, rendered, region))
            if ready is not None:
                path = ready
            else:
                self.prepare_drag(item, rendered=rendered, region=region)
                self._c.message.emit("The render is not ready yet — dragging the original file")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(path)])
        mime.setText(path)
        ctx = self._c.context()
        payload = {
            "sample_id": item.sample_id,
            "path": item.path,
            "file": path,
            "kind": item.kind,
            "bpm": item.bpm,
            "key": item.key,
            "context_bpm": ctx.bpm,
            "context_key": ctx.key.name if ctx.key else None,
            "region": list(region) if region else None,
        }
        mime.setData(MIME_SAMPLE, json.dumps(payload).encode("utf-8"))
        return mime
