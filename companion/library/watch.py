"""Watching sample folders: new, changed, moved or deleted audio files trigger a rescan.

:class:`FolderWatcher` runs a ``watchdog`` observer (inotify on Linux, FSEvents on macOS,
ReadDirectoryChangesW on Windows) over the watched folders, keeps only events about audio files
(:data:`companion.analysis.audio.SUPPORTED_EXTENSIONS`, hidden files ignored) and **debounces**
them: ``on_change(roots)`` is called once the folders have been quiet for ``debounce_s`` (a pack
being unzipped or copied fires hundreds of events; it gets one scan), or at the latest
``max_wait_s`` after the first event of a burst, so a long copy is picked up as it goes.

The callback runs on the watcher's own thread and receives the watched roots that changed; the
caller runs :func:`companion.library.scanner.scan` on them (incremental: only new and changed
files are analysed). The scanner, not the watcher, decides what changed, so a missed or
duplicated event costs at most a quick rescan.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from companion.analysis.audio import SUPPORTED_EXTENSIONS
from companion.errors import CompanionError

log = logging.getLogger(__name__)

#: Quiet time before a burst of events triggers a rescan, seconds.
DEFAULT_DEBOUNCE_S = 1.5
#: Longest a busy folder waits for its rescan, seconds.
DEFAULT_MAX_WAIT_S = 15.0

ChangeCallback = Callable[[list[str]], None]


def is_audio_path(path: str) -> bool:
    """True for a non-hidden file with an audio extension the scanner reads."""
    name = os.path.basename(path)
    return bool(name) and not name.startswith(".") and os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS


class _Handler(FileSystemEventHandler):
    def __init__(self, root: str, notify: Callable[[str, str], None]) -> None:
        self.root = root
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [os.fsdecode(event.src_path)]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(os.fsdecode(dest))
        if event.is_directory:
            # a folder moved in or out, or deleted, carries its files without per-file events
            if event.event_type in ("moved", "deleted", "created"):
                self._notify(self.root, paths[-1])
            return
        for p in paths:
            if is_audio_path(p):
                self._notify(self.root, p)
                return


class FolderWatcher:
    """Watches folders recursively and reports debounced changes to audio files.

    Args:
        on_change: called with the sorted list of watched roots that changed (watcher thread).
        debounce_s: quiet time that ends a burst, seconds.
        max_wait_s: longest time from the first event of a burst to the callback, seconds.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        on_change: ChangeCallback,
        *,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
    ) -> None:
        self._on_change = on_change
        self.debounce_s = debounce_s
        self.max_wait_s = max_wait_s
        self._cond = threading.Condition()
        self._pending: dict[str, str] = {}  # root -> latest path seen
        self._first_at: float | None = None
        self._last_at = 0.0
        self._stopping = False
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}
        self._thread: threading.Thread | None = None
        self.events = 0  # audio-file events seen (for tests and the status line)
        self.batches = 0  # callbacks made

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FolderWatcher:
        """Start the observer and the debounce thread (idempotent)."""
        if self._observer is not None:
            return self
        self._stopping = False
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._thread = threading.Thread(target=self._run, name="folder-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; pending changes are dropped (the next scan finds them)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5.0)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._watches.clear()

    def __enter__(self) -> FolderWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ folders
    @property
    def roots(self) -> list[str]:
        """The watched folders (absolute paths)."""
        return sorted(self._watches)

    def watch(self, folder: Path | str) -> None:
        """Watch ``folder`` recursively.

        Raises:
            CompanionError: not a folder, or the system refused the watch (e.g. Linux's
                ``fs.inotify.max_user_watches`` limit).
        """
        if self._observer is None:
            raise CompanionError("the folder watcher is not running — call start() first")
        root = str(Path(folder).expanduser().resolve())
        if root in self._watches:
            return
        if not os.path.isdir(root):
            raise CompanionError(f"cannot watch {root}: not a folder")
        try:
            self._watches[root] = self._observer.schedule(_Handler(root, self._notify), root, recursive=True)
        except OSError as exc:
            raise CompanionError(
                f"cannot watch {root}: {exc.strerror or exc} — on Linux, raise "
                "fs.inotify.max_user_watches (sysctl) or rescan by hand"
            ) from exc
        log.info("watching %s", root)

    def unwatch(self, folder: Path | str) -> None:
        """Stop watching ``folder`` (no-op when not watched)."""
        root = str(Path(folder).expanduser().resolve())
        watch = self._watches.pop(root, None)
        if watch is not None and self._observer is not None:
            self._observer.unschedule(watch)

    def set_roots(self, folders: Iterable[Path | str]) -> list[str]:
        """Watch exactly these folders. Returns the error messages of folders that failed."""
        wanted = {str(Path(f).expanduser().resolve()) for f in folders}
        for root in set(self._watches) - wanted:
            self.unwatch(root)
        errors = []
        for root in sorted(wanted - set(self._watches)):
            try:
                self.watch(root)
            except CompanionError as exc:
                errors.append(str(exc))
                log.warning("%s", exc)
        return errors

    # ------------------------------------------------------------------ debounce
    def _notify(self, root: str, path: str) -> None:
        now = time.monotonic()
        with self._cond:
            self.events += 1
            self._pending[root] = path
            if self._first_at is None:
                self._first_at = now
            self._last_at = now
            self._cond.notify()

    def _due(self, now: float) -> float | None:
        """Seconds until the pending burst is due (≤ 0: due now), None when nothing is pending."""
        if self._first_at is None:
            return None
        return min(self._last_at + self.debounce_s, self._first_at + self.max_wait_s) - now

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    wait = self._due(time.monotonic())
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(timeout=wait)
                if self._stopping:
                    return
                roots = sorted(self._pending)
                self._pending.clear()
                self._first_at = None
                self.batches += 1
            try:
                self._on_change(roots)
            except Exception:  # one failed rescan must not end the watching
                log.exception("rescan after a change in %s failed; still watching", ", ".join(roots))


def watch_folders(folders: Sequence[Path | str], on_change: ChangeCallback, **kwargs: float) -> FolderWatcher:
    """Start a :class:`FolderWatcher` on ``folders`` (convenience for the CLI and tests)."""
    watcher = FolderWatcher(on_change, **kwargs).start()
    for f in folders:
        watcher.watch(f)
    return watcher
