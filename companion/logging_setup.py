"""Log files and crash reports: rotating logs under the user's log directory, and an
unhandled-exception hook that tells the user where the details are instead of exiting silently.

* :func:`setup_logging` adds one :class:`logging.handlers.RotatingFileHandler` to the root
  logger (``<log dir>/companion.log``, 1 MB × 5 backups by default; stdlib ``logging``) and
  routes native crashes (segfaults in Qt, onnxruntime, PortAudio) to ``faults.log`` with
  :mod:`faulthandler`.
* :func:`install_excepthook` replaces :data:`sys.excepthook` and :data:`threading.excepthook`:
  an unhandled exception is logged with its traceback, written to a crash report
  (``crash-<UTC time>-<pid>.txt``: version, platform, traceback, the last log lines), and shown
  to the user through the crash *notifier*. The default notifier prints the summary on stderr;
  the desktop app installs one that opens a Qt message box (:func:`set_crash_notifier`), so
  this module never imports Qt.

Typical start-up (the bundle's entry point, the GUI command)::

    setup_logging()
    install_excepthook()
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import platform
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from companion import __version__
from companion.errors import CompanionError
from companion.settings import log_dir

log = logging.getLogger(__name__)

#: Name of the current log file inside the log directory.
LOG_FILE_NAME = "companion.log"
#: Native-crash dump file (faulthandler) inside the log directory.
FAULT_FILE_NAME = "faults.log"
#: Size at which the log file is rotated, bytes.
MAX_BYTES = 1_000_000
#: Rotated files kept: ``companion.log.1`` … ``companion.log.5``.
BACKUP_COUNT = 5
#: Crash reports kept; older ones are deleted when a new one is written.
MAX_CRASH_REPORTS = 20
#: Lines of the log copied into a crash report.
LOG_TAIL_LINES = 60
LOG_FORMAT = "%(asctime)s %(levelname)-7s [%(process)d %(threadName)s] %(name)s: %(message)s"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


@dataclass(frozen=True)
class CrashReport:
    """What the user is told about an unhandled exception.

    Attributes:
        title: one line, e.g. ``"SampleMind Companion hit an unexpected error"``.
        error: ``"<ExceptionType>: <message>"`` (only the message for a :class:`CompanionError`,
            whose text already says what to do).
        expected: True for a :class:`CompanionError` (a known failure with advice), False for
            a bug.
        thread: name of the thread the exception escaped from.
        traceback: the formatted traceback.
        log_path: the log file, or None when logging to a file is unavailable.
        report_path: the crash report file, or None when it could not be written.
    """

    title: str
    error: str
    expected: bool
    thread: str
    traceback: str
    log_path: Path | None
    report_path: Path | None

    def summary(self) -> str:
        """The text shown to the user: what happened and where the details are."""
        lines = [f"{self.title}: {self.error}"]
        if self.report_path is not None:
            lines.append(f"Details: {self.report_path}")
        if self.log_path is not None:
            lines.append(f"Log: {self.log_path}")
        if self.report_path is None and self.log_path is None:
            lines.append("No log file could be written; the traceback follows.")
            lines.append(self.traceback.rstrip())
        elif not self.expected:
            lines.append("Please attach the details file when you report this problem.")
        return "\n".join(lines)


#: Receives every crash report; runs on the thread that crashed (a GUI notifier must hop to
#: the GUI thread itself, e.g. with a queued signal).
CrashNotifier = Callable[[CrashReport], None]


def stderr_notifier(report: CrashReport) -> None:
    """The default notifier: print :meth:`CrashReport.summary` on stderr."""
    stream = sys.stderr
    if stream is None:  # a windowed app on Windows has no stderr
        return
    stream.write(report.summary() + "\n")
    stream.flush()


class _State:
    """Process-wide state of this module (one log set-up, one hook)."""

    handler: logging.handlers.RotatingFileHandler | None = None
    log_path: Path | None = None
    directory: Path | None = None
    fault_file: IO[str] | None = None
    notifier: CrashNotifier = stderr_notifier
    previous_hooks: tuple[Any, Any] | None = None
    lock = threading.Lock()


def setup_logging(
    directory: Path | None = None,
    *,
    level: int = logging.INFO,
    max_bytes: int = MAX_BYTES,
    backup_count: int = BACKUP_COUNT,
    faults: bool = True,
) -> Path | None:
    """Log to a rotating file in the user's log directory (idempotent).

    Args:
        directory: log folder; default :func:`companion.settings.log_dir`
            (``~/.local/state/samplemind-companion/log`` on Linux). Created if missing.
        level: lowest level written to the file; the root logger is lowered to it if needed
            (other handlers keep their own levels).
        max_bytes: size at which ``companion.log`` rolls over to ``companion.log.1``.
        backup_count: rotated files kept.
        faults: also dump native crashes (faulthandler) to ``faults.log``.

    Returns:
        The log file path, or None when the folder cannot be created or written; then a warning
        goes to stderr and the app runs on without a log file.
    """
    folder = Path(directory) if directory is not None else log_dir()
    with _State.lock:
        if _State.handler is not None and _State.directory == folder:
            _State.handler.setLevel(level)
            _lower_root_level(level)
            return _State.log_path
        _remove_handler()
        path = folder / LOG_FILE_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8", delay=False
            )
        except OSError as exc:
            sys.stderr.write(
                f"warning: cannot write the log file {path}: {exc.strerror or exc} — "
                "running without a log file; check the folder's permissions\n"
            )
            return None
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.setLevel(level)
        logging.getLogger().addHandler(handler)
        _lower_root_level(level)
        _State.handler, _State.log_path, _State.directory = handler, path, folder
        if faults:
            _enable_faulthandler(folder / FAULT_FILE_NAME)
    log.info(
        "SampleMind Companion %s starting (python %s, %s, %s)",
        __version__,
        platform.python_version(),
        platform.platform(),
        "frozen" if is_frozen() else "source",
    )
    return path


def teardown_logging() -> None:
    """Remove the file handler and stop the faulthandler dump (tests, clean shutdown)."""
    with _State.lock:
        _remove_handler()


def current_log_path() -> Path | None:
    """The log file set up by :func:`setup_logging`, or None."""
    return _State.log_path


def is_frozen() -> bool:
    """True when running from a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def set_crash_notifier(notifier: CrashNotifier | None) -> None:
    """Set who shows crash reports to the user (None restores :func:`stderr_notifier`).

    The desktop app installs a notifier that opens a message box with
    :meth:`CrashReport.summary`; it is called on the crashing thread.
    """
    _State.notifier = notifier if notifier is not None else stderr_notifier


