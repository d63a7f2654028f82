"""Key of pitched material: key profiles, chord functions and the bass, weighed by a fitted model.

Steps:

1. Chroma of the harmonic part of the signal (tuning-corrected semitone spectrum, see
   :mod:`companion.analysis.features`), and a pitch salience by harmonic summation (Klapuri,
   "Multiple fundamental frequency estimation by summing harmonic amplitudes", ISMIR 2006)
   so that the overtones of each note do not outweigh the notes played.
2. Beat-synchronous chroma (the last 85 % of each beat, skipping attacks) matched against the
   24 major and minor triads (cosine similarity, softmax at temperature 0.02): a distribution
   of chords over the loop.
3. For every candidate key, features relative to its tonic: the chord distribution by root
   interval and quality (so the model knows a V or a VII from a I), the Pearson correlation
   of the salience chroma with the Krumhansl–Kessler, Temperley and EDMA profiles
   (:mod:`companion.analysis.key_profiles`), the share of bass notes (below C3) on the tonic
   and on the fifth, the salience chroma and the bass-note histogram themselves rotated to
   the tonic (a key profile and a bass profile the model learns), and a constant (a prior
   for the mode). Nothing depends on where the loop starts or ends: loops cut from a
   progression start on any chord, and features on the first and last beats learnt how one
   generator began and ended its progressions.
4. A linear score per key with separate weights for major and minor keys; the 24 keys
   compete in a softmax (conditional logit) whose probability for the winner is the
   confidence. The weights (:mod:`companion.analysis.key_model`) are fitted by
   ``benchmarks/datasets/fit_key_model.py`` on loops of three independent generators, the
   penalty chosen leaving one generator out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.analysis.features import PITCH_MIDI_LO, Features
from companion.analysis.key_model import KEY_WEIGHTS
from companion.analysis.key_profiles import key_templates
from companion.music.keys import Key

#: Profiles whose correlations are model features.
PROFILE_NAMES = ("krumhansl", "temperley", "edma")
#: Harmonics summed for pitch salience and their weight decay per harmonic.
N_HARMONICS = 6
HARMONIC_DECAY = 0.8
#: MIDI note below which a pitch counts as bass (C3).
BASS_MIDI_HI = 48
#: Softmax temperature of the chord match (cosine similarities).
CHORD_TEMPERATURE = 0.02
#: Beat length (BPM) used for material without a tempo (one-shots).
DEFAULT_BPM = 120.0
#: Features per key, in order (see :func:`key_features`).
N_KEY_FEATURES = 24 + len(PROFILE_NAMES) + 2 + 12 + 12 + 1


@dataclass
class KeyEstimate:
    """A key estimate.

    Attributes:
        key: the best key.
        confidence: softmax probability of ``key`` among the 24 keys, in [0, 1].
        scores: (24,) float64 model score per key, rows as in :func:`key_templates`
            (0–11 major C … B, 12–23 minor C … B).
        chroma: (12,) float64 mean salience chroma, C first, max-normalised.
    """

    key: Key
    confidence: float
    scores: np.ndarray
    chroma: np.ndarray


def salience(pitch: np.ndarray) -> np.ndarray:
    """Harmonic-sum pitch salience.

    Args:
        pitch: (84, F) semitone magnitudes (C1 … B7).

    Returns:
        (84, F) float64 salience: Σ_h decay^(h−1) · log(1 + 10·|X[p + 12·log2 h]|/max).
    """
    mag = np.asarray(pitch, dtype=np.float64)
    peak = mag.max() if mag.size else 0.0
    if peak <= 0:
        return np.zeros_like(mag)
    comp = np.log1p(10.0 * mag / peak)
    out = np.zeros_like(comp)
    for h in range(1, N_HARMONICS + 1):
        shift = int(round(12.0 * np.log2(h)))
        if shift >= comp.shape[0]:
            break
        out[: comp.shape[0] - shift] += HARMONIC_DECAY ** (h - 1) * comp[shift:]
    return out


def fold(semis: np.ndarray) -> np.ndarray:
    """Fold (n, F) values on the semitone grid starting at C1 to (12, F) pitch classes."""
    pcs = (PITCH_MIDI_LO + np.arange(semis.shape[0])) % 12
    out = np.zeros((12, semis.shape[1]))
    np.add.at(out, pcs, semis)
    return out


def beat_means(frames: np.ndarray, fps: float, bpm: float) -> np.ndarray:
    """Mean of (d, F) frames over the last 85 % of each beat of a loop (circular).

    Returns:
        (n_beats, d) float64; at least one beat.
    """
    period = fps * 60.0 / bpm
    n_beats = max(1, int(np.floor(frames.shape[1] / period + 0.5)))
    out = np.zeros((n_beats, frames.shape[0]))
    for k in range(n_beats):
        lo = int(round((k + 0.15) * period))
        hi = max(lo + 1, int(round((k + 1) * period)))
        out[k] = frames[:, np.arange(lo, hi) % frames.shape[1]].mean(axis=1)
    return out


def _triad_templates() -> np.ndarray:
    """(24, 12) unit-norm templates: major triads on C … B, then minor triads."""
    rows = []
    for third in (4, 3):
        for root in range(12):
            t = np.zeros(12)
            t[[root, (root + third) % 12, (root + 7) % 12]] = 1.0
            rows.append(t / np.linalg.norm(t))
    return np.stack(rows)


TRIADS = _triad_templates()


def chord_posteriors(beat_chroma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triad probabilities per beat.

    Args:
        beat_chroma: (n_beats, 12) chroma per beat.

    Returns:
        ``(probs (n_beats, 24), weights (n_beats,))``: softmax over the 24 triads of the
        cosine similarity at :data:`CHORD_TEMPERATURE`, and each beat's chroma norm relative
        to the loudest beat.
    """
    norm = np.linalg.norm(beat_chroma, axis=1)
    unit = beat_chroma / np.maximum(norm, 1e-12)[:, None]
    sim = unit @ TRIADS.T
    probs = np.exp((sim - sim.max(axis=1, keepdims=True)) / CHORD_TEMPERATURE)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs, norm / max(float(norm.max()), 1e-12)


