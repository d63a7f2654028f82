"""The scanner on real audio: Sonic Pi files, written files, corrupt files, moves, kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from companion.library import vectors
from companion.library.catalog import Catalog
from companion.library.db import connect
from companion.library.scanner import scan
from tests.conftest import copy_samples, write_tone

SMALL_SET = [
    "bd_haus.flac",
    "sn_dub.flac",
    "drum_cymbal_closed.flac",
    "loop_amen.flac",
    "bass_hit_c.flac",
    "ambi_choir.flac",
    "elec_blip.flac",
    "loop_compus.flac",
]


@pytest.fixture()
def library(tmp_path: Path, sonic_pi: Path) -> Path:
    root = tmp_path / "Samples"
    copy_samples(sonic_pi, root / "Drums", SMALL_SET[:3])
    copy_samples(sonic_pi, root / "Loops", SMALL_SET[3:])
    return root


def test_scan_lists_analyses_and_fingerprints(tmp_path: Path, library: Path):
    with Catalog.open(tmp_path / "lib.db") as cat:
        report = scan(cat, [library], workers=2)
        assert report.found == len(SMALL_SET)
        assert report.analysed == len(SMALL_SET) and report.problems == 0
        rows = {r.name: r for r in cat.rows()}
        assert set(rows) == set(SMALL_SET)
        assert all(r.status == "analysed" for r in rows.values())
        amen = rows["loop_amen.flac"]
        assert amen.kind == "loop" and amen.bpm is not None
        assert 0.5 < amen.duration_s < 3.0
        assert "loops" in amen.tags and "amen" in amen.tags
        assert rows["bd_haus.flac"].kind == "one-shot" and rows["bd_haus.flac"].bpm is None
        ids, vecs = vectors.load_space(cat.conn, "fingerprint/v1")
        assert len(ids) == len(SMALL_SET) and vecs.shape == (len(SMALL_SET), 512)
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
        # every stored vector is queued for upload once
        assert cat.conn.execute("SELECT COUNT(*) FROM outbox WHERE kind='embedding'").fetchone()[0] == len(SMALL_SET)
        assert cat.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_rescan_skips_unchanged_and_reuses_moved_content(tmp_path: Path, library: Path):
    with Catalog.open(tmp_path / "lib.db") as cat:
        scan(cat, [library], workers=1)
        before = {r.name: r for r in cat.rows()}
        again = scan(cat, [library], workers=1)
        assert again.unchanged == len(SMALL_SET) and again.analysed == 0 and again.reused == 0

        moved = library / "Moved" / "kick.flac"
        moved.parent.mkdir()
        os.rename(library / "Drums" / "bd_haus.flac", moved)
        (library / "Loops" / "elec_blip.flac").unlink()
        report = scan(cat, [library], workers=1)
        assert report.missing == 2 and report.reused == 1 and report.analysed == 0
        new = cat.find(moved)
        assert new is not None and new.status == "analysed"
        assert new.content_hash == before["bd_haus.flac"].content_hash
        assert new.duration_s == before["bd_haus.flac"].duration_s
        assert cat.find(library / "Loops" / "elec_blip.flac").status == "missing"


def test_corrupt_and_empty_files_become_problems_and_scan_goes_on(tmp_path: Path, library: Path):
    (library / "Drums" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")
    (library / "Drums" / "empty.flac").write_bytes(b"")
    (library / "Drums" / "text.mp3").write_text("not audio at all " * 100)
    with Catalog.open(tmp_path / "lib.db") as cat:
        report = scan(cat, [library], workers=2)
        assert report.problems == 3 and report.analysed == len(SMALL_SET)
        problems = {Path(p["path"]).name: p for p in cat.problems()}
        assert set(problems) == {"broken.wav", "empty.flac", "text.mp3"}
        assert all(p["reason"] for p in problems.values())
        # fixing the file clears its problem on the next scan
        write_tone(library / "Drums" / "broken.wav")
        report = scan(cat, [library], workers=1)
        assert report.analysed == 1
        assert "broken.wav" not in {Path(p["path"]).name for p in cat.problems()}


def test_user_corrections_win_and_survive_rescans(tmp_path: Path, library: Path):
    from companion.music.keys import parse_key

    with Catalog.open(tmp_path / "lib.db") as cat:
        scan(cat, [library], workers=1)
        target = library / "Loops" / "loop_compus.flac"
        row = cat.set_override(target, bpm=128.0, key=parse_key("F#m"), kind="loop")
        assert (row.bpm, row.bpm_source, row.key, row.key_source) == (128.0, "user", "F# minor", "user")
        os.utime(target, ns=(time.time_ns(), time.time_ns()))  # touched: rehashed, not re-analysed
        report = scan(cat, [library], workers=1)
        assert report.changed == 1 and report.reused == 1
        row = cat.find(target)
        assert (row.bpm, row.key) == (128.0, "F# minor")


def test_names_findable_before_analysis(tmp_path: Path, library: Path):
    from companion.library.scanner import ScanReport, index_root

    with Catalog.open(tmp_path / "lib.db") as cat:
        report = ScanReport(roots=[str(library)])
        index_root(cat, library.resolve(), report, None)
        hits = list(cat.rows(query="drums"))
        assert {r.name for r in hits} == set(SMALL_SET[:3])
        assert all(r.status == "pending" and r.kind is None for r in hits)


def _analysed_at(db: Path) -> dict[str, float]:
    conn = connect(db, readonly=True)
    try:
        return dict(conn.execute("SELECT path, analysed_at FROM samples WHERE status = 'analysed'").fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_scan_resumes_without_redoing_finished_files(tmp_path: Path, sonic_pi: Path, sig):
    root = tmp_path / "lib"
    # all of Sonic Pi's FLACs (165): results are written every second or 64 files, and with 60
    # files a fast scan could finish in the moment between the first write and the kill
    names = sorted(p.name for p in sonic_pi.glob("*.flac"))
    copy_samples(sonic_pi, root, names)
    db = tmp_path / "lib.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "scan", str(root), "--library-db", str(db), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 120
    done: dict[str, float] = {}
    while time.time() < deadline:
        if db.exists():
            try:
                done = _analysed_at(db)
            except Exception:  # noqa: BLE001 - the catalog may still be being created
                done = {}
        if len(done) >= 5:
            break
        time.sleep(0.2)
    assert len(done) >= 5, proc.stderr.read().decode() if proc.poll() is not None else "scan too slow"
    assert proc.poll() is None, f"the scan finished ({len(done)} of {len(names)} written) before it could be killed"
    os.killpg(proc.pid, sig)
    rc = proc.wait(timeout=60)
    assert rc != 0
    conn = connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    finished = _analysed_at(db)
    assert len(finished) < len(names)
    with Catalog.open(db) as cat:
        report = scan(cat, [root], workers=2)
        assert report.analysed + report.reused == len(names) - len(finished)
        after = _analysed_at(db)
    assert len(after) == len(names)
    for path, when in finished.items():
        assert after[path] == when, f"{path} was analysed again"