def install_excepthook(notifier: CrashNotifier | None = None) -> None:
    """Report unhandled exceptions of the main thread and of worker threads.

    Replaces :data:`sys.excepthook` and :data:`threading.excepthook` (idempotent).
    ``KeyboardInterrupt`` and ``SystemExit`` go to the previous hooks unchanged. A crash on the
    main thread ends the process as before (exit status 1) after the report; a crash in a
    worker thread is reported and the process goes on.

    Args:
        notifier: if given, replaces the current notifier (see :func:`set_crash_notifier`).
    """
    if notifier is not None:
        set_crash_notifier(notifier)
    with _State.lock:
        if _State.previous_hooks is None:
            _State.previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = _sys_hook
        threading.excepthook = _thread_hook


def uninstall_excepthook() -> None:
    """Restore the hooks that :func:`install_excepthook` replaced and the default notifier."""
    with _State.lock:
        if _State.previous_hooks is not None:
            sys.excepthook, threading.excepthook = _State.previous_hooks
            _State.previous_hooks = None
    set_crash_notifier(None)


def report_crash(exc_info: ExcInfo, *, thread_name: str | None = None) -> CrashReport:
    """Log an unhandled exception, write its crash report and notify the user.

    Args:
        exc_info: ``(type, value, traceback)`` as given to :data:`sys.excepthook`.
        thread_name: the thread it escaped from (default: the current thread).

    Returns:
        The :class:`CrashReport` that was shown. A notifier that raises is logged and the
        report goes to stderr instead.
    """
    exc_type, exc, tb = exc_info
    thread = thread_name or threading.current_thread().name
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    expected = isinstance(exc, CompanionError)
    log.critical("unhandled exception in thread %s", thread, exc_info=(exc_type, exc, tb))
    _flush()
    report = CrashReport(
        title="SampleMind Companion stopped" if expected else "SampleMind Companion hit an unexpected error",
        error=str(exc) if expected else f"{exc_type.__name__}: {exc}",
        expected=expected,
        thread=thread,
        traceback=text,
        log_path=_State.log_path,
        report_path=_write_report(text, thread),
    )
    try:
        _State.notifier(report)
    except Exception:  # the notifier itself failed: log it, and still tell the user on stderr
        log.exception("the crash notifier failed; reporting on stderr")
        _flush()
        stderr_notifier(report)
    return report


