"""Key: chord posteriors, profiles and the fitted model on synthetic progressions."""

from __future__ import annotations

import numpy as np
import pytest

from companion.analysis.features import compute_features
from companion.analysis.key_detection import TRIADS, chord_posteriors, estimate_key, key_features
from companion.analysis.key_model import KEY_WEIGHTS
from companion.analysis.key_profiles import PROFILES, key_templates
from companion.music.keys import Key

SR = 22050
MAJOR = (0, 2, 4, 5, 7, 9, 11)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)


def _note(midi: int, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    env = np.minimum(1.0, t / 0.02) * np.exp(-t * 0.8)
    return sum((0.6**h) * np.sin(2 * np.pi * f0 * (h + 1) * t) for h in range(5) if f0 * (h + 1) < 9000) * env


def _progression(tonic: int, scale: tuple[int, ...], degrees: tuple[int, ...], bpm: float = 100.0) -> np.ndarray:
    """One bar per chord: a triad at MIDI 60+ and its root in the bass."""
    bar = 4 * 60.0 / bpm
    out = []
    for d in degrees:
        pcs = [(tonic + scale[(d + k) % 7]) % 12 for k in (0, 2, 4)]
        chord = sum(_note(60 + (pc - 60) % 12, bar) for pc in pcs) + 1.2 * _note(36 + (pcs[0] - 36) % 12, bar)
        out.append(chord)
    y = np.concatenate(out)
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


def test_profiles_are_normalised_and_rotate() -> None:
    for name in PROFILES:
        t = key_templates(name)
        assert t.shape == (24, 12)
        assert np.allclose(t.mean(axis=1), 0) and np.allclose(np.linalg.norm(t, axis=1), 1)
        assert np.allclose(np.roll(t[0], 9), t[9])  # A major is C major moved up 9 semitones


def test_chord_posteriors_pick_the_triad() -> None:
    chroma = np.zeros((2, 12))
    chroma[0, [9, 0, 4]] = 1.0  # A minor triad
    chroma[1, [7, 11, 2, 5]] = [1.0, 0.8, 0.8, 0.5]  # G7
    probs, weights = chord_posteriors(chroma)
    assert int(np.argmax(probs[0])) == 12 + 9
    assert int(np.argmax(probs[1])) == 7
    assert np.allclose(probs.sum(axis=1), 1) and weights.max() == 1.0
    assert TRIADS.shape == (24, 12)


def test_features_and_weights_agree() -> None:
    feat = compute_features(_progression(0, MAJOR, (0, 3, 4, 0)), SR)
    assert key_features(feat, 100.0).shape == (24, KEY_WEIGHTS.size)


@pytest.mark.parametrize(
    ("tonic", "scale", "degrees", "key"),
    [
        (0, MAJOR, (0, 3, 4, 0), Key(0, "major")),  # C: I IV V I
        (7, MAJOR, (3, 4, 0, 0), Key(7, "major")),  # G: IV V I I (does not start on the tonic)
        (9, HARMONIC_MINOR, (0, 3, 4, 0), Key(9, "minor")),  # A minor: i iv V i (major V)
        (2, HARMONIC_MINOR, (5, 3, 4, 0), Key(2, "minor")),  # D minor: VI iv V i
    ],
)
def test_progressions(tonic: int, scale: tuple[int, ...], degrees: tuple[int, ...], key: Key) -> None:
    est = estimate_key(compute_features(_progression(tonic, scale, degrees), SR), bpm=100.0)
    assert est is not None
    assert est.key == key
    assert 0.0 < est.confidence <= 1.0 and est.scores.shape == (24,)


def test_silence_has_no_key() -> None:
    assert estimate_key(compute_features(np.zeros(SR * 2, dtype=np.float32), SR), bpm=120.0) is None
