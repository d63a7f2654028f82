"""Instrument-aware ranking (fusion rules format 2) on a real catalog of the Sonic Pi and LMMS
libraries: the cold-start spread, "more like this" by instrument, and ``--instrument``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from companion.engine import Engine
from companion.library.catalog import Catalog
from companion.library.scanner import scan
from companion.music.keys import compatible, parse_key
from companion.ranking.rules import load_default_rules, load_packaged_rules
from tests.conftest import invoke_cli

V1 = load_packaged_rules(1)


@pytest.fixture(scope="module")
def library_db(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path, lmms: Path) -> Path:
    """Both Debian libraries scanned once into one catalog (≈400 files, ≈15 s on 2 cores)."""
    db = tmp_path_factory.mktemp("sonic_lmms") / "library.db"
    with Catalog.open(db) as cat:
        report = scan(cat, [sonic_pi, lmms], workers=2)
    assert report.problems == 0 and report.analysed > 350
    return db


@pytest.fixture()
def engine(library_db: Path):
    eng = Engine(Catalog.open(library_db), rules=load_default_rules())
    yield eng
    eng.close()


def fits(s, bpm: float, key: str) -> bool:
    """Tempo- and key-compatible with the session, or a one-shot (tempo-free)."""
    if s.kind == "loop" and s.bpm is not None and min(abs(s.bpm * m - bpm) for m in (0.5, 1, 2)) > 5:
        return False
    return s.key is None or (s.kind == "one-shot" and s.key is None) or compatible(parse_key(s.key), parse_key(key))


def test_cold_start_spreads_the_top_10_across_instruments(engine: Engine) -> None:
    engine.context.update("manual", bpm=124.0, key="A minor")
    top = engine.suggest(top_k=10, mode="fusion")
    assert len(top) == 10 and all(s.source == "recency" for s in top)  # no target: cold start
    assert all(fits(s, 124.0, "A minor") for s in top), [(s.name, s.bpm, s.key) for s in top]
    known = [s.instrument for s in top if s.instrument is not None]
    assert len(set(known)) >= 5, [s.instrument for s in top]
    assert max(Counter(s.instrument for s in top).values()) <= 2  # unknown counted as one
    # what a producer reaches for: a drum loop, drum hits and a bass are all there
    assert "drums" in known and "bass" in known and {"kick", "snare", "hihat", "clap"} & set(known)
    for s in top:
        assert "instrument" in s.score_components
        if s.score_components["instrument"] > 0:
            assert f"instrument mix: {s.instrument}" in s.rationale


def test_no_context_is_never_a_list_of_single_cycle_waveforms(engine: Engine) -> None:
    top = engine.suggest(top_k=10, mode="rules")
    assert len(top) == 10
    tiny_unknown = [s for s in top if s.instrument is None and _duration(engine, s.sample_id) < 0.5]
    assert len(tiny_unknown) <= 2, [s.name for s in top]
    assert len({s.instrument for s in top if s.instrument}) >= 5


def test_format_1_rules_rank_without_instruments(library_db: Path) -> None:
    eng = Engine(Catalog.open(library_db), rules=V1)
    try:
        eng.context.update("manual", bpm=124.0, key="A minor")
        top = eng.suggest(top_k=10)
    finally:
        eng.close()
    assert all("instrument" not in s.score_components for s in top)
    assert not any(r.startswith(("instrument mix", "same instrument")) for s in top for r in s.rationale)


def test_more_like_this_prefers_the_instrument_of_the_accepted_sample(engine: Engine, sonic_pi: Path) -> None:
    engine.accept_path(sonic_pi / "bd_haus.flac", record=False)
    top = engine.suggest(top_k=5, mode="fusion")
    assert top and all(s.source == "fingerprint" for s in top)
    kicks = [s for s in top if s.instrument == "kick"]
    assert len(kicks) >= 3, [(s.name, s.instrument) for s in top]
    for s in top:
        boosted = s.instrument == "kick"
        assert s.score_components["instrument"] == pytest.approx(0.10 if boosted else 0.0)
        assert ("same instrument: kick" in s.rationale) == boosted
        assert s.score == pytest.approx(sum(s.score_components.values()))


def test_similar_ranks_the_query_instrument_first(library_db: Path, engine: Engine, sonic_pi: Path) -> None:
    query = str(sonic_pi / "bd_808.flac")  # its fingerprint neighbours include basses and a tom
    v2 = engine.similar([query], top_k=8)[query]
    eng1 = Engine(Catalog.open(library_db), rules=V1)
    try:
        v1 = eng1.similar([query], top_k=8)[query]
    finally:
        eng1.close()
    kicks_v1 = sum(n["instrument"] == "kick" for n in v1)
    kicks_v2 = sum(n["instrument"] == "kick" for n in v2)
    assert kicks_v2 > kicks_v1 and v2[0]["instrument"] == "kick", (v1, v2)
    assert [n["score"] for n in v2] == sorted((n["score"] for n in v2), reverse=True)


def test_suggest_instrument_is_a_hard_filter_for_that_call(library_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECS_USE_CLAP", "false")
    args = ["suggest", "--bpm", "124", "--key", "Am", "--top-k", "8", "--library-db", str(library_db), "--json"]
    code, out, err = invoke_cli(*args, "--instrument", "sub")  # a synonym of bass
    assert code == 0, err
    sugg = json.loads(out)["suggestions"]
    assert len(sugg) >= 3 and {s["instrument"] for s in sugg} == {"bass"}
    _, out, _ = invoke_cli(*args)  # the next call is not filtered
    assert len({s["instrument"] for s in json.loads(out)["suggestions"]}) > 1
    code, _, err = invoke_cli(*args, "--instrument", "kazoo")
    assert code == 1 and "unknown instrument 'kazoo'" in " ".join(err.split())


def _duration(engine: Engine, sample_id: int) -> float:
    row = engine.catalog.get(sample_id)
    assert row is not None and row.duration_s is not None
    return row.duration_s
