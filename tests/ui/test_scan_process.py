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


def _pack(tmp_path: Path, sonic_pi: Path, names: tuple[str, ...]) -> Path:
    folder = tmp_path / "pack"
    folder.mkdir()
    for n in names:
        shutil.copy2(sonic_pi / n, folder / n)
    return folder


def _settings(tmp_path: Path):
    from companion.settings import SettingsStore

    return SettingsStore(tmp_path / "settings.json", environment=False).settings


def test_given_the_sessions_clap_model_the_scan_process_embeds_the_library(
    tmp_path: Path, sonic_pi: Path, tiny_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The spec of the model a session loaded (folder, int8/fp32) goes to the child, which loads
    it after the analysis and embeds every analysed file; its log reaches the app."""
    from companion.app.clap import ClapSpec, load_text_embedder

    settings = _settings(tmp_path)
    loaded = load_text_embedder(settings, tiny_model)  # as the session loads it
    spec = ClapSpec.of(loaded.embedder, settings)
    assert spec is not None and spec.folder == tiny_model and spec.precision == loaded.embedder.precision
    folder = _pack(tmp_path, sonic_pi, ("bd_haus.flac", "sn_dolf.flac", "loop_amen.flac"))
    seen = []
    caplog.set_level(logging.INFO)
    caplog.clear()  # only the scan's records from here on
    report = ScanProcess(tmp_path / "lib.db", [str(folder)], workers=1, on_progress=seen.append, clap=spec).run()
    assert report.analysed == 3 and report.embedded == 3 and not report.errors
    phases = [p.phase for p in seen]
    assert phases.index("analyse") < phases.index("embed") < phases.index("vectors")  # embedded after the analysis
    assert [(p.done, p.total) for p in seen if p.phase == "embed"][-1] == (3, 3)
    with Catalog.open(tmp_path / "lib.db") as catalog:
        assert catalog.embedding_coverage()[loaded.embedder.space] == (3, 3)
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"CLAP model {loaded.embedder.space} loaded") for m in lines), lines  # loaded in the child
    assert any(m.startswith("phase embed started") for m in lines)
    assert any(m.startswith("phase embed finished") and "3 of 3 embedded, 0 failed" in m for m in lines), lines


def test_without_a_model_the_scan_process_does_not_embed(tmp_path: Path, sonic_pi: Path) -> None:
    folder = _pack(tmp_path, sonic_pi, ("bd_haus.flac", "sn_dolf.flac"))
    seen = []
    report = ScanProcess(tmp_path / "lib.db", [str(folder)], workers=1, on_progress=seen.append).run()
    assert report.analysed == 2 and report.embedded == 0
    assert "embed" not in {p.phase for p in seen}
    with Catalog.open(tmp_path / "lib.db") as catalog:
        assert not [s for s in catalog.embedding_coverage() if s.startswith("clap")]


def test_a_model_the_scan_process_cannot_load_is_logged_and_the_scan_goes_on(
    tmp_path: Path, sonic_pi: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from companion.app.clap import ClapSpec

    folder = _pack(tmp_path, sonic_pi, ("bd_haus.flac", "sn_dolf.flac"))
    gone = ClapSpec(tmp_path / "deleted-model", "fp32", _settings(tmp_path))  # removed since the session loaded it
    caplog.set_level(logging.INFO)
    report = ScanProcess(tmp_path / "lib.db", [str(folder)], workers=1, clap=gone).run()
    assert report.analysed == 2 and report.embedded == 0 and not report.interrupted
    warnings = [r.getMessage() for r in caplog.records if r.name == "companion.ui.scan_process"]
    assert len(warnings) == 1 and warnings[0].startswith(f"cannot load the CLAP model {tmp_path / 'deleted-model'}")
    assert "scanning without embedding" in warnings[0]
