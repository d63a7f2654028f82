"""Tempo: loop-length candidates, octave choice on synthetic loops, 3/4, name hints."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from companion.analysis.features import compute_features
from companion.analysis.tempo import (
    FEATURE_NAMES,
    WEIGHTS,
    candidate_features,
    estimate_tempo,
    grid_profile,
    loop_length_candidates,
)

SR = 22050


def _groove(bpm: float, bars: int, meter: int = 4, backbeat: bool = True, half_time: bool = False) -> np.ndarray:
    """Kick, snare and eighth-note hats (or kick on 1 and tones on the other beats for 3/4)."""
    beat = 60.0 / bpm * SR
    n = int(round(bars * meter * beat))
    y = np.zeros(n)
    rng = np.random.default_rng(3)
    t = np.arange(int(0.25 * SR)) / SR
    hp = butter(4, 5000, "hp", fs=SR, output="sos")
    bp = butter(2, [300, 3000], "bp", fs=SR, output="sos")
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 40)) * t) * np.exp(-t * 12)
    snare = sosfilt(bp, rng.standard_normal(t.size)) * np.exp(-t * 25) * 1.5
    hat = sosfilt(hp, rng.standard_normal(t.size)) * np.exp(-t * 60) * 0.4
    tone = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * np.exp(-t * 6) * 0.15

    def put(sound: np.ndarray, at_beats: float) -> None:
        s = int(round(at_beats * beat)) % n
        m = min(sound.size, n - s)
        y[s : s + m] += sound[:m]

    for b in range(bars):
        o = b * meter
        if meter == 3:
            put(kick, o)
            put(hat + tone, o + 1)
            put(hat + tone, o + 2)
            continue
        for k in range(8):
            put(hat, o + k / 2)
        if half_time:
            put(kick, o)
            put(snare, o + 2)
        else:
            put(kick, o)
            put(kick, o + 2)
            if backbeat:
                put(snare, o + 1)
                put(snare, o + 3)
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


def test_loop_length_candidates_are_octaves_within_range() -> None:
    cands = loop_length_candidates(4.0)
    assert [round(b, 6) for b, _ in cands] == [60.0, 120.0]
    assert [bars for _, bars in cands] == [1, 2]
    assert loop_length_candidates(0.0) == []
    assert [round(b, 3) for b, _ in loop_length_candidates(6.0, beats_per_bar=3)] == [60.0, 120.0]


def test_weights_match_features() -> None:
    feat = compute_features(_groove(120, 2), SR)
    assert candidate_features(feat, 120.0).shape == (len(FEATURE_NAMES),) == WEIGHTS.shape


def test_grid_profile_finds_the_backbeat() -> None:
    feat = compute_features(_groove(100, 2), SR)
    high = grid_profile(feat.onset_high, feat.fps, 100.0)
    low = grid_profile(feat.onset_low, feat.fps, 100.0)
    assert high[[4, 12]].mean() > high[[0, 8]].mean()  # snare on 2 and 4
    assert low[[0, 8]].mean() > 2 * low[[4, 12]].mean()  # kick on 1 and 3


@pytest.mark.parametrize(("bpm", "bars"), [(92, 2), (124, 4), (128, 1), (140, 2)])
def test_backbeat_grooves_get_their_tempo(bpm: float, bars: int) -> None:
    est = estimate_tempo(compute_features(_groove(bpm, bars), SR), bars * 4 * 60.0 / bpm)
    assert est.bpm == pytest.approx(bpm, rel=0.04)
    assert est.bars == bars and est.beats_per_bar == 4
    assert 0.0 <= est.confidence <= 1.0


@pytest.mark.parametrize("bpm", [100, 120, 138])
def test_three_four_when_the_downbeat_repeats_every_three_beats(bpm: float) -> None:
    est = estimate_tempo(compute_features(_groove(bpm, 4, meter=3), SR), 4 * 3 * 60.0 / bpm)
    assert est.beats_per_bar == 3
    assert est.bpm == pytest.approx(bpm, rel=0.04)


def test_name_hint_picks_the_fast_octave_of_half_time() -> None:
    # kick on 1, snare on 3 at 170 looks like a backbeat at 85 — the name says drum and bass
    bpm, bars = 170.0, 4
    feat = compute_features(_groove(bpm, bars, half_time=True), SR)
    duration = bars * 4 * 60.0 / bpm
    hinted = estimate_tempo(feat, duration, fast_genre=True)
    assert hinted.bpm == pytest.approx(bpm, rel=0.04)
    plain = estimate_tempo(feat, duration)
    assert plain.bpm in (pytest.approx(bpm, rel=0.04), pytest.approx(bpm / 2, rel=0.04))


def test_loop_not_cut_to_whole_bars_falls_back_to_periodicity() -> None:
    y = _groove(120, 4)
    y = y[: int(len(y) * 0.9)]  # 3.6 bars: no whole-bar tempo fits
    est = estimate_tempo(compute_features(y, SR), len(y) / SR)
    assert est.bars is None and est.beats_per_bar is None and est.confidence <= 0.4
    assert est.bpm == pytest.approx(120, rel=0.04) or est.bpm == pytest.approx(60, rel=0.04)


def test_a_four_four_genre_keeps_a_waltz_groove_in_four_four() -> None:
    bpm = 120.0
    feat = compute_features(_groove(bpm, 4, meter=3), SR)
    duration = 4 * 3 * 60.0 / bpm
    assert estimate_tempo(feat, duration).beats_per_bar == 3
    named = estimate_tempo(feat, duration, common_time=True)
    assert named.beats_per_bar == 4 and named.bpm == pytest.approx(bpm * 4 / 3, rel=0.04)
