"""The producer's decisions and the telemetry of the window, written on the ``db`` pool.

Accept, skip, pin and ban (and their undos), BPM/key/kind corrections, and the events the
central service learns from: ``view`` (impressions, once a list has been on screen for a
second), ``preview`` (with time-to-preview and start latency), ``accept``, ``skip``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Slot

from companion.music.keys import Key
from companion.ui.items import SuggestionItem

if TYPE_CHECKING:
    from companion.ui.controller import AppController

log = logging.getLogger(__name__)

#: The log's verb for a pin or ban decision made (True) or undone (False).
_DECIDED = {("pin", True): "pinned", ("pin", False): "unpinned", ("ban", True): "banned", ("ban", False): "unbanned"}

#: A list must stay on screen this long before its cards count as viewed (ms).
IMPRESSION_MS = 1000


@dataclass
class _Impressions:
    shown_at: dict[int, float] = field(default_factory=dict)  # sample id -> perf_counter
    viewed: set[tuple[int, str]] = field(default_factory=set)  # (sample id, list kind) recorded


class DecisionsAdapter(QObject):
    """Decisions, corrections and telemetry for one controller."""

    def __init__(self, controller: AppController) -> None:
        super().__init__(controller)
        self._c = controller
        self._impressions = _Impressions()
        self._pending: list[tuple[SuggestionItem, str]] = []
        self._view_timer = QTimer(self, singleShot=True, interval=IMPRESSION_MS)
        self._view_timer.timeout.connect(self._record_views)

    def stop(self) -> None:
        """Shutdown: no more view events."""
        self._view_timer.stop()

    # ================================================================== telemetry
    def record(self, event_type: str, sample_id: int | None, **metadata: Any) -> None:
        """Write a telemetry event (with its outbox row) on the db pool."""
        engine = self._c.engine
        if engine is not None:
            self._c.tasks.run(lambda: engine.record(event_type, sample_id, **metadata), pool="db")

    def previewed(self, item: SuggestionItem, requested: float, start_ms: float, prepared: Any) -> None:
        """An audition started: a ``preview`` event with latency, cache hit and plan."""
        shown = self._impressions.shown_at.get(item.sample_id)
        rendered = prepared.rendered
        self.record(
            "preview",
            item.sample_id,
            rank=item.rank,
            score=item.score,
            source=item.source,
            mode=self._c.mode,
            start_latency_ms=round(start_ms, 1),
            cache_hit=prepared.cache_hit,
            render_ms=0.0 if prepared.cache_hit else round(rendered.render_ms, 1),
            plan=rendered.plan.note,
            time_to_preview_ms=None if shown is None else round((requested - shown) * 1000.0, 1),
        )

    def shown(self, items: list[SuggestionItem], kind: str) -> None:
        """A list is on screen; its new cards become ``view`` events once it stays a second."""
        now = time.perf_counter()
        ids = {it.sample_id for it in items}
        shown_at = self._impressions.shown_at
        for sid in list(shown_at):
            if sid not in ids:
                del shown_at[sid]
        for it in items:
            shown_at.setdefault(it.sample_id, now)
        self._pending = [(it, kind) for it in items]
        self._view_timer.start()

    @Slot()
    def _record_views(self) -> None:
        engine = self._c.engine
        if engine is None:
            return
        viewed = self._impressions.viewed
        todo = [(it, kind) for it, kind in self._pending if (it.sample_id, kind) not in viewed]
        self._pending = []
        if not todo:
            return
        viewed.update((it.sample_id, kind) for it, kind in todo)
        mode = self._c.mode

        def work() -> int:
            for it, kind in todo:
                engine.record(
                    "view", it.sample_id, rank=it.rank, score=it.score, source=it.source, mode=mode, list=kind
                )
            return len(todo)

        self._c.tasks.run(work, pool="db")

    # ================================================================== decisions
    def _decide(self, fn: Callable[[], Any], done_text: str | None = None) -> None:
        c = self._c

        def done(_: Any, error: BaseException | None) -> None:
            if error is not None:
                c.problem.emit(f"not saved: {error}")
            elif done_text:
                c.message.emit(done_text)
            c.refresh()

        c.tasks.run(fn, done, pool="db")

    def accept(self, item: SuggestionItem, via: str = "key") -> None:
        """The producer used it: recorded, joins the similarity target, not suggested again."""
        engine = self._c.engine
        if engine is not None:
            self._decide(
                lambda: engine.accept(item.sample_id, rank=item.rank, score=item.score, source=item.source, via=via),
                f"Used {item.name}",
            )

    def dismiss(self, item: SuggestionItem, on: bool = True) -> None:
        """Skip for this session (or undo it)."""
        engine = self._c.engine
        if engine is None:
            return
        log.info("%s %s (sample %d)", "skipped" if on else "un-skipped", item.path, item.sample_id)
        if on:
            self._decide(lambda: engine.dismiss(item.sample_id, rank=item.rank, score=item.score, source=item.source))
        else:
            self._decide(lambda: engine.undismiss(item.sample_id))

    def set_decision(self, item: SuggestionItem, decision: str, on: bool) -> None:
        """Pin or ban a sample (or undo it)."""
        engine = self._c.engine
        if engine is not None:
            log.info("%s %s (sample %d)", _DECIDED[decision, on], item.path, item.sample_id)
            self._decide(lambda: engine.set_decision(item.sample_id, decision, on))

    def ban_folder(self, folder: str, on: bool = True) -> None:
        """Ban (or unban) a folder."""
        engine = self._c.engine
        if engine is not None:
            log.info("%s folder %s", "banned" if on else "unbanned", folder)
            self._decide(lambda: engine.ban_folder(folder, on))

    def correct(self, item: SuggestionItem, bpm: float | None, key: Key | None, kind: str | None) -> None:
        """Store the producer's BPM/key/kind correction, reload and re-rank."""
        c = self._c
        db, engine = c.db, c.engine
        if db is None or engine is None:
            return

        def work() -> Any:
            row = db.set_override(item.path, bpm=bpm, key=key, kind=kind)
            engine.reload()
            return row

        parts = [p for p in (f"{bpm:g} BPM" if bpm else "", key.name if key else "", kind or "") if p]
        self._decide(work, f"Saved your correction of {item.name}: {', '.join(parts)}")
