"""Score terms of fusion rules v1, with values taken from the shipped rules document."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.music.keys import parse_key
from companion.ranking.candidates import Candidates
from companion.ranking.context import SessionContext
from companion.ranking.rules import load_packaged_rules
from companion.ranking.scoring import Scorer

from .synth import DAY, NOW, record

RULES = load_packaged_rules(1)  # format 1 ranks exactly as it always did
S = RULES.score


def _table(records: list[dict], context: SessionContext, sims=None):
    c = Candidates.from_records(records)
    return Scorer(c, context, RULES, NOW).table(np.arange(len(c)), sims)


def test_tempo_boost_within_four_bpm_after_folding() -> None:
    t = _table(
        [
            record(1, bpm=124),
            record(2, bpm=123.5),
            record(3, bpm=64),
            record(4, bpm=132),
            record(5, bpm=128, kind="one-shot"),
            record(6, bpm=None),
        ],
        SessionContext(bpm=128),
    )
    assert t.tempo.tolist() == [S.tempo.boost, 0.0, S.tempo.boost, S.tempo.boost, 0.0, 0.0]
    assert S.tempo.boost == 0.15


def test_key_boost_only_for_exact_key_and_mode_of_pitched_samples() -> None:
    t = _table(
        [
            record(1, key_pc=9, mode="minor"),
            record(2, key_pc=0, mode="major"),
            record(3, key_pc=9, mode="major"),
            record(4, key_pc=9, mode="minor", pitched=False),
        ],
        SessionContext(key=parse_key("A minor")),
    )
    assert t.key.tolist() == [S.key.boost, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("age_days", [0.0, 3.0, 14.0, 28.0, 400.0])
def test_freshness_decays_with_age(age_days: float) -> None:
    t = _table([record(1, added_at=NOW - age_days * DAY)], SessionContext())
    expected = S.freshness.weight * math.exp(-age_days / S.freshness.tau_days)
    assert t.freshness[0] == pytest.approx(expected, rel=1e-12)


def test_freshness_of_a_future_date_is_the_full_weight() -> None:
    t = _table([record(1, added_at=NOW + 5 * DAY)], SessionContext())
    assert t.freshness[0] == S.freshness.weight


def test_tag_boosts_per_match_capped() -> None:
    t = _table(
        [
            record(1, tags=["dark"]),
            record(2, tags=["dark", "warm"]),
            record(3, tags=["dark", "warm", "techno"]),
            record(4, tags=["bright"]),
            record(5, tags=["techno"]),
        ],
        SessionContext(mood_tags=("dark", "warm"), genre="techno"),
    )
    each, cap = S.tags.boost_each, S.tags.max_total
    assert t.tags.tolist() == [each, min(2 * each, cap), cap, 0.0, each]


def test_total_is_the_sum_and_similarity_is_weighted() -> None:
    ctx = SessionContext(bpm=100, key=parse_key("C"), mood_tags=("dark",))
    t = _table(
        [record(1, bpm=101, key_pc=0, mode="major", tags=["dark"], added_at=NOW)],
        ctx,
        sims=np.array([0.5]),
    )
    parts = t.components(0)
    assert parts["similarity"] == S.similarity_weight * 0.5
    assert t.total[0] == pytest.approx(sum(parts.values()))
    assert t.total[0] == pytest.approx(0.5 + 0.15 + 0.10 + 0.05 + 0.05)


def test_boosts_over_the_library_equal_the_per_row_table() -> None:
    from .synth import make_library

    lib = make_library(n=500, seed=2)
    ctx = SessionContext(bpm=120, key=parse_key("Dm"), mood_tags=("dark", "warm"))
    scorer = Scorer(lib.candidates, ctx, RULES, NOW)
    rows = np.arange(len(lib.candidates))
    t = scorer.table(rows, None)
    np.testing.assert_allclose(scorer.boosts(None), t.total, rtol=0, atol=1e-12)
    assert (t.tempo > 0).any() and (t.key > 0).any() and (t.tags > 0).any()


def test_sparse_row_sets_equal_the_dense_terms() -> None:
    from .synth import make_library

    lib = make_library(n=3000, seed=4)
    ctx = SessionContext(bpm=100, key=parse_key("Gm"), mood_tags=("dark",))
    scorer = Scorer(lib.candidates, ctx, RULES, NOW)
    tempo, key, tags = scorer.tempo(None), scorer.key(None), scorer.tags(None)
    assert scorer.boosted_rows().tolist() == np.flatnonzero((tempo > 0) | (key > 0) | (tags > 0)).tolist()
    t_rows, k_rows = np.flatnonzero(tempo > 0), np.flatnonzero(key > 0)
    both = np.flatnonzero((tempo > 0) & (key > 0))
    assert 0 < len(both) < len(k_rows) < len(t_rows)
    assert scorer.top_boost_group(len(t_rows)).tolist() == t_rows.tolist()
    assert scorer.top_boost_group(len(t_rows) - 1).tolist() == k_rows.tolist()
    assert scorer.top_boost_group(len(k_rows) - 1).tolist() == both.tolist()
    assert scorer.top_boost_group(len(both) - 1).tolist() == []
    assert Scorer(lib.candidates, SessionContext(), RULES, NOW).boosted_rows().tolist() == []
