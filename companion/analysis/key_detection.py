"""Key of pitched material from tuning-corrected, harmonically weighted chroma.

Steps:

1. Pitch salience by harmonic summation over the tuning-corrected semitone spectrum
   (Klapuri, "Multiple fundamental frequency estimation by summing harmonic amplitudes",
   ISMIR 2006): each pitch collects the log-compressed energy of its first harmonics, so the
   fifth and third that every note's overtones add do not outweigh the notes played.
2. Chroma: salience folded to 12 pitch classes, averaged over frames; a bass chroma from the
   pitches below C3, weighted at note onsets, gives tonic evidence (the bass plays the root of
   the chords, and the tonic more than any other).
3. Each of the 24 keys is scored by Pearson correlation with several key profiles
   (:mod:`companion.analysis.key_profiles`), averaged, plus the bass-tonic evidence.

Confidence is the margin of the best key over the runner-up, mapped to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.analysis.features import PITCH_MIDI_LO, Features
from companion.analysis.key_profiles import key_templates
from companion.music.keys import Key

#: Profiles whose correlations are averaged.
DEFAULT_PROFILES = ("krumhansl", "temperley", "edma")
#: Harmonics summed for pitch salience and their weight decay per harmonic.
N_HARMONICS = 6
HARMONIC_DECAY = 0.8
#: MIDI note below which a pitch counts as bass (C3).
BASS_MIDI_HI = 48
#: Weight of the bass-tonic evidence relative to the profile correlation.
BASS_WEIGHT = 0.25


@dataclass
class KeyEstimate:
    """A key estimate.

    Attributes:
        key: the best key.
        confidence: in [0, 1].
        scores: (24,) float64 score per key, rows as in :func:`key_templates`.
        chroma: (12,) float64 mean chroma, C first, max-normalised.
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
    peak = mag.max()
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


def chroma_from_salience(sal: np.ndarray) -> np.ndarray:
    """Fold (84, F) salience to (12, F) chroma, C first."""
    n = sal.shape[0]
    pcs = (PITCH_MIDI_LO + np.arange(n)) % 12
    out = np.zeros((12, sal.shape[1]))
    np.add.at(out, pcs, sal)
    return out


def estimate_key(feat: Features, profiles: tuple[str, ...] = DEFAULT_PROFILES) -> KeyEstimate | None:
    """Estimate the key of pitched material.

    Args:
        feat: shared features (uses ``pitch``).
        profiles: names of the key profiles whose correlations are averaged.

    Returns:
        The :class:`KeyEstimate`, or None when the signal holds no pitch energy.
    """
    sal = salience(feat.pitch)
    if not np.any(sal > 0):
        return None
    chroma_frames = chroma_from_salience(sal)
    energy = chroma_frames.sum(axis=0)
    active = energy > 0.05 * energy.max()
    chroma = chroma_frames[:, active].mean(axis=1)
    midi = PITCH_MIDI_LO + np.arange(sal.shape[0])
    bass = chroma_from_salience(np.where((midi < BASS_MIDI_HI)[:, None], sal, 0.0))[:, active].mean(axis=1)
    scores = np.zeros(24)
    z = _znorm(chroma)
    for name in profiles:
        scores += key_templates(name) @ z
    scores /= len(profiles)
    if bass.max() > 0:
        bass_n = bass / bass.max()
        scores += BASS_WEIGHT * np.concatenate([bass_n, bass_n]) - BASS_WEIGHT * bass_n.mean()
    order = np.argsort(scores)[::-1]
    best = int(order[0])
    margin = float(scores[best] - scores[order[1]])
    key = Key(best % 12, "major" if best < 12 else "minor")
    confidence = float(np.clip(margin / 0.15, 0.0, 1.0))
    return KeyEstimate(key=key, confidence=confidence, scores=scores, chroma=chroma / (chroma.max() or 1.0))


def _znorm(v: np.ndarray) -> np.ndarray:
    v = v - v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v
