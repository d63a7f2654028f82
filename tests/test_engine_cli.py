"""The engine and the CLI end to end on the real Sonic Pi library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from companion.engine import Engine
from companion.library.catalog import Catalog
from companion.library.scanner import scan


@pytest.fixture(scope="module")
def sonic_db(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path) -> Path:
    """The whole Sonic Pi library scanned once into a catalog."""
    db = tmp_path_factory.mktemp("sonic") / "library.db"
    with Catalog.open(db) as cat:
        report = scan(cat, [sonic_pi])
    assert report.problems == 0 and report.analysed == report.found > 150
    return db


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "companion.cli", *args, "--library-db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "RECS_USE_CLAP": "false"},
    )


def test_suggest_json_obeys_tempo_and_key_filters(sonic_db: Path):
    proc = run_cli("suggest", "--bpm", "124", "--key", "A minor", "--top-k", "20", "--json", db=sonic_db)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["context"]["bpm"] == 124
    sugg = doc["suggestions"]
    assert 0 < len(sugg) <= 20
    from companion.music.keys import compatible, parse_key

    am = parse_key("Am")
    for s in sugg:
        if s["kind"] == "loop" and s["bpm"]:
            assert min(abs(s["bpm"] * m - 124) for m in (0.5, 1, 2)) <= 5
        if s["key"]:
            assert compatible(parse_key(s["key"]), am), s
        assert s["rationale"] and set(s["score_components"]) >= {"tempo", "key", "freshness"}
        assert s["source"] == "recency"  # cold start: no accepted sample, no CLAP prompt


def test_suggest_after_accept_uses_fingerprint_similarity(sonic_db: Path, sonic_pi: Path):
    amen = str(sonic_pi / "loop_amen.flac")
    proc = run_cli("suggest", "--bpm", "137", "--accepted", amen, "--top-k", "5", "--json", db=sonic_db)
    assert proc.returncode == 0, proc.stderr
    sugg = json.loads(proc.stdout)["suggestions"]
    assert sugg and all(s["source"] == "fingerprint" for s in sugg)
    assert amen not in {s["path"] for s in sugg}  # accepted samples are not suggested again
    assert any("similar to loop_amen.flac" in r for r in sugg[0]["rationale"])


def test_similar_json_maps_each_query(sonic_db: Path, sonic_pi: Path):
    q1, q2 = str(sonic_pi / "bd_haus.flac"), str(sonic_pi / "sn_dub.flac")
    proc = run_cli("similar", q1, q2, "--top-k", "5", "--json", db=sonic_db)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {q1, q2}
    for query, neighbours in doc.items():
        assert len(neighbours) == 5 and query not in {n["path"] for n in neighbours}
        scores = [n["score"] for n in neighbours]
        assert scores == sorted(scores, reverse=True)


def test_list_json_has_documented_fields(sonic_db: Path):
    proc = run_cli("list", "--json", db=sonic_db)
    rows = json.loads(proc.stdout)
    assert len(rows) > 150
    assert set(rows[0]) >= {
        "path",
        "duration_s",
        "kind",
        "bpm",
        "bpm_source",
        "key",
        "mode",
        "key_source",
        "loudness_lufs",
        "tags",
        "instrument",
        "instrument_source",
        "instrument_confidence",
    }
    drums = [r for r in rows if Path(r["path"]).name.startswith(("bd_", "sn_", "drum_"))]
    assert drums and all(r["bpm"] is None for r in drums if r["kind"] == "one-shot")


def test_unknown_catalog_and_bad_key_give_clear_errors(tmp_path: Path, sonic_db: Path):
    proc = run_cli("suggest", "--bpm", "120", db=tmp_path / "nope.db")
    assert proc.returncode == 1 and "companion scan" in proc.stderr
    proc = run_cli("suggest", "--key", "H# lydian", db=sonic_db)
    assert proc.returncode == 1 and "unknown key" in proc.stderr


def test_decisions_persist_with_their_events(tmp_path: Path, sonic_db: Path, sonic_pi: Path):
    import shutil

    db = tmp_path / "copy.db"
    shutil.copy(sonic_db, db)
    engine = Engine.open(db)
    try:
        engine.context.update("manual", bpm=137.0)
        first = engine.suggest(top_k=3)
        banned = first[0].sample_id
        engine.set_decision(banned, "ban")
        engine.dismiss(first[1].sample_id)
        assert {s.sample_id for s in engine.suggest(top_k=50)}.isdisjoint({banned, first[1].sample_id})
        engine.undismiss(first[1].sample_id)
        assert first[1].sample_id in {s.sample_id for s in engine.suggest(top_k=50)}
        pinned = engine.suggest(top_k=10)[-1].sample_id
        engine.set_decision(pinned, "pin")
        top = engine.suggest(top_k=10)[0]
        assert top.sample_id == pinned and top.pinned
    finally:
        engine.close()
    # a new session still knows the ban and the pin; the dismissal was session-only
    engine = Engine.open(db)
    try:
        assert banned in engine.state.banned_ids and pinned in engine.state.pinned
        types = [r[0] for r in engine.catalog.conn.execute("SELECT type FROM events ORDER BY created_at")]
        assert types == ["ban", "skip", "undo", "pin"]
        queued = engine.catalog.conn.execute("SELECT COUNT(*) FROM outbox WHERE kind='event'").fetchone()[0]
        assert queued == 4
    finally:
        engine.close()
