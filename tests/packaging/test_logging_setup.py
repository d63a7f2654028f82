"""Rotating log files, crash reports and the unhandled-exception hook (real files, real processes)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion import logging_setup
from companion.errors import CatalogError
from companion.logging_setup import (
    LOG_FILE_NAME,
    CrashReport,
    current_log_path,
    install_excepthook,
    report_crash,
    setup_logging,
    teardown_logging,
    uninstall_excepthook,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def logs(tmp_path: Path) -> Iterator[Path]:
    """A log folder set up for this test; the handler and hooks are removed afterwards."""
    root_level = logging.getLogger().level
    folder = tmp_path / "logs"
    yield folder
    uninstall_excepthook()
    teardown_logging()
    logging.getLogger().setLevel(root_level)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_setup_writes_to_a_file_in_the_folder_once(logs: Path) -> None:
    path = setup_logging(logs)
    assert path == logs / LOG_FILE_NAME == current_log_path()
    again = setup_logging(logs)  # idempotent: still one handler
    assert again == path
    logging.getLogger("companion.test").info("scan of %d files started", 3)
    logging.getLogger("companion.test").debug("not written at INFO")
    logging.getLogger().handlers[-1].flush()
    lines = _lines(path)
    written = [line for line in lines if "scan of 3 files started" in line]
    assert len(written) == 1
    assert "INFO" in written[0] and "companion.test" in written[0]
    assert not any("not written at INFO" in line for line in lines)
    assert (logs / logging_setup.FAULT_FILE_NAME).exists()


def test_log_rotates_and_keeps_the_backups(logs: Path) -> None:
    path = setup_logging(logs, max_bytes=2_000, backup_count=2)
    assert path is not None
    logger = logging.getLogger("companion.test.rotate")
    for i in range(200):
        logger.warning("line %04d %s", i, "x" * 40)
    names = sorted(p.name for p in logs.glob(f"{LOG_FILE_NAME}*"))
    assert names == [LOG_FILE_NAME, f"{LOG_FILE_NAME}.1", f"{LOG_FILE_NAME}.2"]
    assert all(p.stat().st_size <= 2_000 for p in logs.glob(f"{LOG_FILE_NAME}*"))
    assert "line 0199" in path.read_text(encoding="utf-8")


def test_unwritable_folder_warns_and_runs_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    assert setup_logging(blocker / "logs") is None
    assert current_log_path() is None
    err = capsys.readouterr().err
    assert "cannot write the log file" in err and str(blocker / "logs") in err


def test_report_crash_writes_a_report_and_notifies(logs: Path) -> None:
    setup_logging(logs)
    seen: list[CrashReport] = []
    install_excepthook(seen.append)
    try:
        {}["missing"]
    except KeyError:
        report = report_crash(sys.exc_info())  # type: ignore[arg-type]
    assert seen == [report]
    assert not report.expected and report.error == "KeyError: 'missing'"
    assert report.log_path == logs / LOG_FILE_NAME
    assert report.report_path is not None and report.report_path.parent == logs
    text = report.report_path.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "KeyError: 'missing'" in text
    assert "test_report_crash_writes_a_report_and_notifies" in text
    summary = report.summary()
    assert str(report.report_path) in summary and str(report.log_path) in summary
    assert "unhandled exception in thread MainThread" in (logs / LOG_FILE_NAME).read_text(encoding="utf-8")


def test_companion_error_is_shown_with_its_advice(logs: Path) -> None:
    setup_logging(logs)
    seen: list[CrashReport] = []
    install_excepthook(seen.append)
    try:
        raise CatalogError("cannot open the catalog x.db: file is not a database — move it aside")
    except CatalogError:
        report_crash(sys.exc_info())  # type: ignore[arg-type]
    (report,) = seen
    assert report.expected
    assert report.error == "cannot open the catalog x.db: file is not a database — move it aside"
    assert report.summary().startswith("SampleMind Companion stopped: cannot open the catalog")


def test_worker_thread_crash_is_reported_and_the_process_goes_on(logs: Path) -> None:
    setup_logging(logs)
    seen: list[CrashReport] = []
    install_excepthook(seen.append)

    def work() -> None:
        raise RuntimeError("analysis worker failed")

    worker = threading.Thread(target=work, name="analysis-worker")
    worker.start()
    worker.join()
    (report,) = seen
    assert report.thread == "analysis-worker"
    assert report.error == "RuntimeError: analysis worker failed"
    assert report.report_path is not None and report.report_path.exists()


def test_failing_notifier_falls_back_to_stderr(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(logs)

    def broken(report: CrashReport) -> None:
        raise RuntimeError("no display")

    install_excepthook(broken)
    try:
        raise ValueError("bad value")
    except ValueError:
        report = report_crash(sys.exc_info())  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "ValueError: bad value" in err and str(report.report_path) in err
    assert "the crash notifier failed" in (logs / LOG_FILE_NAME).read_text(encoding="utf-8")


def test_old_crash_reports_are_pruned(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_logging(logs)
    install_excepthook(lambda report: None)
    monkeypatch.setattr(logging_setup, "MAX_CRASH_REPORTS", 3)
    for i in range(5):
        stale = logs / f"crash-2000010{i}-000000-1.txt"
        stale.write_text("old")
        os.utime(stale, (946684800 + i, 946684800 + i))
    try:
        raise ValueError("new")
    except ValueError:
        report = report_crash(sys.exc_info())  # type: ignore[arg-type]
    left = sorted(p.name for p in logs.glob("crash-*.txt"))
    assert len(left) == 3 and report.report_path is not None and report.report_path.name in left
    assert "crash-20000100-000000-1.txt" not in left


def test_unhandled_exception_in_a_process_tells_the_user_where_the_log_is(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    script = textwrap.dedent(
        f"""
        import logging
        from pathlib import Path
        from companion.logging_setup import install_excepthook, setup_logging
        setup_logging(Path({str(folder)!r}))
        install_excepthook()
        logging.getLogger("companion.demo").info("about to fail")
        raise ZeroDivisionError("tempo of zero beats")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "SampleMind Companion hit an unexpected error: ZeroDivisionError: tempo of zero beats" in proc.stderr
    assert f"Log: {folder / LOG_FILE_NAME}" in proc.stderr
    (crash,) = folder.glob("crash-*.txt")
    assert f"Details: {crash}" in proc.stderr
    text = crash.read_text(encoding="utf-8")
    assert "ZeroDivisionError: tempo of zero beats" in text and "about to fail" in text
    assert "unhandled exception in thread MainThread" in (folder / LOG_FILE_NAME).read_text(encoding="utf-8")
