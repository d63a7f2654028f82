"""Loop or one-shot, pitched or unpitched, from the audio itself.

Used when neither the name nor the embedded tags decide. A one-shot starts with one attack and
decays; a loop keeps its level to the end (its end wraps into its start), holds several onsets,
and lasts long enough for at least one bar. Pitched material keeps most of its energy in the
narrow spectral peaks (partials) below 4 kHz; drums, noise and most effects spread theirs, and
cymbals ring in narrow peaks high up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.analysis.features import PITCH_HOP, PITCH_N_FFT, Features, lagged_autocorrelation
from companion.analysis.result import Kind

#: Shortest loop (s): one bar of 4/4 at 200 BPM is 1.2 s.
MIN_LOOP_S = 1.0
#: Level of the last 5 % of a file relative to its loudest frame (dB) above which a file
#: without later attacks is said to sustain (a pad or drone loop) rather than decay.
SUSTAIN_TAIL_DB = -20.0
#: Tonalness (share of energy in narrow spectral peaks) above which material is pitched …
PITCHED_TONALNESS = 0.15
#: … unless this share of its energy lies above 4 kHz (cymbals, hats: narrow but inharmonic
#: partials high up).
CYMBAL_HIGH_SHARE = 0.35
#: Largest chroma change (cosine distance between the 0.3 s before and after a moment) above
#: which sustained material changes chord or note: a pad loop, not one held chord. Chosen
#: between held notes of the FluidR3 and csound one-shot sets (95th percentile 0.054) and the
#: pads of the hard loop set, seed 1 (25th percentile 0.06); ``make_oneshots.py``, ``make_loops.py``.
HARMONIC_CHANGE = 0.06
#: Window (s) on each side of a moment when measuring the chroma change.
_CHANGE_WINDOW_S = 0.3
#: Pitch frames at each end of a signal whose (centred, zero-padded) STFT window runs past the
#: signal: a sound cut off at full level there smears into every pitch class, which reads as a
#: change of chord. Half the window over the hop, rounded up (librosa.stft, ``center=True``).
EDGE_FRAMES = -(-PITCH_N_FFT // 2 // PITCH_HOP)


@dataclass
class KindEstimate:
    """Audio evidence about what a sample is.

    Attributes:
        kind: ``"loop"`` or ``"one-shot"``.
        kind_confidence: in [0, 1].
        pitched: whether the material has a tonal centre.
        pitched_confidence: in [0, 1].
        tail_db: level of the last 5 % relative to the loudest frame, in dB.
        n_onsets: number of strong onsets after the first attack.
    """

    kind: Kind
    kind_confidence: float
    pitched: bool
    pitched_confidence: float
    tail_db: float
    n_onsets: int


def tonal(tonalness: float | np.ndarray, high_share: float | np.ndarray) -> np.bool_ | np.ndarray:
    """The tonalness rule for pitched material: tonalness ≥ :data:`PITCHED_TONALNESS` and less
    than :data:`CYMBAL_HIGH_SHARE` of the energy above 4 kHz.

    Args:
        tonalness, high_share: one value each, or (n,) arrays of them (descriptor columns).

    Returns:
        A bool, or (n,) bool.
    """
    return (np.asarray(tonalness) >= PITCHED_TONALNESS) & (np.asarray(high_share) < CYMBAL_HIGH_SHARE)


def strong_onsets(onset: np.ndarray, fps: float, rel: float = 0.3) -> np.ndarray:
    """Frame indices of onset peaks above ``rel`` × the maximum, at least 50 ms apart."""
    if onset.size < 3 or onset.max() <= 0:
        return np.zeros(0, dtype=int)
    thr = rel * onset.max()
    peaks = np.flatnonzero((onset[1:-1] > onset[:-2]) & (onset[1:-1] >= onset[2:]) & (onset[1:-1] > thr)) + 1
    gap = max(1, int(0.05 * fps))
    kept: list[int] = []
    for p in peaks:
        if not kept or p - kept[-1] >= gap:
            kept.append(int(p))
    return np.asarray(kept, dtype=int)


def onset_periodicity(onset: np.ndarray, fps: float) -> float:
    """How strongly the onset envelope repeats: the largest autocorrelation of the mean-removed
    envelope at lags of 0.2–2 s (at most half its length), normalised by the zero-lag value and
    corrected for the shrinking overlap (unbiased estimate).

    A groove repeats at its beat period even when dense hi-hats leave no single onset standing
    out (≈ 0.6–0.9); a held pad or drone changes only slowly and irregularly (≤ 0.45 for the held
    pads of ``make_loops.py``). Autocorrelation of the onset strength is the classic tempo
    front end (Ellis, "Beat Tracking by Dynamic Programming", JNMR 2007).

    Args:
        onset: (F,) onset strength envelope.
        fps: its frames per second.

    Returns:
        The periodicity, ≤ 1 (0 for an envelope too short or constant).
    """
    n = int(np.asarray(onset).size)
    lo, hi = int(0.2 * fps), min(int(2.0 * fps), n // 2)
    if n < 8 or hi <= lo:
        return 0.0
    ac = lagged_autocorrelation(onset, np.concatenate([[0], np.arange(lo, hi + 1)]))
    if ac[0] <= 0.0:
        return 0.0  # a constant envelope
    return float(np.max(ac[1:]) / ac[0])


def tail_level_db(rms: np.ndarray) -> float:
    """Level (dB) of the last 5 % of frames relative to the loudest frame."""
    if rms.size == 0 or rms.max() <= 0:
        return -120.0
    n = max(1, rms.size // 20)
    tail = float(np.sqrt(np.mean(rms[-n:] ** 2)))
    return 20.0 * float(np.log10(max(tail, 1e-9) / rms.max()))


def estimate_kind(feat: Features, duration_s: float) -> KindEstimate:
    """Classify a sample as loop or one-shot and as pitched or not, from its audio.

    A loop holds strong onsets after its first attack (at least two of half the strength of
    the loudest, past the first 15 % of the file) or sustains its level to the end (pads,
    drones: the end within 20 dB of the loudest frame and at most 75 % of the energy in the
    first quarter); a one-shot is short or has one attack and decays.

    Args:
        feat: shared features.
        duration_s: duration of the whole file in seconds.

    Returns:
        The :class:`KindEstimate`.
    """
    tail_db = tail_level_db(feat.rms)
    onsets = strong_onsets(feat.onset, feat.fps, rel=0.5)
    late = int(np.sum(onsets > 0.15 * feat.onset.size))
    energy = feat.rms.astype(np.float64) ** 2
    quarter = max(1, energy.size // 4)
    front = float(energy[:quarter].sum() / energy.sum()) if energy.sum() > 0 else 1.0
    kind: Kind
    if duration_s < MIN_LOOP_S:
        kind, conf = "one-shot", 0.9
    elif late >= 2 and front < 0.6:
        kind, conf = "loop", float(np.clip(0.55 + 0.05 * late, 0.6, 0.9))
    elif tail_db > SUSTAIN_TAIL_DB and front < 0.75:
        kind, conf = "loop", 0.6
    else:
        kind, conf = "one-shot", float(np.clip(0.5 + front / 2, 0.55, 0.9))
    tonal_margin = feat.tonalness - PITCHED_TONALNESS
    high_margin = CYMBAL_HIGH_SHARE - feat.high_share
    pitched = bool(tonal(feat.tonalness, feat.high_share))
    margin = min(tonal_margin, high_margin) if pitched else (-tonal_margin if tonal_margin < 0 else -high_margin)
    pconf = float(np.clip(0.5 + 2.0 * margin, 0.5, 0.95))
    return KindEstimate(
        kind=kind, kind_confidence=conf, pitched=pitched, pitched_confidence=pconf, tail_db=tail_db, n_onsets=late
    )


def harmonic_change(feat: Features) -> float:
    """Largest change of the harmonic content after the first 10 % of the signal.

    The cosine distance between the summed chroma of the :data:`_CHANGE_WINDOW_S` seconds
    before and after each pitch frame; a held note or chord stays near 0 however long it is, a
    chord change gives 0.1–0.4. The :data:`EDGE_FRAMES` frames at each end are left out: a held
    note cut off at a bar line, as sample packs cut them, would otherwise read 0.1 there.

    Args:
        feat: shared features (its ``chroma``, (12, F), and ``pitch_fps``).

    Returns:
        The largest distance, in [0, 1]; 0 for signals too short to compare two windows.
    """
    n_all = feat.chroma.shape[1]
    c = feat.chroma[:, EDGE_FRAMES : max(EDGE_FRAMES, n_all - EDGE_FRAMES)].astype(np.float64)
    n = c.shape[1]
    w = max(1, int(_CHANGE_WINDOW_S * feat.pitch_fps))
    if n < 2 * w + 1:
        return 0.0
    csum = np.concatenate([np.zeros((12, 1)), np.cumsum(c, axis=1)], axis=1)
    t = np.arange(max(w, int(0.1 * n_all) - EDGE_FRAMES), n - w + 1)
    if t.size == 0:
        return 0.0
    before = csum[:, t] - csum[:, t - w]
    after = csum[:, t + w] - csum[:, t]
    norm = np.linalg.norm(before, axis=0) * np.linalg.norm(after, axis=0)
    ok = norm > 0
    if not np.any(ok):
        return 0.0
    dist = 1.0 - np.sum(before[:, ok] * after[:, ok], axis=0) / norm[ok]
    return float(np.clip(dist.max(), 0.0, 1.0))