def bass_histogram(pitch: np.ndarray, fps: float, bpm: float) -> np.ndarray:
    """Share of beats whose strongest bass pitch class (below C3) is each pitch class.

    Returns:
        (12,) float64 summing to 1 (all zeros when there is no bass), each beat weighted by
        the strength of its bass note.
    """
    low = np.sqrt(np.asarray(pitch[: BASS_MIDI_HI - PITCH_MIDI_LO], dtype=np.float64))
    beats = beat_means(fold(low), fps, bpm)
    hist = np.zeros(12)
    for row in beats:
        if row.max() > 0:
            hist[int(np.argmax(row))] += row.max()
    total = hist.sum()
    return hist / total if total > 0 else hist


def key_features(feat: Features, bpm: float | None) -> np.ndarray:
    """Model features of every candidate key.

    Args:
        feat: shared features (uses ``pitch``, ``chroma``, ``pitch_fps``).
        bpm: the loop's tempo, or None (one-shots: beats of :data:`DEFAULT_BPM`).

    Returns:
        (24, 2·N_KEY_FEATURES) float64: row k holds key k's features in the first half for a
        major key and in the second half for a minor key (zeros in the other half), so that
        major and minor keys have their own weights. Per key: chord distribution relative to
        the tonic (24: major triads on intervals 0–11, then minor); profile correlations;
        bass share on the tonic and on the fifth; the salience chroma as shares (summing to
        1) minus 1/12, on intervals 0–11 from the tonic; the bass histogram on intervals
        0–11; a constant (the mode's prior).
    """
    bpm = bpm or DEFAULT_BPM
    probs, weights = chord_posteriors(beat_means(feat.chroma, feat.pitch_fps, bpm))
    dist = (probs * weights[:, None]).sum(axis=0) / max(float(weights.sum()), 1e-12)
    sal_chroma = fold(salience(feat.pitch)).mean(axis=1)
    shares = sal_chroma / max(float(sal_chroma.sum()), 1e-12) - 1.0 / 12
    z = sal_chroma - sal_chroma.mean()
    z /= max(float(np.linalg.norm(z)), 1e-12)
    profiles = [key_templates(name) @ z for name in PROFILE_NAMES]
    bass = bass_histogram(feat.pitch, feat.pitch_fps, bpm)
    d = N_KEY_FEATURES
    out = np.zeros((24, 2 * d))
    for key in range(24):
        tonic, minor = key % 12, key >= 12
        rel = np.concatenate([np.roll(dist[:12], -tonic), np.roll(dist[12:], -tonic)])
        row = np.concatenate(
            [
                rel,
                [p[key] for p in profiles],
                [bass[tonic], bass[(tonic + 7) % 12]],
                np.roll(shares, -tonic),
                np.roll(bass, -tonic),
                [1.0],
            ]
        )
        start = d if minor else 0
        out[key, start : start + d] = row
    return out


def estimate_key(feat: Features, bpm: float | None = None, weights: np.ndarray | None = None) -> KeyEstimate | None:
    """Estimate the key of pitched material.

    Args:
        feat: shared features.
        bpm: the loop's tempo (beats for the chord analysis), or None.
        weights: model weights (defaults to the fitted :data:`KEY_WEIGHTS`).

    Returns:
        The :class:`KeyEstimate`, or None when the signal holds no pitch energy.
    """
    if feat.pitch.size == 0 or not np.any(feat.pitch > 0):
        return None
    w = KEY_WEIGHTS if weights is None else weights
    scores = key_features(feat, bpm) @ w
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    best = int(np.argmax(scores))
    chroma = fold(salience(feat.pitch)).mean(axis=1)
    return KeyEstimate(
        key=Key(best % 12, "major" if best < 12 else "minor"),
        confidence=float(probs[best]),
        scores=scores,
        chroma=chroma / (chroma.max() or 1.0),
    )
