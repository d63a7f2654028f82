"""The app's services behind the window: engine, bridge, scans, watching, audition, telemetry.

:class:`AppController` owns everything that is not a widget and turns it into Qt signals:

* the :class:`~companion.engine.Engine` (opened on a worker; the window shows at once);
* the :class:`~companion.bridge.follower.ContextFollower`, which re-ranks on its own thread after
  every context change (OSC, Link, the context bar) and coalesces floods, and the
  :class:`~companion.bridge.listener.OscListener` on the configured port;
* scans, each in a spawned process of its own (:mod:`companion.ui.scan_process`; followed from
  the ``scan`` pool), and the :class:`~companion.library.watch.FolderWatcher`;
* the :class:`~companion.preview.audition.Auditioner` (render and play on the ``audio`` pool;
  pre-render the likely next auditions on the ``prefetch`` pool, so they never queue behind);
* a catalog connection of its own for the UI's reads and corrections (``db`` pool, one thread);
* telemetry: ``view`` (impressions, once a list has been on screen for a second), ``preview``
  (with time-to-preview), ``accept``, ``skip``, ``pin``/``ban`` and their undos;
* sync status when a hub is configured.

No method here blocks the GUI thread on disk, network, analysis or inference; results come
back through signals.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QObject, QTimer, QUrl, Signal, Slot

from companion.errors import AudioOutputError, CompanionError, ModelError
from companion.music.keys import Key
from companion.preview.audition import Auditioner
from companion.preview.waveform import PeaksCache
from companion.ranking.context import SessionContext
from companion.settings import get_settings
from companion.ui.items import SuggestionItem
from companion.ui.preferences import Preferences, preferences_path, save_preferences
from companion.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

#: A list must stay on screen this long before its cards count as viewed (ms).
IMPRESSION_MS = 1000
#: Quiet time after a list change before neighbours are pre-rendered (ms).
PREFETCH_DELAY_MS = 600
#: Scan progress signals at most this often (s).
PROGRESS_EVERY_S = 0.05
#: Columns of a waveform thumbnail, and thumbnails computed per worker task.
PEAK_BINS = 400
PEAKS_PER_TASK = 6
#: Without a packet for this long, the DAW counts as gone quiet (s). DAWs send on change only,
#: so an idle session is quiet for a while; a minute keeps the indicator from flapping.
CONNECTED_WINDOW_S = 60.0
MIME_SAMPLE = "application/x-samplemind-sample"


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


@dataclass(frozen=True)
class ResultList:
    """Search hits or similar samples, shown instead of the suggestions until cleared."""

    title: str
    items: list[SuggestionItem]
    kind: str  # "search" | "similar"
    note: str = ""


@dataclass
class _Impressions:
    shown_at: dict[int, float] = field(default_factory=dict)  # sample id -> perf_counter
    viewed: set[tuple[int, str]] = field(default_factory=set)  # (sample id, list kind) recorded


class AppController(QObject):
    """Services and their signals. Create on the GUI thread, then call :meth:`start`.

    Args:
        prefs: the producer's settings.
        prefs_file: where they are saved (default ``<data dir>/gui.json``).
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
    message = Signal(str)
    sync_state = Signal(str)
    _player_state = Signal(str)
    _watch_changed = Signal(list)

    def __init__(self, prefs: Preferences, *, prefs_file: Path | None = None, audio: bool = True) -> None:
        super().__init__()
        self.prefs = prefs
        self.prefs_file = prefs_file or preferences_path()
        self.settings = get_settings()
        self.catalog_path = prefs.catalog_path(self.settings)
        self.tasks = TaskRunner(self, sizes={"db": 1, "audio": 1, "prefetch": 1, "io": 2, "scan": 1})
        self.engine: Any | None = None
        self.db: Any | None = None  # the UI's own Catalog connection (db pool only)
        self.follower: Any | None = None
        self.listener: Any | None = None
        self.watcher: Any | None = None
        self.mode: str = prefs.mode
        self.peaks = PeaksCache()
        self.latest: SuggestionBatch | None = None
        self._impressions = _Impressions()
        self._pending_views: list[tuple[SuggestionItem, str]] = []
        self._preview_token = 0
        self._preview_item: SuggestionItem | None = None
        self._preview_requested_at = 0.0
        self._playing = False
        self._search_token = 0
        self._scan_stop: Any | None = None  # the running ScanProcess
        self._scan_queue: set[str] = set()
        self._exports: dict[tuple[Any, ...], str] = {}
        self._sync_stop = threading.Event()
        self._sync_thread: threading.Thread | None = None
        self._last_packets = 0
        self._last_packet_at: float | None = None
        self._closed = False

        self.auditioner = self._make_auditioner(audio)
        self._player_state.connect(self._on_player_state)
        self._watch_changed.connect(self._on_watch_changed)

        self._view_timer = QTimer(self, singleShot=True, interval=IMPRESSION_MS)
        self._view_timer.timeout.connect(self._record_views)
        self._prefetch_timer = QTimer(self, singleShot=True, interval=PREFETCH_DELAY_MS)
        self._prefetch_timer.timeout.connect(self._prefetch)
        self._prefetch_items: list[SuggestionItem] = []
        self._peaks_wanted: list[str] = []
        self._bridge_timer = QTimer(self, interval=1000)
        self._bridge_timer.timeout.connect(self._poll_bridge)

    # ================================================================== start / stop
    def _make_auditioner(self, audio: bool) -> Auditioner:
        player = None
        if audio:
            try:
                from companion.preview.player import Player

                player = Player(self.prefs.audio_device, volume=self.prefs.volume,
                                on_state=lambda s: self._player_state.emit(s))
            except AudioOutputError as exc:
                log.warning("%s", exc)
                text = str(exc)
                QTimer.singleShot(0, lambda: self.message.emit(text))
        return Auditioner(player, follow_tempo=self.prefs.follow_tempo, follow_key=self.prefs.follow_key)

    def start(self) -> None:
        """Open the library on a worker; bridge, watcher and sync start once it is open."""
        self.tasks.run(self._open_engine, self._engine_opened, pool="db")

    def _open_engine(self) -> Any:
        from companion.engine import Engine
        from companion.library.catalog import Catalog

        catalog = Catalog.open(self.catalog_path)
        embedder = None
        if self.settings.use_clap:
            try:
                from companion.embedding.clap.runtime import load_clap

                embedder = load_clap(Path(self.prefs.model_dir) if self.prefs.model_dir else None)
            except ModelError as exc:
                log.warning("%s", exc)
                self.message.emit(f"CLAP model not usable: {exc}")
            except ImportError as exc:
                log.info("CLAP unavailable: %s", exc)
        engine = Engine(catalog, default_mode=self.mode, text_embedder=embedder)  # type: ignore[arg-type]
        self.db = Catalog.open(self.catalog_path)
        return engine

    def _engine_opened(self, engine: Any, error: BaseException | None) -> None:
        if error is not None:
            log.error("cannot open the library: %s", error)
            self.engine_failed.emit(str(error))
            return
        if self._closed:
            engine.close()
            return
        from companion.bridge.follower import ContextFollower

        self.engine = engine
        engine.context.subscribe(lambda ctx: self.context_changed.emit(ctx))
        self.follower = ContextFollower(engine.context, self._rank, self._on_ranked, accept=engine.accept_path)
        self.follower.start()
        self.follower.refresh()
        self.engine_ready.emit()
        self.start_bridge()
        self.apply_watching()
        self.start_sync()
        self.refresh_library_info()
        self._bridge_timer.start()

    def shutdown(self) -> None:
        """Stop everything and release the device and the catalog (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._bridge_timer.stop()
        self._view_timer.stop()
        self._prefetch_timer.stop()
        if self._scan_stop is not None:
            self._scan_stop.stop()
        self.stop_bridge()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.follower is not None:
            self.follower.stop()
        self._sync_stop.set()
        self.auditioner.close()
        for pool in ("audio", "prefetch", "io"):
            self.tasks.clear(pool)
        self.tasks.wait(30000)
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=5.0)
        if self.db is not None:
            self.db.close()
        if self.engine is not None:
            self.engine.close()

    # ================================================================== ranking
    def _rank(self) -> list[SuggestionItem]:
        """Follower thread: rank and turn suggestions into cards."""
        engine = self.engine
        suggestions = engine.suggest(top_k=self.prefs.top_k, mode=self.mode)
        cands = engine.candidates
        rows = cands.rows_of([s.sample_id for s in suggestions]) if suggestions else []
        return [
            SuggestionItem.from_suggestion(s, i + 1, float(cands.duration_s[r]) if r >= 0 else None)
            for i, (s, r) in enumerate(zip(suggestions, rows))
        ]

    def _on_ranked(self, result: Any) -> None:
        """Follower thread: hand the list to the GUI (queued signal) and to OSC push clients."""
        changed_at = time.perf_counter() - result.latency_ms / 1000.0
        batch = SuggestionBatch(list(result.suggestions), result.context, result.seq, result.latency_ms,
                                result.rank_ms, changed_at, self.mode)
        self.suggestions_ready.emit(batch)
        listener = self.listener
        if listener is not None and listener.clients():
            listener.push_suggestions(result.seq, result.latency_ms,
                                      [(it.path, it.score or 0.0) for it in batch.items])

    def refresh(self) -> None:
        """Re-rank now (after a decision, a scan, a mode change)."""
        if self.follower is not None:
            self.follower.refresh()

    def set_mode(self, mode: str) -> None:
        """``fusion`` or ``rules``; re-ranks and remembers it."""
        if mode not in ("fusion", "rules") or mode == self.mode:
            return
        self.mode = mode
        self.prefs.mode = mode  # type: ignore[assignment]
        self.save_prefs()
        self.refresh()

    def edit_context(self, fields: dict[str, Any]) -> None:
        """A manual edit from the context bar (in-memory; the follower re-ranks)."""
        if self.engine is None:
            return
        try:
            self.engine.context.update("manual", **fields)
        except (CompanionError, ValueError) as exc:
            self.message.emit(f"not applied: {exc}")

    def context(self) -> SessionContext:
        """The current context (empty before the library is open)."""
        return self.engine.context.snapshot() if self.engine is not None else SessionContext()

    # ================================================================== bridge
    def start_bridge(self) -> None:
        """Start the OSC listener on the configured port (if enabled)."""
        self.stop_bridge()
        if self.engine is None:
            return
        if not self.prefs.osc_enabled:
            self.bridge_state.emit("off", "OSC off", "Enable the DAW connection in Settings")
            return
        from companion.bridge.listener import OscListener

        engine = self.engine
        listener = OscListener(self.follower.apply, host=self.prefs.osc_host, port=self.prefs.osc_port,
                               snapshot=lambda: engine.context.snapshot().to_json())
        try:
            listener.start()
        except CompanionError as exc:
            self.bridge_state.emit("error", f"OSC :{self.prefs.osc_port} unavailable", str(exc))
            self.message.emit(str(exc))
            return
        self.listener = listener
        self._last_packets = 0
        self._last_packet_at = None
        self.bridge_state.emit("listening", f"OSC :{listener.port} · waiting for the DAW",
                               f"Listening on {listener.address[0]}:{listener.port} (UDP)")

    def stop_bridge(self) -> None:
        """Stop the OSC listener."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

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
        connected = self._last_packet_at is not None and now - self._last_packet_at < CONNECTED_WINDOW_S
        bad = listener.counter.total
        tip = f"Listening on {listener.address[0]}:{listener.port} (UDP) · {packets} packets · {bad} ignored"
        if connected:
            self.bridge_state.emit("connected", f"OSC :{listener.port} · DAW connected", tip)
        elif self._last_packet_at is not None:
            quiet = (now - self._last_packet_at) / 60.0
            self.bridge_state.emit("listening", f"OSC :{listener.port} · DAW quiet for {quiet:.0f} min", tip)
        else:
            self.bridge_state.emit("listening", f"OSC :{listener.port} · waiting for the DAW", tip)

    # ================================================================== library
    def set_folders(self, folders: list[str]) -> None:
        """New folder list: saved, watched; new folders are scanned."""
        added = [f for f in folders if f not in self.prefs.folders]
        self.prefs.folders = list(folders)
        self.save_prefs()
        self.apply_watching()
        if added:
            self.start_scan(added)

    def set_watching(self, on: bool) -> None:
        """Turn folder watching on or off."""
        self.prefs.watch_folders = on
        self.save_prefs()
        self.apply_watching()

    def apply_watching(self) -> None:
        """Start/stop the watcher to match the preferences."""
        if not self.prefs.watch_folders or not self.prefs.folders:
            if self.watcher is not None:
                self.watcher.stop()
                self.watcher = None
            return
        from companion.library.watch import FolderWatcher

        if self.watcher is None:
            self.watcher = FolderWatcher(lambda roots: self._watch_changed.emit(roots)).start()
        for err in self.watcher.set_roots(self.prefs.folders):
            self.message.emit(err)

    @Slot(list)
    def _on_watch_changed(self, roots: list[str]) -> None:
        self.message.emit("New files found — analysing them")
        self.start_scan(roots)

    @property
    def scanning(self) -> bool:
        """True while a scan runs."""
        return self._scan_stop is not None

    def start_scan(self, roots: list[str] | None = None) -> None:
        """Scan folders (default: all) on the scan pool; queued if a scan runs."""
        roots = list(roots or self.prefs.folders)
        if not roots:
            self.message.emit("Add a sample folder first")
            return
        if self._scan_stop is not None:
            self._scan_queue.update(roots)
            return
        from companion.ui.scan_process import ScanProcess

        last = [0.0]

        def progress(p: Any) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S or (p.total is not None and p.done >= p.total):
                last[0] = now
                self.scan_progress.emit(p)

        process = ScanProcess(self.catalog_path, roots, workers=self.settings.scan_workers, on_progress=progress)
        self._scan_stop = process
        self.scan_started.emit()

        def work() -> Any:
            report = process.run()
            if self.engine is not None:
                self.engine.reload()
            return report

        self.tasks.run(work, self._scan_done, pool="scan")

    def cancel_scan(self) -> None:
        """Stop the scan after the files in flight (it resumes next time)."""
        if self._scan_stop is not None:
            self._scan_stop.stop()
            self._scan_queue.clear()

    def _scan_done(self, report: Any, error: BaseException | None) -> None:
        self._scan_stop = None
        self.scan_finished.emit(report, None if error is None else str(error))
        self.refresh()
        self.refresh_library_info()
        if self._scan_queue and not self._closed:
            roots, self._scan_queue = sorted(self._scan_queue), set()
            self.start_scan(roots)

    def refresh_library_info(self) -> None:
        """Counts and problems (db pool) → :attr:`library_info`."""
        if self.db is None:
            return
        db = self.db
        self.tasks.run(lambda: (db.stats(), db.problems()),
                       lambda r, e: self.library_info.emit(*r) if e is None else self.message.emit(str(e)), pool="db")

    # ================================================================== cards: peaks
    def load_peaks(self, path: str) -> None:
        """Ask for a thumbnail; requests made in one event-loop turn are computed together on
        the io pool, a few per task, and come back through :attr:`peaks_ready`."""
        if not self._peaks_wanted:
            QTimer.singleShot(0, self._flush_peaks)
        self._peaks_wanted.append(path)

    @Slot()
    def _flush_peaks(self) -> None:
        paths, self._peaks_wanted = self._peaks_wanted, []
        cache = self.peaks

        def compute(chunk: list[str]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for p in chunk:
                try:
                    out[p] = cache.load(p, PEAK_BINS)
                except CompanionError as exc:
                    log.info("no waveform for %s: %s", p, exc)
                    out[p] = None
            return out

        for i in range(0, len(paths), PEAKS_PER_TASK):
            chunk = paths[i:i + PEAKS_PER_TASK]
            self.tasks.run(lambda c=chunk: compute(c),
                           lambda r, e: self.peaks_ready.emit(r) if e is None else self.message.emit(str(e)), pool="io")

    # ================================================================== audition
    @property
    def preview_item(self) -> SuggestionItem | None:
        """The card auditioned last (playing or loading)."""
        return self._preview_item

    @property
    def playing(self) -> bool:
        """True while audio plays."""
        return self._playing

    def stop_preview(self) -> None:
        """Fade out (cheap: flags the audio callback)."""
        self._preview_token += 1
        self.auditioner.stop()

    def preview(self, item: SuggestionItem, *, start: float | None = None, region: tuple[float, float] | None = None) -> None:
        """Render (cached) and play ``item`` in the session's tempo and key.

        Args:
            start: play from this fraction of the sample (a click on the waveform).
            region: play only this ``(start, end)`` fraction range (looped for loops).
        """
        self._preview_token += 1
        token = self._preview_token
        self._preview_item = item
        self._preview_requested_at = time.perf_counter()
        requested = self._preview_requested_at
        self.preview_state.emit(item.sample_id, "loading", "")
        ctx = self.context()
        auditioner = self.auditioner
        self.tasks.clear("audio")  # an older request still queued is superseded

        def work() -> Any:
            prepared = auditioner.prepare(item.audition(), ctx.bpm, ctx.key)
            if token != self._preview_token:
                return None  # superseded while rendering
            dur = prepared.rendered.duration_s
            a, b = region if region else ((start or 0.0), None)
            auditioner.play(prepared, start_s=a * dur, end_s=None if b is None else b * dur)
            return prepared, (time.perf_counter() - requested) * 1000.0

        def done(result: Any, error: BaseException | None) -> None:
            if error is not None:
                self.preview_state.emit(item.sample_id, "error", str(error))
                self.message.emit(str(error))
                return
            if result is None:
                return
            prepared, start_ms = result
            plan = prepared.rendered.plan
            shown = self._impressions.shown_at.get(item.sample_id)
            meta = {
                "rank": item.rank, "score": item.score, "source": item.source, "mode": self.mode,
                "start_latency_ms": round(start_ms, 1), "cache_hit": prepared.cache_hit,
                "render_ms": 0.0 if prepared.cache_hit else round(prepared.rendered.render_ms, 1), "plan": plan.note,
                "time_to_preview_ms": None if shown is None else round((requested - shown) * 1000.0, 1),
            }
            self.record("preview", item.sample_id, **meta)
            note = f"plays {plan.note}" + (" · from the cache" if prepared.cache_hit else f" · rendered in {prepared.rendered.render_ms:.0f} ms")
            self.preview_state.emit(item.sample_id, "note", note)

        self.tasks.run(work, done, pool="audio", priority=10)

    @Slot(str)
    def _on_player_state(self, state: str) -> None:
        self._playing = state == "playing"
        sid = self._preview_item.sample_id if self._preview_item is not None else None
        self.preview_state.emit(sid, state, "")

    def plan_note(self, item: SuggestionItem) -> str:
        """How ``item`` will sound in this session, e.g. ``"auditions at 120 → 124 BPM, +2 st"``."""
        ctx = self.context()
        return "auditions " + self.auditioner.plan(item.audition(), ctx.bpm, ctx.key).note

    def position_fraction(self) -> float | None:
        """Playhead of the current audition as a fraction of its render, or None."""
        player = self.auditioner.player
        if player is None or not self._playing:
            return None
        pos = player.position_s()
        item = self._preview_item
        if pos is None or item is None:
            return None
        ctx = self.context()
        plan = self.auditioner.plan(item.audition(), ctx.bpm, ctx.key)
        dur = (item.duration_s or 0.0) / (plan.speed or 1.0)
        return None if dur <= 0 else min(1.0, pos / dur)

    def set_volume(self, volume: float) -> None:
        """Audition volume 0–1 (ramped in the audio callback)."""
        if self.auditioner.player is not None:
            self.auditioner.player.volume = volume
        self.prefs.volume = volume

    def schedule_prefetch(self, items: list[SuggestionItem]) -> None:
        """Pre-render these cards once the list has been quiet for a moment."""
        self._prefetch_items = items[:3]
        self._prefetch_timer.start()

    @Slot()
    def _prefetch(self) -> None:
        items = [it.audition() for it in self._prefetch_items]
        if not items or self.auditioner.player is None:
            return
        ctx = self.context()
        self.tasks.clear("prefetch")
        self.tasks.run(lambda: self.auditioner.prefetch(items, ctx.bpm, ctx.key), pool="prefetch")

    # ================================================================== drag
    def _export_key(self, item: SuggestionItem, rendered: bool, region: tuple[float, float] | None) -> tuple[Any, ...]:
        ctx = self.context()
        return (item.sample_id, rendered, region, ctx.bpm if rendered else None,
                ctx.key if rendered else None)

    def prepare_drag(self, item: SuggestionItem, *, rendered: bool, region: tuple[float, float] | None = None) -> None:
        """Write the file a drag will carry (render or region) ahead of the drag, on a worker."""
        if not rendered and region is None:
            return
        key = self._export_key(item, rendered, region)
        if key in self._exports:
            return
        ctx = self.context()
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
                self.message.emit(f"cannot prepare the drag file: {error}")
            else:
                self._exports[key] = path

        self.tasks.run(work, done, pool="audio", priority=5)

    def mime_for(self, item: SuggestionItem, *, rendered: bool = False,
                 region: tuple[float, float] | None = None) -> QMimeData:
        """Drag data: a file URL (the original, or its prepared render/region), plus JSON."""
        path = item.path
        if rendered or region is not None:
            ready = self._exports.get(self._export_key(item, rendered, region))
            if ready is not None:
                path = ready
            else:
                self.prepare_drag(item, rendered=rendered, region=region)
                self.message.emit("The render is not ready yet — dragging the original file")
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(path)])
        mime.setText(path)
        ctx = self.context()
        payload = {"sample_id": item.sample_id, "path": item.path, "file": path, "kind": item.kind,
                   "bpm": item.bpm, "key": item.key, "context_bpm": ctx.bpm,
                   "context_key": ctx.key.name if ctx.key else None,
                   "region": list(region) if region else None}
        mime.setData(MIME_SAMPLE, json.dumps(payload).encode("utf-8"))
        return mime

    # ================================================================== decisions
    def record(self, event_type: str, sample_id: int | None, **metadata: Any) -> None:
        """Write a telemetry event (with its outbox row) on the db pool."""
        engine = self.engine
        if engine is None:
            return
        self.tasks.run(lambda: engine.record(event_type, sample_id, **metadata), pool="db")

    def _decide(self, fn: Callable[[], Any], done_text: str | None = None) -> None:
        def done(_: Any, error: BaseException | None) -> None:
            if error is not None:
                self.message.emit(f"not saved: {error}")
            elif done_text:
                self.message.emit(done_text)
            self.refresh()

        self.tasks.run(fn, done, pool="db")

    def accept(self, item: SuggestionItem, via: str = "key") -> None:
        """The producer used it: recorded, joins the similarity target, not suggested again."""
        if self.engine is not None:
            engine = self.engine
            self._decide(lambda: engine.accept(item.sample_id, rank=item.rank, score=item.score,
                                               source=item.source, via=via), f"Used {item.name}")

    def dismiss(self, item: SuggestionItem, on: bool = True) -> None:
        """Skip for this session (or undo it)."""
        if self.engine is not None:
            engine = self.engine
            if on:
                self._decide(lambda: engine.dismiss(item.sample_id, rank=item.rank, score=item.score, source=item.source))
            else:
                self._decide(lambda: engine.undismiss(item.sample_id))

    def set_decision(self, item: SuggestionItem, decision: str, on: bool) -> None:
        """Pin or ban a sample (or undo it)."""
        if self.engine is not None:
            engine = self.engine
            self._decide(lambda: engine.set_decision(item.sample_id, decision, on))  # type: ignore[arg-type]

    def ban_folder(self, folder: str, on: bool = True) -> None:
        """Ban (or unban) a folder."""
        if self.engine is not None:
            engine = self.engine
            self._decide(lambda: engine.ban_folder(folder, on))

    def correct(self, item: SuggestionItem, bpm: float | None, key: Key | None, kind: str | None) -> None:
        """Store the producer's BPM/key/kind correction, reload and re-rank."""
        if self.db is None or self.engine is None:
            return
        db, engine = self.db, self.engine

        def work() -> Any:
            row = db.set_override(item.path, bpm=bpm, key=key, kind=kind)
            engine.reload()
            return row

        parts = [p for p in (f"{bpm:g} BPM" if bpm else "", key.name if key else "", kind or "") if p]
        self._decide(work, f"Saved your correction of {item.name}: {', '.join(parts)}")

    # ================================================================== impressions
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
        self._pending_views = [(it, kind) for it in items]
        self._view_timer.start()

    @Slot()
    def _record_views(self) -> None:
        engine = self.engine
        if engine is None:
            return
        todo = [(it, kind) for it, kind in self._pending_views
                if (it.sample_id, kind) not in self._impressions.viewed]
        self._pending_views = []
        if not todo:
            return
        for it, kind in todo:
            self._impressions.viewed.add((it.sample_id, kind))
        mode = self.mode

        def work() -> int:
            for it, kind in todo:
                engine.record("view", it.sample_id, rank=it.rank, score=it.score, source=it.source,
                              mode=mode, list=kind)
            return len(todo)

        self.tasks.run(work, pool="db")

    # ================================================================== search / similar
    def search(self, text: str) -> None:
        """Text search: CLAP when a model is loaded, else names and tags → :attr:`results_ready`."""
        self._search_token += 1
        token = self._search_token
        text = text.strip()
        if not text:
            self.results_ready.emit(None)
            return
        if self.engine is None or self.db is None:
            return
        engine, db = self.engine, self.db

        def work() -> ResultList:
            return search_library(engine, db, text)

        def done(result: Any, error: BaseException | None) -> None:
            if token != self._search_token:
                return
            if error is not None:
                self.message.emit(f"search failed: {error}")
                return
            self.results_ready.emit(result)

        self.tasks.run(work, done, pool="db")

    def cancel_search(self) -> None:
        """Forget the search or "more like this" in flight (its results are dropped)."""
        self._search_token += 1

    def more_like(self, item: SuggestionItem) -> None:
        """Samples that sound like ``item`` → :attr:`results_ready`."""
        if self.engine is None or self.db is None:
            return
        engine, db = self.engine, self.db
        self._search_token += 1
        token = self._search_token

        def work() -> ResultList:
            hits = next(iter(engine.similar([item.path], top_k=self.prefs.top_k).values()), [])
            items = []
            for rank, h in enumerate(hits, 1):
                row = db.get(h["id"])
                if row is not None:
                    items.append(SuggestionItem.from_row(row, rank, score=h["score"], source="similar",
                                                         rationale=(f"similarity {h['score']:.2f}",)))
            return ResultList(f"More like {item.name}", items, "similar")

        def done(result: Any, error: BaseException | None) -> None:
            if token != self._search_token:
                return
            if error is not None:
                self.message.emit(str(error))
                return
            self.results_ready.emit(result)

        self.tasks.run(work, done, pool="db")

    # ================================================================== sync / settings
    def start_sync(self) -> None:
        """Run the sync loop on a thread when a hub URL and token are set."""
        self._sync_stop.set()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=5.0)
        self._sync_thread = None
        self._sync_stop = threading.Event()
        if not (self.prefs.sync_url and self.prefs.sync_token):
            self.sync_state.emit("sync off")
            return
        stop = self._sync_stop
        url, token, db_path = self.prefs.sync_url, self.prefs.sync_token, self.catalog_path

        def loop() -> None:
            try:
                from companion.sync.client import SyncClient

                with SyncClient(db_path, url, token) as client:
                    client.run(stop, on_status=lambda st: self.sync_state.emit(f"sync: {st.summary()}"))
            except CompanionError as exc:
                self.sync_state.emit(f"sync off: {exc}")
            except Exception as exc:
                log.exception("sync stopped")
                self.sync_state.emit(f"sync stopped: {exc}")

        self._sync_thread = threading.Thread(target=loop, name="sync", daemon=True)
        self._sync_thread.start()

    def apply_preferences(self, new: Preferences) -> None:
        """Apply edited settings: folders, watching, OSC, device, audition, sync, mode."""
        old, self.prefs = self.prefs, new
        self.save_prefs()
        self.auditioner.follow_tempo = new.follow_tempo
        self.auditioner.follow_key = new.follow_key
        if new.audio_device != old.audio_device and self.auditioner.player is not None:
            device = new.audio_device
            self.tasks.run(lambda: self.auditioner.set_device(device), pool="audio", priority=20)
        if (new.osc_enabled, new.osc_port, new.osc_host) != (old.osc_enabled, old.osc_port, old.osc_host):
            self.start_bridge()
        if (new.sync_url, new.sync_token) != (old.sync_url, old.sync_token):
            self.start_sync()
        if new.model_dir != old.model_dir:
            self.message.emit("The CLAP model change applies at the next start")
        self.apply_watching()
        added = [f for f in new.folders if f not in old.folders]
        if added:
            self.start_scan(added)
        self.mode = new.mode
        self.refresh()

    def save_prefs(self) -> None:
        """Write the preferences file (small; atomic)."""
        try:
            save_preferences(self.prefs, self.prefs_file)
        except OSError as exc:
            self.message.emit(f"cannot save settings to {self.prefs_file}: {exc}")

    def output_devices(self, done: Callable[[list[Any]], None]) -> None:
        """List output devices on a worker, then ``done(devices)`` on the GUI thread."""
        def work() -> list[Any]:
            from companion.preview.player import output_devices

            return output_devices()

        self.tasks.run(work, lambda r, e: done(r if e is None else []), pool="audio", priority=20)