# -- internals ---------------------------------------------------------------------------------


def _sys_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, (KeyboardInterrupt, SystemExit)):
        previous = _State.previous_hooks[0] if _State.previous_hooks else sys.__excepthook__
        previous(exc_type, exc, tb)
        return
    report_crash((exc_type, exc, tb), thread_name=threading.current_thread().name)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        previous = _State.previous_hooks[1] if _State.previous_hooks else threading.__excepthook__
        previous(args)
        return
    name = args.thread.name if args.thread is not None else "unknown thread"
    report_crash((args.exc_type, args.exc_value, args.exc_traceback), thread_name=name)


def _lower_root_level(level: int) -> None:
    root = logging.getLogger()
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)


def _remove_handler() -> None:
    if _State.handler is not None:
        logging.getLogger().removeHandler(_State.handler)
        _State.handler.close()
    if _State.fault_file is not None:
        faulthandler.disable()
        _State.fault_file.close()
    _State.handler = _State.log_path = _State.directory = _State.fault_file = None


def _enable_faulthandler(path: Path) -> None:
    try:
        stream = open(path, "a", encoding="utf-8")
    except OSError as exc:
        log.warning("cannot open %s for native crash dumps: %s", path, exc)
        return
    faulthandler.enable(file=stream, all_threads=True)
    _State.fault_file = stream


def _flush() -> None:
    if _State.handler is not None:
        _State.handler.flush()


def _write_report(text: str, thread: str) -> Path | None:
    folder = _State.directory
    if folder is None:
        return None
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    path = folder / f"crash-{stamp}-{os.getpid()}.txt"
    header = [
        f"SampleMind Companion {__version__} crash report",
        f"time (UTC): {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(now))}",
        f"python: {platform.python_version()} ({'frozen bundle' if is_frozen() else sys.executable})",
        f"platform: {platform.platform()}",
        f"command: {' '.join(sys.argv)}",
        f"thread: {thread}",
        "",
        text.rstrip(),
        "",
        f"-- last {LOG_TAIL_LINES} lines of {_State.log_path} --",
        *_log_tail(),
    ]
    try:
        path.write_text("\n".join(header) + "\n", encoding="utf-8")
    except OSError as exc:
        log.error("cannot write the crash report %s: %s", path, exc)
        return None
    _prune_reports(folder)
    return path


def _log_tail() -> list[str]:
    if _State.log_path is None:
        return []
    try:
        with open(_State.log_path, encoding="utf-8", errors="replace") as fh:
            return [line.rstrip("\n") for line in fh.readlines()[-LOG_TAIL_LINES:]]
    except OSError as exc:
        return [f"(cannot read the log: {exc})"]


def _prune_reports(folder: Path) -> None:
    reports = sorted(folder.glob("crash-*.txt"), key=lambda p: p.stat().st_mtime)
    for old in reports[:-MAX_CRASH_REPORTS]:
        try:
            old.unlink()
        except OSError as exc:
            log.warning("cannot delete the old crash report %s: %s", old, exc)
