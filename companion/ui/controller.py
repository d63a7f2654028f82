"""The window's side of a :class:`~companion.app.Session`: Qt signals over the Qt-free core.

:class:`AppController` owns one :class:`~companion.app.Session` (engine, context follower, OSC /
AbletonOSC / Link sources, search, audition planning, sync — assembled exactly as for
``companion listen``) and the settings of the run (:class:`~companion.settings.SettingsStore`).
It turns the session's callbacks into signals and runs every blocking call on a worker pool
(:class:`~companion.ui.tasks.TaskRunner`). The rest is split into one small adapter per concern:

* :class:`~companion.ui.audition_adapter.AuditionAdapter` (``.audition``): render, play,
  pre-render, drag files;
* :class:`~companion.ui.library_adapter.LibraryAdapter` (``.library``): scans, folder watching,
  counts and problems, waveform thumbnails;
* :class:`~companion.ui.search_adapter.SearchAdapter` (``.finder``): search and "more like this";
* :class:`~companion.ui.decisions_adapter.DecisionsAdapter` (``.decisions``): accept, skip, pin,
  ban, corrections and telemetry (views, previews);
* :class:`~companion.ui.model_fetch.ModelAdapter` (``.models``): download the CLAP model in a
  child process and load it into the session.

No method here blocks the GUI thread on disk, sockets, threads joining, analysis or inference;
results come back through signals. ``docs/architecture.md`` draws the data path from a DAW
packet to a repainted list.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from companion.app import Session
from companion.app.session import filter_settings
from companion.app.sources import SourceState
from companion.errors import CompanionError
from companion.ranking.context import SessionContext
from companion.ranking.list_filter import ListFilter
from companion.settings import Settings, SettingsStore
from companion.ui.audition_adapter import AuditionAdapter
from companion.ui.decisions_adapter import DecisionsAdapter
from companion.ui.items import SuggestionItem
from companion.ui.library_adapter import LibraryAdapter
from companion.ui.model_fetch import ModelAdapter
from companion.ui.search_adapter import SearchAdapter
from companion.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

#: After this long without a packet the indicator says when the DAW was last heard (s). It stays
#: "connected": most DAWs send on change only (REAPER's and DrivenByMoss's OSC, AbletonOSC), so an
#: idle session is silent, and OSC over UDP cannot tell a silent DAW from a closed one.
CONNECTED_WINDOW_S = 60.0
#: How the window names the context sources besides OSC.
SOURCE_LABELS = {"link": "Link", "abletonosc": "AbletonOSC"}
#: The context of the last run, beside the settings file (:meth:`Session.save_context`).
CONTEXT_FILE = "context.json"
#: Context changes are saved this long after the last one (ms): a DAW may send tempo many
#: times a second while the producer drags it, and one write per burst is enough.
CONTEXT_SAVE_DELAY_MS = 1000


@dataclass(frozen=True)
class SuggestionBatch:
    """One ranked list for the window.

    Attributes:
        items: the cards, best first.
        context: the context they were ranked for.
        seq: ranking number (1, 2, …).
        latency_ms: from the oldest context change answered to the ranked list (ms).
        rank_ms: ranking alone (ms).
        changed_at: ``time.perf_counter()`` of that oldest change (for repaint latency).
        mode: ``fusion`` / ``rules``.
    """

    items: list[SuggestionItem]
    context: SessionContext
    seq: int
    latency_ms: float
    rank_ms: float
    changed_at: float
    mode: str


class AppController(QObject):
    """The session and its signals. Create on the GUI thread, then call :meth:`start`.

    Args:
        store: the settings of this run (file, environment and flags); the producer's edits
            are saved through it, flags and environment never are.
        audio: open an audio output (False: silent, e.g. a benchmark).
    """

    engine_ready = Signal()
    engine_failed = Signal(str)
    suggestions_ready = Signal(object)  # SuggestionBatch
    results_ready = Signal(object)  # ResultList, or None to go back to suggestions
    context_changed = Signal(object)  # SessionContext
    bridge_state = Signal(str, str, str)  # state, text, tooltip
    scan_started = Signal()
    scan_progress = Signal(object)  # ScanProgress
    scan_finished = Signal(object, object)  # ScanReport | None, error text | None
    library_info = Signal(object, object)  # stats dict, problems list
    preview_state = Signal(object, str, str)  # sample id, loading|playing|stopped|error|note, detail
    peaks_ready = Signal(dict)  # path -> (bins, 2) float32 array, or None when it cannot be drawn
    message = Signal(str)  # a note for the status bar
    problem = Signal(str)  # an error for the status bar (shown longer)
    sync_state = Signal(str)
    _source_state = Signal(object)  # SourceState, from any thread

    def __init__(self, store: SettingsStore, *, audio: bool = True) -> None:
        super().__init__()
        self.store = store
        # db: the UI's reads and writes (one thread); control: starting and stopping sources,
        # watchers and sync (one thread, so they never overlap).
        self.tasks = TaskRunner(self, sizes={"db": 1, "audio": 1, "prefetch": 1, "io": 2, "scan": 1, "control": 1})
        self.session = Session(
            store.settings,
            on_result=self._on_ranked,
            on_source_state=self._source_state.emit,
            on_sync_status=self.sync_state.emit,
            context_file=store.path.with_name(CONTEXT_FILE),
        )
        self.db: Any | None = None  # the UI's own Catalog connection (db pool only)
        self.latest: SuggestionBatch | None = None
        self._sources: dict[str, SourceState] = {}
        self._last_packets = 0
        self._last_packet_at: float | None = None
        self._closed = False
        self._source_state.connect(self._on_source_state)

        self.audition = AuditionAdapter(self, audio=audio)
        self.library = LibraryAdapter(self)
        self.finder = SearchAdapter(self)
        self.decisions = DecisionsAdapter(self)
        self.models = ModelAdapter(self)
        self._bridge_timer = QTimer(self, interval=1000)
        self._bridge_timer.timeout.connect(self._poll_bridge)
        self._context_timer = QTimer(self, singleShot=True, interval=CONTEXT_SAVE_DELAY_MS)
        self._context_timer.timeout.connect(self._save_context)
        self.context_changed.connect(lambda _ctx: self._context_timer.start())

    # ================================================================== state
    @property
    def settings(self) -> Settings:
        """The effective settings of this run."""
        return self.store.settings

    @property
    def catalog_path(self) -> Any:
        """The catalog file (a Path)."""
        return self.session.catalog_path

    @property
    def engine(self) -> Any | None:
        """The session's engine once open, else None."""
        return self.session.engine

    @property
    def listener(self) -> Any | None:
        """The running OSC listener, or None."""
        return self.session.sources.osc if self.session.sources is not None else None

    @property
    def auditioner(self) -> Any:
        """The session's auditioner."""
        return self.audition.auditioner

    @property
    def mode(self) -> str:
        """Ranking mode, ``fusion`` or ``rules``."""
        return self.session.mode

    # ================================================================== start / stop
    def start(self) -> None:
        """Open the library and start the sources on a worker; the window shows at once."""
        session = self.session

        def work() -> list[SourceState]:
            from companion.library.catalog import Catalog

            session.open(create=True)
            session.restore_context()  # before the first ranking: the first list is for it
            self.db = Catalog.open(session.catalog_path)
            return session.start()

        self.tasks.run(work, self._started, pool="db")

    def _started(self, states: Any, error: BaseException | None) -> None:
        if error is not None:
            log.error("cannot open the library: %s", error)
            self.engine_failed.emit(str(error))
            return
        if self._closed:
            return
        engine = self.session.engine
        assert engine is not None
        if self.session.clap is not None and self.session.clap.problem:
            self.problem.emit(self.session.clap.problem)
        engine.context.subscribe(self.context_changed.emit)
        restored = engine.context.snapshot()
        if not restored.is_empty:
            self.context_changed.emit(restored)  # the context bar shows the restored context
        freeze_startup_heap()
        self.session.refresh()
        self.engine_ready.emit()
        self._show_bridge()
        self.library.apply_watching()
        self.session.start_sync()
        self.library.refresh_info()
        self._bridge_timer.start()

    def shutdown(self) -> None:
        """Stop everything and release the device and the catalog (idempotent).

        Called when the window closes: workers are drained (their tasks are short), the sources
        and the sync loop are told to stop; nothing waits for the sync thread's request in flight.
        """
        if self._closed:
            return
        self._closed = True
        self._bridge_timer.stop()
        self._context_timer.stop()
        self.decisions.stop()
        self.audition.stop_timers()
        self.library.shutdown()
        self.models.shutdown()
        for pool in ("audio", "prefetch", "io"):
            self.tasks.clear(pool)
        self.tasks.wait(30000)
        self.session.save_context()  # a small file: the last context for the next start
        self.session.close(sync_join_s=0.0)
        if self.db is not None:
            self.db.close()

    # ================================================================== ranking and context
    def _on_ranked(self, result: Any) -> None:
        """Follower thread: turn suggestions into cards and hand them to the GUI (queued signal)."""
        engine = self.session.engine
        suggestions = result.suggestions
        cands = engine.candidates if engine is not None else None
        items: list[SuggestionItem] = []
        if suggestions and cands is not None:
            rows = cands.rows_of([s.sample_id for s in suggestions])
            items = [
                SuggestionItem.from_suggestion(
                    s,
                    i + 1,
                    float(cands.duration_s[r]) if r >= 0 else None,
                    float(cands.added_at[r]) if r >= 0 else None,
                )
                for i, (s, r) in enumerate(zip(suggestions, rows))
            ]
        changed_at = time.perf_counter() - result.latency_ms / 1000.0
        self.suggestions_ready.emit(
            SuggestionBatch(items, result.context, result.seq, result.latency_ms, result.rank_ms, changed_at, self.mode)
        )

    def refresh(self) -> None:
        """Re-rank now (after a decision, a scan, a mode change)."""
        self.session.refresh()

    def set_mode(self, mode: str) -> None:
        """``fusion`` or ``rules``; re-ranks and remembers it."""
        if mode not in ("fusion", "rules") or mode == self.mode:
            return
        self.session.set_mode(mode)  # type: ignore[arg-type]  # "fusion" or "rules", checked above
        self._save(recommendation_mode=mode)

    def set_list_filter(self, list_filter: ListFilter) -> None:
        """Show suggestions through this filter (the ranker re-ranks) and remember it."""
        self.session.set_list_filter(list_filter)
        self._save(**filter_settings(list_filter))
        self.session.settings = self.settings

    def set_sort(self, sort_by: str) -> None:
        """Order of the shown list (``score``, ``name``, ``bpm``, ``length``, ``added``); remembered."""
        if sort_by != self.settings.sort_by:
            self._save(sort_by=sort_by)
            self.session.settings = self.settings

    def _save_context(self) -> None:
        """The context settled (no change for :data:`CONTEXT_SAVE_DELAY_MS`): save it on a worker."""
        if not self._closed and self.session.engine is not None:
            self.tasks.run(self.session.save_context, pool="io")

    def edit_context(self, fields: dict[str, Any]) -> None:
        """A manual edit from the context bar (in-memory; the follower re-ranks)."""
        if self.session.engine is None:
            return
        try:
            self.session.edit_context(**fields)
        except (CompanionError, ValueError) as exc:
            self.problem.emit(f"not applied: {exc}")

    def context(self) -> SessionContext:
        """The current context (empty before the library is open)."""
        return self.session.context()

    # ================================================================== context sources
    @Slot(object)
    def _on_source_state(self, state: SourceState) -> None:
        self._sources[state.name] = state
        if state.name == "osc":
            self._last_packets, self._last_packet_at = 0, None
        if self.session.engine is not None:
            self._show_bridge()

    def _show_bridge(self) -> None:
        """The DAW indicator: OSC listener state, plus AbletonOSC and Link when on."""
        osc = self._sources.get("osc", SourceState("osc", "off"))
        extra = self._other_sources(with_detail=True)
        tail = ("\n" + "\n".join(extra)) if extra else ""
        if osc.state == "error":
            self.bridge_state.emit("error", f"OSC :{self.settings.osc_port} unavailable", osc.detail + tail)
            self.problem.emit(osc.detail)
        elif osc.state == "off":
            following = [s.name for s in self._sources.values() if s.state == "running"]
            if following:
                self.bridge_state.emit(
                    "listening",
                    "following " + " + ".join(SOURCE_LABELS[n] for n in following),
                    tail.strip(),
                )
            else:
                self.bridge_state.emit("off", "OSC off", "Enable the DAW connection in Settings")
        else:
            self._poll_bridge()

    def _other_sources(self, *, with_detail: bool) -> list[str]:
        """``"Link: running"`` lines of the sources besides OSC that are on (with why, if asked)."""
        return [
            f"{SOURCE_LABELS[s.name]}: {s.state}" + (f" ({s.detail})" if with_detail and s.detail else "")
            for s in self._sources.values()
            if s.name != "osc" and s.state != "off"
        ]

    @Slot()
    def _poll_bridge(self) -> None:
        listener = self.listener
        if listener is None:
            return
        packets = listener.dispatcher.packets
        now = time.monotonic()
        if packets != self._last_packets:
            self._last_packets = packets
            self._last_packet_at = now
        extra = self._other_sources(with_detail=False)
        tip = (
            f"Listening on {listener.address[0]}:{listener.port} (UDP) · {packets} packets · "
            f"{listener.counter.total} ignored" + "".join("\n" + e for e in extra)
        )
        if self._last_packet_at is not None:
            quiet_s = now - self._last_packet_at
            text = f"OSC :{listener.port} · DAW connected"
            if quiet_s >= CONNECTED_WINDOW_S:
                text += f" · last heard {quiet_s / 60.0:.0f} min ago"
            self.bridge_state.emit("connected", text, tip)
        else:
            self.bridge_state.emit("listening", f"OSC :{listener.port} · waiting for the DAW", tip)

    # ================================================================== settings
    def apply_settings(self, new: Settings) -> None:
        """Apply the settings dialog's result: saved (file layer only), then folders, watching,
        sources, device, audition, sync and mode follow; restarts run off the GUI thread."""
        old = self.settings
        try:
            changes = self.store.replace(new)
        except ValidationError as exc:
            self.problem.emit(f"settings not applied: {exc.errors()[0].get('msg', exc)}")
            return
        except OSError as exc:
            changes = {k: v for k, v in new.model_dump().items() if old.model_dump().get(k) != v}
            self.problem.emit(f"cannot save settings to {self.store.path}: {exc}")
        if not changes:
            return
        settings = self.settings
        session = self.session
        session.apply_preferences(settings)  # mode, audition, sync: never blocks; re-ranks if needed
        self.tasks.run(lambda: session.restart_sources(settings), self._sources_applied, pool="control")
        if "audio_device" in changes:
            self.audition.set_device(settings.audio_device)
        if "clap_model_dir" in changes:
            self.models.reload_clap()  # on a worker; the window's notes follow
        self.library.settings_changed(old, settings)

    def _sources_applied(self, states: Any, error: BaseException | None) -> None:
        if error is not None:
            self.problem.emit(f"cannot restart the DAW connection: {error}")

    def edit_settings(self, **changes: Any) -> None:
        """Save a few settings the window changed itself (folders, watching, volume)."""
        self._save(**changes)
        self.session.settings = self.settings

    def _save(self, **changes: Any) -> None:
        try:
            self.store.edit(**changes)
        except OSError as exc:
            self.problem.emit(f"cannot save settings to {self.store.path}: {exc}")
        except ValidationError as exc:
            self.problem.emit(f"setting not applied: {exc.errors()[0].get('msg', exc)}")


def freeze_startup_heap() -> None:
    """Move the objects alive at start-up into the collector's permanent generation, once.

    What is alive once the window is up and the library open — imported modules (Qt, numpy,
    scipy, librosa, numba …), Qt wrappers, the engine — lives as long as the process: about
    190k GC-tracked objects, which a full collection would otherwise traverse on whichever
    thread triggers it, the GUI thread included (≈120 ms each, benchmarks/gui_responsiveness.py
    ``gc_max_ms``). The library itself is numpy columns, not Python objects, so nothing is
    frozen per sample and an :meth:`Engine.reload` freezes nothing. Objects created later are
    collected as usual. See :func:`gc.freeze` (Python ≥ 3.7).
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
