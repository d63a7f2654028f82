from __future__ import annotations

import pytest

from companion.music.keys import Key, compatible, parse_key
from companion.preview.plan import MAX_STRETCH, fold_tempo, plan_preview, semitone_shift, transpose
from companion.ranking.rationale import key_reason


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
        ("Am", "Am", 0),  # same key
        ("Am", "C", 0),  # relative minor
        ("C", "Am", 0),  # relative major
        ("G", "C", 0),  # Camelot neighbour 9B of 8B
        ("F", "C", 0),  # Camelot neighbour 7B of 8B
        ("Em", "Am", 0),  # 9A next to 8A
        ("G", "Em", 0),  # relative major
        ("D", "Em", 5),  # 10B is not next to 9A: only G major (9B) will do
        ("Am", "Bm", 2),  # A minor → B minor (exact); −3 → F# minor (11A) is farther
        ("Am", "Gm", -2),  # A minor → G minor (exact)
        ("C", "F#", -1),  # C major → B major (1B), next to F# major (2B)
        ("Bm", "C", -2),  # B minor → A minor, the relative minor
        ("Em", "C", 5),  # 9A is not next to 8B: only A minor (8A) will do
        ("Cm", "C", -3),  # the parallel minor is not compatible: → A minor
        ("F#", "C", -1),  # tie between F (−1) and G (+1): the shift down wins
        ("D", "C", -2),  # D major → C major (exact); +3 → F major is farther
        ("Eb", "C", 2),  # Eb major → F major (7B); −3 → C major is farther
        ("Ebm", "C", -6),  # tritone from A minor: −6 and +6 land on it; down wins
    ],
)
def test_semitone_shift_is_the_smallest_move_to_a_compatible_key(source, target, shift):
    assert semitone_shift(parse_key(source), parse_key(target)) == shift


ALL_KEYS = [Key(pc, mode) for pc in range(12) for mode in ("major", "minor")]


@pytest.mark.parametrize("target", ALL_KEYS, ids=str)
def test_semitone_shift_for_every_key_pair_is_minimal_and_compatible(target):
    for source in ALL_KEYS:
        s = semitone_shift(source, target)
        assert -6 <= s <= 5
        if source.mode == target.mode:
            assert abs(s) <= 2
        assert compatible(transpose(source, s), target)
        assert (s == 0) == compatible(source, target)
        smaller = [d for d in range(-6, 7) if abs(d) < abs(s)]
        assert not any(compatible(transpose(source, d), target) for d in smaller)
        # the tie rule: the shift onto the exact key is never beaten by its mirror image
        if transpose(source, -s) == target:
            assert transpose(source, s) == target


def test_user_test_case_a_compatible_card_is_not_shifted():
    # the card said "key compatible" for a F# minor loop in a B minor session (11A next to 10A);
    # the old rule moved it +5 st onto B minor
    loop = parse_key("F# minor")
    context = parse_key("B minor")
    assert compatible(loop, context)
    assert key_reason(loop, context) == "key compatible: F# minor"
    plan = plan_preview(kind="loop", bpm=120.0, key=loop, context_bpm=124.0, context_key=context)
    assert plan.semitones == 0
    assert plan.sounding_key == loop
    assert plan.note == "120 → 124 BPM, F# minor (compatible)"


def test_incompatible_key_note_names_the_shift_and_the_key_it_lands_on():
    plan = plan_preview(kind="one-shot", bpm=None, key=parse_key("Am"), context_bpm=None, context_key=parse_key("Cm"))
    assert plan.semitones == -2  # onto G minor (6A), next to C minor (5A); +3 onto C minor is farther
    assert plan.sounding_key == parse_key("G minor")
    assert plan.note == "-2 st → G minor (compatible)"
    exact = plan_preview(kind="one-shot", bpm=None, key=parse_key("Am"), context_bpm=None, context_key=parse_key("Gm"))
    assert exact.note == "-2 st → G minor (match)"
    same = plan_preview(kind="one-shot", bpm=None, key=parse_key("Am"), context_bpm=None, context_key=parse_key("Am"))
    assert same.semitones == 0 and same.note == "A minor (match)"


def test_follow_key_off_never_shifts():
    for source in ALL_KEYS:
        for target in ALL_KEYS:
            plan = plan_preview(
                kind="one-shot", bpm=None, key=source, context_bpm=None, context_key=target, follow_key=False
            )
            assert plan.semitones == 0 and plan.sounding_key is None and plan.note == "as recorded"


def test_loop_is_stretched_and_pitched_to_the_context():
    plan = plan_preview(kind="loop", bpm=120.0, key=parse_key("F#m"), context_bpm=128.0, context_key=parse_key("Am"))
    assert plan.loop
    assert plan.speed == pytest.approx(128.0 / 120.0)
    assert plan.semitones == -2  # F# minor (11A) → E minor (9A), next to A minor (8A)
    assert plan.target_bpm == 128.0
    assert plan.note == "120 → 128 BPM, -2 st → E minor (compatible)"


def test_half_time_loop_keeps_half_time():
    plan = plan_preview(kind="loop", bpm=72.0, key=None, context_bpm=140.0, context_key=None)
    assert plan.target_bpm == 70.0
    assert plan.speed == pytest.approx(70.0 / 72.0)


def test_one_shot_is_only_transposed_and_plays_once():
    plan = plan_preview(kind="one-shot", bpm=120.0, key=parse_key("C"), context_bpm=90.0, context_key=parse_key("E"))
    assert not plan.loop
    assert plan.speed == 1.0
    assert plan.semitones == -1  # C major (8B) → B major (1B), next to E major (12B)


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
