"""The library for the window: scans, folder watching, counts and problems, thumbnails.

Each scan runs in a spawned process of its own (:mod:`companion.ui.scan_process`), followed from
the controller's ``scan`` pool; the engine reloads there when it ends. While it runs, the
library is followed every :attr:`LibraryAdapter.follow_every_ms` on the ``db`` pool
(:class:`~companion.app.pending.ScanFollower`): the engine reloads when analyses landed (then
the list re-ranks) and the files not analysed yet come out as :attr:`LibraryAdapter.pending`
("analysing…" cards after the ranked ones). The watchdog observer is started, re-pointed and
stopped on the ``control`` pool (it joins threads), never on the GUI thread.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from companion.app.pending import PENDING_SHOWN, PendingFiles, ScanFollower
from companion.errors import CompanionError
from companion.preview.waveform import PeaksCache
from companion.ui.items import SuggestionItem

if TYPE_CHECKING:
    from companion.settings import Settings
    from companion.ui.controller import AppController

log = logging.getLogger(__name__)

#: Scan progress signals at most this often (s).
PROGRESS_EVERY_S = 0.05
#: Columns of a waveform thumbnail, and thumbnails computed per worker task.
PEAK_BINS = 400
PEAKS_PER_TASK = 6
#: While a scan runs, the library is followed this often (ms): reload when analyses landed.
FOLLOW_EVERY_MS = 2500
#: ... and never sooner than this many times the last step took, so that reloading a large
#: library (≈ 6 s of CPU for 100k samples, most of it reading the vectors) takes at most a tenth
#: of a CPU from the scan it follows. A design constant (the GUI benchmark's 24-file scan beside
#: a 100k library took 18 % longer when the engine reloaded 2.5 s after each reload ended).
FOLLOW_COST_FACTOR = 10


class LibraryAdapter(QObject):
    """Scans, watching, library counts and waveform thumbnails for one controller.

    Signals:
        pending_changed(): :attr:`pending` changed (a scan listed other files still being
            analysed, or ended).

    Attributes:
        pending: cards of the files a running scan has indexed but not analysed yet, at most
            :data:`~companion.app.pending.PENDING_SHOWN`, then a ``"+N more being analysed"``
            card when there are more; empty when no scan runs.
        pending_total: how many files the running scan still has to analyse (under the list
            filter, bans applied).
        follow_every_ms: how often a running scan is followed (ms); at least
            :data:`FOLLOW_COST_FACTOR` times the last step's duration.
    """

    pending_changed = Signal()
    _watch_changed = Signal(list)

    def __init__(self, controller: AppController) -> None:
        super().__init__(controller)
        self._c = controller
        self.watcher: Any | None = None  # FolderWatcher; touched on the control pool only
        self.peaks = PeaksCache()
        self.pending: list[SuggestionItem] = []
        self.pending_total = 0
        self.follow_every_ms = FOLLOW_EVERY_MS
        self._scan: Any | None = None  # the running ScanProcess
        self._scan_queue: set[str] = set()
        self._peaks_wanted: list[str] = []
        self._closed = False
        self._follower: ScanFollower | None = None  # of the running scan
        self._following = False  # a follow step is in flight (db pool)
        self._phase: str | None = None  # of the running scan's last progress report
        self._follow_timer = QTimer(self, singleShot=True)
        self._follow_timer.timeout.connect(self._follow)
        self._watch_changed.connect(self._on_watch_changed)
        controller.scan_progress.connect(self._on_progress)

    # ================================================================== folders and watching
    def set_folders(self, folders: list[str]) -> None:
        """New folder list: saved, watched; new folders are scanned."""
        old = self._c.settings
        self._c.edit_settings(folders=list(folders))
        self.settings_changed(old, self._c.settings)

    def set_watching(self, on: bool) -> None:
        """Turn folder watching on or off (saved)."""
        self._c.edit_settings(watch_folders=on)
        self.apply_watching()

    def settings_changed(self, old: Settings, new: Settings) -> None:
        """Folders or watching changed: re-point the watcher; scan the added folders."""
        if (old.folders, old.watch_folders) != (new.folders, new.watch_folders):
            self.apply_watching()
        added = [f for f in new.folders if f not in old.folders]
        if added:
            self.start_scan(added)

    def apply_watching(self) -> None:
        """Start, re-point or stop the watcher to match the settings (on the control pool)."""
        settings = self._c.settings
        roots = list(settings.folders) if settings.watch_folders else []
        notify = self._watch_changed.emit

        def work() -> list[str]:
            if not roots:
                if self.watcher is not None:
                    self.watcher.stop()
                    self.watcher = None
                return []
            from companion.library.watch import FolderWatcher

            if self.watcher is None:
                self.watcher = FolderWatcher(notify).start()
            return self.watcher.set_roots(roots)

        def done(errors: Any, error: BaseException | None) -> None:
            for text in [str(error)] if error is not None else errors:
                self._c.problem.emit(text)

        self._c.tasks.run(work, done, pool="control")

    @Slot(list)
    def _on_watch_changed(self, roots: list[str]) -> None:
        if self._closed:
            return
        self._c.message.emit("New files found — analysing them")
        self.start_scan(roots)

    # ================================================================== scans
    @property
    def scanning(self) -> bool:
        """True while a scan runs."""
        return self._scan is not None

    def start_scan(self, roots: list[str] | None = None) -> None:
        """Scan folders (default: all) on the scan pool; queued if a scan runs."""
        c = self._c
        roots = list(roots or c.settings.folders)
        if not roots:
            c.message.emit("Add a sample folder first")
            return
        if self._scan is not None:
            self._scan_queue.update(roots)
            return
        from companion.ui.scan_process import ScanProcess

        last: list[Any] = [0.0, None]  # when, phase of the last report passed on

        def progress(p: Any) -> None:
            now = time.monotonic()
            phase_changed = p.phase != last[1]
            if phase_changed or now - last[0] >= PROGRESS_EVERY_S or (p.total is not None and p.done >= p.total):
                last[0], last[1] = now, p.phase
                c.scan_progress.emit(p)

        session = c.session  # a loaded CLAP model embeds what lacks its vectors (phase "embed")
        process = ScanProcess(
            c.catalog_path, roots, workers=c.settings.scan_workers, on_progress=progress, clap=session.clap_spec()
        )
        self._scan = process
        self._phase = None
        if session.engine is not None and c.db is not None:
            self._follower = ScanFollower(session.engine, c.db)
            self._follow_timer.start(self.follow_every_ms)
        c.scan_started.emit()

        def work() -> Any:
            report = process.run()
            if session.engine is not None:
                session.engine.reload()
            return report

        c.tasks.run(work, self._scan_done, pool="scan")

    def cancel_scan(self) -> None:
        """Stop the scan after the files in flight (it resumes next time)."""
        if self._scan is not None:
            self._scan.stop()
            self._scan_queue.clear()

    def _scan_done(self, report: Any, error: BaseException | None) -> None:
        self._scan = None
        self._follower = None  # a step in flight is dropped when it comes back
        self._follow_timer.stop()
        self._set_pending([], 0)
        if error is not None:
            log.warning("scan failed: %s", error)
        self._c.scan_finished.emit(report, None if error is None else str(error))
        self._c.refresh()
        self.refresh_info()
        if self._scan_queue and not self._closed:
            roots, self._scan_queue = sorted(self._scan_queue), set()
            self.start_scan(roots)

    # ================================================================== following a scan
    @Slot(object)
    def _on_progress(self, p: Any) -> None:
        """When indexing ends (the first report of a later phase), a step follows at once, so
        every file just indexed shows; the others come every :attr:`follow_every_ms`."""
        if p.phase != "index" and self._phase in (None, "index"):
            self._follow()
        self._phase = p.phase

    @Slot()
    def _follow(self) -> None:
        """One step of :class:`~companion.app.pending.ScanFollower` on the db pool: the engine
        reloads if analyses landed (then the list re-ranks); the pending cards follow."""
        follower, c = self._follower, self._c
        if follower is None or self._following or self._closed:
            return
        self._following = True
        self._follow_timer.stop()
        list_filter = c.session.list_filter

        took_s = [0.0]

        def work() -> tuple[bool, list[SuggestionItem], int]:
            start = time.perf_counter()
            try:
                reloaded, pending = follower.step(list_filter, PENDING_SHOWN)
                return reloaded, _pending_cards(pending), pending.total
            finally:
                took_s[0] = time.perf_counter() - start

        def done(result: Any, error: BaseException | None) -> None:
            self._following = False
            if follower is not self._follower:  # the scan ended meanwhile
                return
            self._follow_timer.start(max(self.follow_every_ms, int(FOLLOW_COST_FACTOR * took_s[0] * 1000.0)))
            if error is not None:
                log.warning("cannot follow the scan: %s", error)
                return
            reloaded, cards, total = result
            self._set_pending(cards, total)
            if reloaded:
                c.refresh()

        c.tasks.run(work, done, pool="db")

    def _set_pending(self, cards: list[SuggestionItem], total: int) -> None:
        if (cards, total) != (self.pending, self.pending_total):
            self.pending, self.pending_total = cards, total
            self.pending_changed.emit()

    def refresh_info(self) -> None:
        """Counts and problems (db pool) → the controller's ``library_info``."""
        c = self._c
        db = c.db
        if db is None:
            return
        c.tasks.run(
            lambda: (db.stats(), db.problems()),
            lambda r, e: c.library_info.emit(*r) if e is None else c.problem.emit(str(e)),
            pool="db",
        )

    def shutdown(self) -> None:
        """Stop the scan (it resumes next time) and the watcher."""
        self._closed = True
        if self._scan is not None:
            self._scan.stop()

        def stop_watcher() -> None:
            if self.watcher is not None:
                self.watcher.stop()
                self.watcher = None

        self._c.tasks.run(stop_watcher, pool="control")

    # ================================================================== thumbnails
    def load_peaks(self, path: str) -> None:
        """Ask for a thumbnail; requests made in one event-loop turn are computed together on
        the io pool, a few per task, and come back through the controller's ``peaks_ready``."""
        if not self._peaks_wanted:
            QTimer.singleShot(0, self._flush_peaks)
        self._peaks_wanted.append(path)

    @Slot()
    def _flush_peaks(self) -> None:
        paths, self._peaks_wanted = self._peaks_wanted, []
        cache, c = self.peaks, self._c

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
            chunk = paths[i : i + PEAKS_PER_TASK]
            c.tasks.run(
                functools.partial(compute, chunk),
                lambda r, e: c.peaks_ready.emit(r) if e is None else c.problem.emit(str(e)),
                pool="io",
            )


def _pending_cards(pending: PendingFiles) -> list[SuggestionItem]:
    """The "analysing…" cards of ``pending``: one per listed file, then "+N more" if any."""
    cards = [SuggestionItem.analysing_row(r) for r in pending.rows]
    if pending.more:
        cards.append(SuggestionItem.more_analysing(pending.more))
    return cards
