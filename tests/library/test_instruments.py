"""Instruments in the catalog: fields, the producer's corrections, filters and search.

Real Sonic Pi files and one written tone (a file whose name says nothing) scanned into a real
SQLite catalog; the CLI runs in process through typer's runner.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from companion.analysis.instruments import INSTRUMENTS
from companion.library.catalog import Catalog
from companion.library.db import MIGRATIONS, SCHEMA_VERSION, _split_sql
from companion.library.scanner import scan
from companion.library.search import UnknownInstrumentError
from tests.conftest import copy_samples, invoke_cli, write_tone

NAMES = [
    "bd_haus.flac",
    "bd_boom.flac",
    "sn_dub.flac",
    "drum_cymbal_closed.flac",
    "loop_amen.flac",
    "bass_hit_c.flac",
    "ambi_drone.flac",
    "elec_blip.flac",
]


@pytest.fixture()
def library(tmp_path: Path, sonic_pi: Path) -> tuple[Path, Path]:
    """``(folder, catalog)``: the Sonic Pi files above and ``mystery.wav``, scanned."""
    root = tmp_path / "Samples"
    copy_samples(sonic_pi, root, NAMES)
    write_tone(root / "mystery.wav", 220.0, seconds=1.0)
    db = tmp_path / "library.db"
    with Catalog.open(db) as cat:
        report = scan(cat, [root], workers=2)
    assert report.analysed == len(NAMES) + 1 and report.problems == 0
    return root, db


def by_name(db: Path, *args: str) -> dict[str, dict]:
    code, out, err = invoke_cli("list", "--library-db", str(db), "--json", *args)
    assert code == 0, err
    return {Path(r["path"]).name: r for r in json.loads(out)}


def test_list_json_shows_the_instrument_with_its_source(library: tuple[Path, Path]) -> None:
    _, db = library
    rows = by_name(db)
    assert set(rows["bd_haus.flac"]) >= {"instrument", "instrument_source", "instrument_confidence"}
    assert rows["bd_haus.flac"]["instrument"] == "kick" and rows["bd_haus.flac"]["instrument_source"] == "name"
    assert 0.0 < rows["bd_haus.flac"]["instrument_confidence"] <= 1.0
    assert rows["sn_dub.flac"]["instrument"] == "snare"
    assert rows["loop_amen.flac"]["instrument"] == "drums"
    assert rows["bass_hit_c.flac"]["instrument"] == "bass"
    for row in rows.values():
        assert row["instrument"] is None or row["instrument"] in INSTRUMENTS
        if row["instrument"] is None:  # no source or confidence for an unknown instrument
            assert row["instrument_source"] is None and row["instrument_confidence"] is None


def test_set_instrument_takes_synonyms_and_wins_over_rescans_and_reanalysis(library: tuple[Path, Path]) -> None:
    root, db = library
    blip = root / "elec_blip.flac"
    code, out, err = invoke_cli("set", str(blip), "--instrument", "BD", "--library-db", str(db), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["instrument"], doc["instrument_source"], doc["instrument_confidence"]) == ("kick", "user", 1.0)
    # a later correction of another field keeps the instrument
    code, _, err = invoke_cli("set", str(blip), "--kind", "one-shot", "--library-db", str(db))
    assert code == 0, err
    # a rescan, then a re-analysis (as after an ANALYSIS_VERSION bump), keep the correction
    with Catalog.open(db) as cat:
        scan(cat, [root], workers=1)
        cat.conn.execute("UPDATE analyses SET analyser_version = 'older'")
        report = scan(cat, [root], workers=2)
        assert report.analysed == len(NAMES) + 1  # really analysed again
        row = cat.find(blip)
        assert row is not None and (row.instrument, row.instrument_source) == ("kick", "user")
        # the ranker's input carries it too
        cols = cat.candidate_columns()
        instrument = dict(zip(cols.names, cols.instrument, strict=True))
        assert instrument["elec_blip.flac"] == "kick"
        assert instrument["bd_haus.flac"] == "kick"
        mystery = cat.find(root / "mystery.wav")
        assert mystery is not None and instrument["mystery.wav"] == mystery.instrument


def test_set_refuses_an_unknown_instrument_and_lists_the_valid_ones(library: tuple[Path, Path]) -> None:
    root, db = library
    code, _, err = invoke_cli(
        "set", str(root / "elec_blip.flac"), "--instrument", "didgeridoo", "--library-db", str(db)
    )
    assert code == 1
    flat = " ".join(err.split())  # rich wraps long lines
    assert "unknown instrument 'didgeridoo'" in flat
    assert all(name in flat for name in ("kick", "snare", "hihat", "bass", "pad", "vocal", "fx"))
    with Catalog.open(db) as cat:
        row = cat.find(root / "elec_blip.flac")
        assert row is not None and row.instrument_source != "user"
        with pytest.raises(UnknownInstrumentError):
            cat.set_override(root / "elec_blip.flac", instrument="didgeridoo")
        with pytest.raises(UnknownInstrumentError):
            list(cat.rows(instrument="didgeridoo"))


def of(db: Path, instrument: str) -> set[str]:
    """Names of the samples whose instrument (name, estimate or correction) is ``instrument``."""
    return {name for name, row in by_name(db).items() if row["instrument"] == instrument}


def test_list_instrument_filter_accepts_synonyms(library: tuple[Path, Path]) -> None:
    root, db = library
    kicks = of(db, "kick")
    assert kicks >= {"bd_haus.flac", "bd_boom.flac"} and "sn_dub.flac" not in kicks
    assert set(by_name(db, "--instrument", "kick")) == kicks
    assert set(by_name(db, "--instrument", "bd")) == kicks
    assert set(by_name(db, "--instrument", "drum")) == of(db, "drums") >= {"loop_amen.flac"}
    invoke_cli("set", str(root / "mystery.wav"), "--instrument", "sub", "--library-db", str(db))
    basses = set(by_name(db, "--instrument", "bass"))
    assert basses == of(db, "bass") >= {"bass_hit_c.flac", "mystery.wav"}
    code, _, err = invoke_cli("list", "--instrument", "banjoist", "--library-db", str(db))
    assert code == 1 and "unknown instrument" in err


def test_search_words_match_instruments_through_synonyms(library: tuple[Path, Path]) -> None:
    root, db = library
    # "kick" finds Sonic Pi's bd_* files, whose names never say kick
    assert set(by_name(db, "kick")) == of(db, "kick") >= {"bd_haus.flac", "bd_boom.flac"}
    # "bd" finds a kick whose name says nothing of the sort (here the producer named it)
    invoke_cli("set", str(root / "mystery.wav"), "--instrument", "kick", "--library-db", str(db))
    assert set(by_name(db, "bd")) == of(db, "kick") >= {"bd_haus.flac", "bd_boom.flac", "mystery.wav"}
    assert set(by_name(db, "hats")) == of(db, "hihat") >= {"drum_cymbal_closed.flac"}
    # a word that only hints at a catch-all class finds its sound, not the whole class
    assert set(by_name(db, "amen")) == {"loop_amen.flac"}
    assert set(by_name(db, "drums")) == of(db, "drums")
    # every word must match; a plain word still matches names and folders
    assert set(by_name(db, "kick haus")) == {"bd_haus.flac"}
    assert set(by_name(db, "blip")) == {"elec_blip.flac"}
    with Catalog.open(db) as cat:  # the same matcher behind the app's search without CLAP
        assert {r.name for r in cat.rows(query="Kick", status="analysed")} == of(db, "kick")


def test_a_schema_1_catalog_migrates_and_keeps_its_corrections(tmp_path: Path) -> None:
    import sqlean

    db = tmp_path / "old.db"
    old = sqlean.connect(str(db), isolation_level=None)  # a catalog as schema 1 left it
    for statement in _split_sql(MIGRATIONS[0]):
        old.execute(statement)
    old.execute("PRAGMA user_version=1")
    old.execute("INSERT INTO overrides (content_hash, bpm, updated_at) VALUES ('abc', 128.0, ?)", (time.time(),))
    old.close()
    with Catalog.open(db) as cat:
        assert cat.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert cat.conn.execute("SELECT bpm, instrument FROM overrides").fetchall() == [(128.0, None)]
