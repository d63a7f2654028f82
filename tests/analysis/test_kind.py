"""Loop or one-shot, pitched or not, from the audio alone."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from companion.analysis.features import compute_features
from companion.analysis.kind import HARMONIC_CHANGE, estimate_kind, harmonic_change

SR = 22050


def _hits(
    times: list[float], seconds: float, decay: float = 30.0, band: tuple[float, float] = (200, 6000)
) -> np.ndarray:
    rng = np.random.default_rng(5)
    sos = butter(2, band, "bp", fs=SR, output="sos")
    y = np.zeros(int(seconds * SR))
    t = np.arange(int(0.3 * SR)) / SR
    hit = sosfilt(sos, rng.standard_normal(t.size)) * np.exp(-t * decay)
    for at in times:
        s = int(at * SR)
        m = min(hit.size, y.size - s)
        y[s : s + m] += hit[:m]
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


def _pad(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * f * t) * 0.6**k for f in (220.0, 261.6, 329.6) for k in range(1, 4))
    return (y / np.abs(y).max() * 0.7).astype(np.float32)


def test_single_hit_is_an_unpitched_one_shot() -> None:
    est = estimate_kind(compute_features(_hits([0.0], 0.8), SR), 0.8)
    assert est.kind == "one-shot" and not est.pitched


def test_long_single_hit_is_still_a_one_shot() -> None:
    est = estimate_kind(compute_features(_hits([0.0], 2.5, decay=4.0), SR), 2.5)
    assert est.kind == "one-shot"


def test_drum_pattern_is_an_unpitched_loop() -> None:
    times = [k * 0.25 for k in range(16)]
    est = estimate_kind(compute_features(_hits(times, 4.0), SR), 4.0)
    assert est.kind == "loop" and not est.pitched and est.n_onsets >= 8


def test_sustained_chord_is_a_pitched_loop() -> None:
    est = estimate_kind(compute_features(_pad(4.0), SR), 4.0)
    assert est.kind == "loop" and est.pitched


def test_cymbal_like_ringing_is_not_pitched() -> None:
    # narrow inharmonic partials high up, like a ride cymbal
    t = np.arange(int(1.0 * SR)) / SR
    partials = [4210.0, 5333.0, 6120.0, 7011.0, 8450.0, 9300.0, 3517.0]
    y = sum(np.sin(2 * np.pi * f * t) for f in partials) * np.exp(-t * 3)
    y = (y / np.abs(y).max() * 0.8).astype(np.float32)
    assert not estimate_kind(compute_features(y, SR), 1.0).pitched


def _held(freqs: tuple[float, ...], seconds: float = 2.0) -> np.ndarray:
    """Notes held at full level and cut off there, as packs cut a held note at a bar line."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * f * t) for f in freqs)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def test_a_held_note_cut_off_at_full_level_changes_no_chord() -> None:
    # The STFT windows at both ends run past the cut; their smeared spectrum is no chord change.
    for freqs in ((220.0,), (220.0, 277.2, 329.6)):
        assert harmonic_change(compute_features(_held(freqs), SR)) < HARMONIC_CHANGE / 2
    t = np.arange(2 * SR) / SR
    two_chords = np.where(t < 1.0, _held((220.0, 261.6, 329.6)), _held((174.6, 220.0, 261.6)))
    assert harmonic_change(compute_features(two_chords.astype(np.float32), SR)) >= 2 * HARMONIC_CHANGE
