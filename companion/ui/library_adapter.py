"""The library for the window: scans, folder watching, counts and problems, thumbnails.

Each scan runs in a spawned process of its own (:mod:`companion.ui.scan_process`), followed from
the controller's ``scan`` pool; the engine reloads there when it ends. The watchdog observer is
started, re-pointed and stopped on the ``control`` pool (it joins threads), never on the GUI
thread.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from companion.errors import CompanionError
from companion.preview.waveform import PeaksCache

if TYPE_CHECKING:
    from companion.settings import Settings
    from companion.ui.controller import AppController

log = logging.getLogger(__name__)

#: Scan progress signals at most this often (s).
PROGRESS_EVERY_S = 0.05
#: Columns of a waveform thumbnail, and thumbnails computed per worker task.
PEAK_BINS = 400
PEAKS_PER_TASK = 6


class LibraryAdapter(QObject):
    """Scans, watching, library counts and waveform thumbnails for one controller."""

    _watch_changed = Signal(list)

    def __init__(self, controller: AppController) -> None:
        super().__init__(controller)
        self._c = controller
        self.watcher: Any | None = None  # FolderWatcher; touched on the control pool only
        self.peaks = PeaksCache()
        self._scan: Any | None = None  # the running ScanProcess
        self._scan_queue: set[str] = set()
        self._peaks_wanted: list[str] = []
        self._closed = False
        self._watch_changed.connect(self._on_watch_changed)

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

        process = ScanProcess(c.catalog_path, roots, workers=c.settings.scan_workers, on_progress=progress)
        self._scan = process
        c.scan_started.emit()
        session = c.session

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
        self._c.scan_finished.emit(report, None if error is None else str(error))
        self._c.refresh()
        self.refresh_info()
        if self._scan_queue and not self._closed:
            roots, self._scan_queue = sorted(self._scan_queue), set()
            self.start_scan(roots)

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