def search_library(engine: Any, db: Any, text: str, limit: int = 200) -> ResultList:
    """Search the library: CLAP text embedding when a model is loaded, else names and tags.

    Banned samples and folders are left out. Runs on a worker (db pool).
    """
    state = engine.state
    banned_folders = [f.rstrip(os.sep) + os.sep for f in state.banned_folders]

    def allowed(sid: int, path: str) -> bool:
        return sid not in state.banned_ids and not any(path.startswith(f) for f in banned_folders)

    embedder = engine.text_embedder
    space = next((s for s in engine.spaces if embedder is not None and s.space == embedder.space), None)
    if embedder is not None and space is not None and space.index is not None:
        query = embedder.embed_text([text])
        ids, sims = space.index.query(query, min(limit, len(space.ids)))
        items = []
        for sid, sim in zip(ids[0].tolist(), sims[0].tolist()):
            if sid < 0:
                continue
            row = db.get(int(sid))
            if row is not None and allowed(row.id, row.path):
                items.append(SuggestionItem.from_row(row, len(items) + 1, score=float(sim), source="clap",
                                                     rationale=(f"text match {sim:.2f}",)))
        return ResultList(f"“{text}”", items, "search", note="through CLAP")
    rows = islice((r for r in db.rows(query=text) if r.status == "analysed" and allowed(r.id, r.path)), limit)
    items = [SuggestionItem.from_row(r, i + 1, rationale=(" ".join(r.tags[:6]),) if r.tags else ())
             for i, r in enumerate(rows)]
    note = "names and tags" + (" (no CLAP model)" if embedder is None else "")
    return ResultList(f"“{text}”", items, "search", note=note)
