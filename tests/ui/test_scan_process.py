"""Scans run in a spawned process: progress comes back, stop keeps finished work, errors surface."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest

from companion.errors import CompanionError
from companion.library.catalog import Catalog
from companion.ui.scan_process import ScanProcess


def test_scan_process_reports_progress_and_result(tmp_path: Path, sonic_pi: Path):
    folder = tmp_path / "pack"
    folder.mkdir()
    for n in ("bd_haus.flac", "sn_dolf.flac", "elec_blip.flac"):
        shutil.copy2(sonic_pi / n, folder / n)
    seen = []
    caller = threading.current_thread()
    threads = set()

    def on_progress(p) -> None:
        seen.append((p.phase, p.done, p.total))
        threads.add(threading.current_thread())

    report = ScanProcess(tmp_path / "lib.db", [str(folder)], workers=1, on_progress=on_progress).run()
    assert report.new == 3 and report.analysed == 3 and not report.interrupted
    assert ("analyse", 3, 3) in seen
    assert threads == {caller}  # progress is relayed on the calling thread
    with Catalog.open(tmp_path / "lib.db") as catalog:
        assert catalog.count("analysed") == 3


def test_stop_ends_the_scan_and_the_next_one_resumes(tmp_path: Path, sonic_pi: Path):
    folder = tmp_path / "pack"
    folder.mkdir()
    names = ["loop_amen.flac", "loop_garzul.flac", "loop_mika.flac", "bd_haus.flac", "sn_dolf.flac", "elec_blip.flac"]
    for n in names:
        shutil.copy2(sonic_pi / n, folder / n)
    proc = ScanProcess(tmp_path / "lib.db", [str(folder)], workers=1)
    proc.on_progress = lambda p: proc.stop() if p.phase == "analyse" and p.done >= 1 else None
    first = proc.run()
    assert first.interrupted and 1 <= first.analysed < len(names) and first.pending_left > 0
    second = ScanProcess(tmp_path / "lib.db", [str(folder)], workers=1).run()
    assert second.analysed == len(names) - first.analysed and second.pending_left == 0


def test_scan_errors_are_raised_in_the_app(tmp_path: Path):
    with pytest.raises(CompanionError, match="nothing to scan"):
        ScanProcess(tmp_path / "lib.db", [str(tmp_path / "no-such-folder")], workers=1).run()


def test_the_scan_process_relays_its_log_to_the_app(
    tmp_path: Path, sonic_pi: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    for n in ("bd_haus.flac", "sn_dolf.flac"):
        shutil.copy2(sonic_pi / n, folder / n)
    (folder / "garbage.wav").write_bytes(b"RIFF\x00\x00\x00\x00not a wave file at all" * 20)
    caplog.set_level(logging.INFO, logger="companion.library.scanner")
    ScanProcess(tmp_path / "lib.db", [str(folder)], workers=1).run()
    info = [
        r.getMessage() for r in caplog.records if r.name == "companion.library.scanner" and r.levelno == logging.INFO
    ]
    assert info and info[0].startswith("scan started:") and info[-1].startswith("scan finished in ")
    assert [r.levelno for r in caplog.records if r.name == "companion.library.scanner"].count(logging.WARNING) == 1


def test_the_panel_names_the_phase_from_the_first_progress_report(make_window, qtbot, tmp_path: Path, sonic_pi: Path):
    from tests.ui.conftest import wait_until

    window = make_window()
    c = window.controller
    folder = tmp_path / "new pack"
    folder.mkdir()
    for n in ("loop_amen.flac", "bd_haus.flac", "sn_dolf.flac"):
        shutil.copy2(sonic_pi / n, folder / n)
    texts: list[tuple[str, str]] = []
    started: list[str] = []
    c.scan_started.connect(lambda: started.append(window.library.progress_text.text()))
    # connected after the window's own slot, so the panel has already shown the report
    c.scan_progress.connect(lambda p: texts.append((p.phase, window.library.progress_text.text())))
    finished: list[object] = []
    c.scan_finished.connect(lambda report, error: finished.append(report))
    c.library.start_scan([str(folder)])
    wait_until(qtbot, lambda: bool(finished), timeout_s=60)
    assert started and started[0].startswith("Finding files")  # never an empty bar
    assert texts and texts[0][0] == "index" and texts[0][1].startswith("Finding files… ")
    analysing = [t for phase, t in texts if phase == "analyse"]
    assert analysing and analysing[-1].startswith("Analysing 3 / 3")


def test_files_count_in_the_library_once_indexed_before_their_analysis(
    make_window, qtbot, tmp_path: Path, sonic_pi: Path
):
    """The library counts read again when indexing ends: new files show as waiting for analysis
    while the scan analyses them, not only after it."""
    from tests.ui.conftest import wait_until

    window = make_window()
    c = window.controller
    folder = tmp_path / "big pack"
    folder.mkdir()
    names = sorted(p.name for p in sonic_pi.glob("*.flac"))[:12]
    for n in names:
        shutil.copy2(sonic_pi / n, folder / n)
    finished: list[object] = []
    infos: list[tuple[bool, dict]] = []  # (scan finished yet?, stats)
    c.library_info.connect(lambda stats, problems: infos.append((bool(finished), stats)))
    c.scan_finished.connect(lambda report, error: finished.append(report))
    c.library.start_scan([str(folder)])
    wait_until(qtbot, lambda: bool(finished), timeout_s=120)
    during = [stats for done, stats in infos if not done]
    assert any(stats["by_status"].get("pending", 0) > 0 for stats in during), during
    wait_until(qtbot, lambda: "waiting for analysis" not in window.library.stats.text())
