"""Hard filters of fusion rules v1: tempo, key, bans, dismissed, accepted (docs/architecture.md §3)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from companion.music.keys import Key, compatible, parse_key
from companion.ranking.candidates import Candidates
from companion.ranking.context import SessionContext
from companion.ranking.filters import HardFilter, key_compatibility_table, tempo_delta
from companion.ranking.rules import load_packaged_rules, parse_rules
from companion.ranking.state import SessionState

from .synth import make_library, record

RULES = load_packaged_rules(1)  # format 1 ranks exactly as it always did
ALL_KEYS = [Key(pc, m) for m in ("major", "minor") for pc in range(12)]


def _mask(records: list[dict], context: SessionContext, state: SessionState | None = None):
    c = Candidates.from_records(records)
    return HardFilter(c, context, state or SessionState(), RULES).mask().tolist()


@pytest.mark.parametrize(
    ("bpm", "kind", "passes"),
    [
        (128.0, "loop", True),
        (123.0, "loop", True),  # Δ5: on the tolerance
        (133.0, "loop", True),
        (122.5, "loop", False),  # Δ5.5
        (134.0, "loop", False),
        (64.0, "loop", True),  # half-time
        (66.5, "loop", True),  # ×2 = 133, Δ5
        (256.0, "loop", True),  # double-time
        (90.0, "loop", False),
        (90.0, "one-shot", True),  # one-shots are never tempo-filtered
        (None, "loop", True),  # unknown tempo passes
    ],
)
def test_tempo_filter(bpm, kind, passes) -> None:
    assert _mask([record(1, bpm=bpm, kind=kind)], SessionContext(bpm=128)) == [passes]


def test_tempo_filter_is_off_without_a_session_tempo() -> None:
    assert _mask([record(1, bpm=50)], SessionContext()) == [True]


def test_tempo_delta_folds_half_and_double_time() -> None:
    d = tempo_delta(np.array([70, 140, 280, 150, np.nan], np.float32), 140.0, (0.5, 1, 2))
    assert d[:4].tolist() == [0.0, 0.0, 0.0, 10.0] and np.isnan(d[4])


def test_key_table_equals_camelot_compatibility_for_every_pair() -> None:
    for ctx in ALL_KEYS:
        table = key_compatibility_table(ctx, RULES)
        assert table[0]  # unknown key passes
        for k in ALL_KEYS:
            code = k.pitch_class + (12 if k.mode == "minor" else 0)
            assert table[code + 1] == compatible(k, ctx), (k, ctx)


def test_key_rule_parameters_change_the_table() -> None:
    doc = RULES.to_json()
    doc["filters"]["key"] = {"allow_relative": False, "camelot_steps": 0}
    strict = parse_rules(doc)
    am = parse_key("Am")
    ok = [
        k for k in ALL_KEYS if key_compatibility_table(am, strict)[k.pitch_class + (12 if k.mode == "minor" else 0) + 1]
    ]
    assert ok == [am]


@pytest.mark.parametrize(
    ("fields", "passes"),
    [
        ({"key_pc": 9, "mode": "minor"}, True),  # same key (8A)
        ({"key_pc": 0, "mode": "major"}, True),  # relative major (8B)
        ({"key_pc": 4, "mode": "minor"}, True),  # 9A
        ({"key_pc": 2, "mode": "minor"}, True),  # 7A
        ({"key_pc": 7, "mode": "major"}, False),  # 9B: other letter, other number
        ({"key_pc": 9, "mode": "major"}, False),  # parallel major (11B)
        ({"key_pc": 3, "mode": "minor"}, False),  # tritone away
        ({"key_pc": 3, "mode": "minor", "pitched": False}, True),  # unpitched passes
        ({"key_pc": None, "mode": None}, True),  # unknown key passes
        ({"key_pc": 3, "mode": None}, True),  # unknown mode: key unknown
    ],
)
def test_key_filter(fields, passes) -> None:
    assert _mask([record(1, **fields)], SessionContext(key=parse_key("Am"))) == [passes]


def test_bans_dismissed_accepted_and_same_audio_as_accepted() -> None:
    records = [
        record(1, path="/s/pack/a.wav"),
        record(2, path="/s/pack/sub/b.wav"),
        record(3, path="/s/package/c.wav"),
        record(4, path="/t/d.wav"),
        record(5, path="/t/e.wav", content_hash="same"),
        record(6, path="/t/f.wav", content_hash="same"),
        record(7, path="/t/g.wav"),
        record(8, path="/t/h.wav"),
    ]
    state = SessionState(accepted=[5], dismissed={4}, banned_ids={7}, banned_folders={"/s/pack"})
    assert _mask(records, SessionContext(), state) == [
        False,
        False,
        True,
        False,
        False,
        False,
        False,
        True,
    ]


def test_mask_of_rows_equals_mask_of_library() -> None:
    lib = make_library(n=600)
    ctx = SessionContext(bpm=120, key=parse_key("F#m"))
    state = SessionState(accepted=[1001, 1010], dismissed={1003}, banned_folders={"/lib/pack2"})
    hard = HardFilter(lib.candidates, ctx, state, RULES)
    full = hard.mask()
    rows = np.random.default_rng(1).permutation(600)[:250]
    assert hard.mask(rows).tolist() == full[rows].tolist()
    assert 0 < full.sum() < 600


def test_vectorised_filters_agree_with_a_plain_python_reading_of_the_rules() -> None:
    lib = make_library(n=800, seed=3)
    c = lib.candidates
    for bpm, key in itertools.product((None, 90.0, 128.0, 174.0), (None, "Am", "Eb", "12B")):
        ctx = SessionContext(bpm=bpm, key=parse_key(key) if key else None)
        got = HardFilter(c, ctx, SessionState(), RULES).mask()
        for row in range(len(c)):
            ok = True
            if bpm is not None and c.is_loop[row] and not np.isnan(c.bpm[row]):
                b = float(c.bpm[row])
                ok &= min(abs(b - bpm), abs(2 * b - bpm), abs(b / 2 - bpm)) <= 5 + 1e-6
            sample_key = c.key_of(row)
            if ctx.key is not None and c.pitched[row] and sample_key is not None:
                ok &= compatible(sample_key, ctx.key)
            assert got[row] == ok, (row, bpm, key)
