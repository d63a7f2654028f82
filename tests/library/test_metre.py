"""The metre of a loop in the catalog: ``beats_per_bar`` in ``companion list``, and what a
tempo correction does to it.

Two written loops (a waltz and a backbeat groove at SR 22.05 kHz, the grooves of the tempo
tests) scanned into a real SQLite catalog; the CLI runs in process through typer's runner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from companion.library.catalog import Catalog
from companion.library.scanner import scan
from tests.analysis.test_tempo import SR, _groove
from tests.conftest import invoke_cli


@pytest.fixture()
def library(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "Loops"
    root.mkdir()
    sf.write(root / "waltz_groove.wav", _groove(120.0, 4, meter=3), SR)  # 4 bars of 3/4: 6.0 s
    sf.write(root / "backbeat_groove.wav", _groove(100.0, 2), SR)  # 2 bars of 4/4: 4.8 s
    db = tmp_path / "library.db"
    with Catalog.open(db) as cat:
        assert scan(cat, [root], workers=1).analysed == 2
    return root, db


def test_list_gives_the_metre_and_a_tempo_correction_clears_it(library: tuple[Path, Path]) -> None:
    root, db = library
    code, out, err = invoke_cli("list", "--library-db", str(db), "--json")
    assert code == 0, err
    rows = {Path(r["path"]).name: r for r in json.loads(out)}
    waltz, groove = rows["waltz_groove.wav"], rows["backbeat_groove.wav"]
    assert (waltz["beats_per_bar"], waltz["bpm"]) == (3, pytest.approx(120.0, rel=0.04))
    assert (groove["beats_per_bar"], groove["bpm"]) == (4, pytest.approx(100.0, rel=0.04))
    code, out, _ = invoke_cli("list", "--library-db", str(db))
    assert code == 0
    line = next(line for line in out.splitlines() if "waltz_groove" in line)
    assert "(3/4)" in line
    assert "(3/4)" not in next(line for line in out.splitlines() if "backbeat_groove" in line)
    # the producer's tempo wins, and the estimated metre no longer describes it
    code, out, err = invoke_cli(
        "set", str(root / "waltz_groove.wav"), "--bpm", "160", "--library-db", str(db), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["bpm"], doc["bpm_source"], doc["beats_per_bar"]) == (160.0, "user", None)
