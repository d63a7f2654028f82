"""A scan says in the log what it does: its start, each phase with its total, its end with the
counts, and one warning per file it could not read."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

import pytest

from companion.library.catalog import Catalog
from companion.library.scanner import scan

LOGGER = "companion.library.scanner"
NAMES = ("bd_haus.flac", "sn_dolf.flac", "elec_blip.flac")


def _pack(tmp_path: Path, sonic_pi: Path) -> Path:
    folder = tmp_path / "pack"
    folder.mkdir()
    for n in NAMES:
        shutil.copy2(sonic_pi / n, folder / n)
    (folder / "garbage.wav").write_bytes(b"RIFF\x00\x00\x00\x00not a wave file at all" * 20)
    return folder


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def test_a_scan_logs_its_start_phases_end_and_problems(
    tmp_path: Path, sonic_pi: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _pack(tmp_path, sonic_pi)
    caplog.set_level(logging.INFO, logger=LOGGER)
    with Catalog.open(tmp_path / "lib.db") as catalog:
        report = scan(catalog, [folder], workers=1)
    assert report.problems == 1 and report.analysed == 3
    info = _messages(caplog, logging.INFO)
    assert info[0] == f"scan started: {folder.resolve()} (1 workers)"
    assert any(m.startswith("phase index started") for m in info)
    assert any(m.startswith("phase analyse started: 4 files to analyse (4 found: 4 new") for m in info)
    end = info[-1]
    assert end.startswith("scan finished in ") and " s: 4 new, 0 changed, 0 unchanged, 0 missing, 3 analysed" in end
    assert "1 problems" in end
    warnings = _messages(caplog, logging.WARNING)
    assert len(warnings) == 1 and str(folder.resolve() / "garbage.wav") in warnings[0]


def test_indexing_reports_progress_from_its_start_and_while_walking(tmp_path: Path, sonic_pi: Path) -> None:
    seen: list[tuple[str, int, int | None]] = []
    stop = threading.Event()
    stop.set()  # index only: the analysis stops before its first file
    with Catalog.open(tmp_path / "lib.db") as catalog:
        report = scan(
            catalog, [sonic_pi], workers=1, stop=stop, progress=lambda p: seen.append((p.phase, p.done, p.total))
        )
    assert report.found > 100 and report.interrupted
    index = [s for s in seen if s[0] == "index"]
    assert index[0] == ("index", 0, None)  # at once, before the first file
    walking = [done for _, done, total in index if total is None and 0 < done < report.found]
    assert walking  # while walking, not only at the end
    assert index[-1] == ("index", report.found, report.found)
