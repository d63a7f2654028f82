from __future__ import annotations

import pytest

from companion.music.keys import parse_key
from companion.preview.plan import MAX_STRETCH, fold_tempo, plan_preview, semitone_shift


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        (70.0, 140.0, 70.0),
        (140.0, 70.0, 140.0),
        (124.0, 128.0, 128.0),
        (100.0, 128.0, 128.0),
        (90.0, 128.0, 64.0),
        (170.0, 87.0, 174.0),
    ],
)
def test_fold_tempo_picks_half_or_double_time_nearest_the_loop(source, context, expected):
    assert fold_tempo(source, context) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("source", "target", "shift"),
    [
        ("Am", "Am", 0),
        ("Am", "Bm", 2),
        ("Am", "Gm", -2),
        ("C", "F#", -6),
        ("C", "F", 5),
        ("Am", "C", 0),
        ("Em", "C", 5),
        ("C", "Am", 0),
        ("G", "Em", 0),
        ("D", "Em", 5),
    ],
)
def test_semitone_shift_is_smallest_move_onto_the_shared_scale(source, target, shift):
    assert semitone_shift(parse_key(source), parse_key(target)) == shift


def test_loop_is_stretched_and_pitched_to_the_context():
    plan = plan_preview(kind="loop", bpm=120.0, key=parse_key("F#m"), context_bpm=128.0, context_key=parse_key("Am"))
    assert plan.loop
    assert plan.speed == pytest.approx(128.0 / 120.0)
    assert plan.semitones == 3
    assert plan.target_bpm == 128.0
    assert "120 → 128 BPM" in plan.note and "+3 st" in plan.note


def test_half_time_loop_keeps_half_time():
    plan = plan_preview(kind="loop", bpm=72.0, key=None, context_bpm=140.0, context_key=None)
    assert plan.target_bpm == 70.0
    assert plan.speed == pytest.approx(70.0 / 72.0)


def test_one_shot_is_only_transposed_and_plays_once():
    plan = plan_preview(kind="one-shot", bpm=120.0, key=parse_key("C"), context_bpm=90.0, context_key=parse_key("D"))
    assert not plan.loop
    assert plan.speed == 1.0
    assert plan.semitones == 2


def test_no_context_or_switches_off_plays_as_recorded():
    loop = dict(kind="loop", bpm=100.0, key=parse_key("C"))
    assert plan_preview(**loop, context_bpm=None, context_key=None).is_identity
    off = plan_preview(**loop, context_bpm=120.0, context_key=parse_key("D"), follow_tempo=False, follow_key=False)
    assert off.is_identity and off.note == "as recorded"


def test_too_large_a_stretch_is_not_applied():
    assert 140.0 / 100.0 > MAX_STRETCH
    plan = plan_preview(kind="loop", bpm=100.0, key=None, context_bpm=140.0, context_key=None)
    assert plan.speed == 1.0
    assert plan_preview(kind="loop", bpm=90.0, key=None, context_bpm=120.0, context_key=None).speed > 1.3
