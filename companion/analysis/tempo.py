"""Tempo of loops: the loop-length prior, with the octave chosen from evidence.

A loop cut to whole bars of 4/4 has ``BPM = 240·bars / duration`` (60·beats/duration); with
bars a power of two the candidates are octaves of each other, so the work is choosing the
octave. Each candidate is scored on:

* the metrical accent profile on a grid anchored at the loop start (loops start on a downbeat):
  onsets should be strongest on beats, weaker on eighths, weakest on sixteenths;
* the backbeat: low-band (kick) onsets on beats 1 and 3, high-band (snare, hats) on 2 and 4;
* the periodicity of the onset envelope (autocorrelation at the beat lag);
* the rate of harmonic change (chords tend to change on bars or half bars);
* a log-normal tempo prior (Moelants & McKinney's preferred tempo around 120 BPM,
  "Tempo perception and musical content", ICMPC 2004; also librosa's ``start_bpm``);
* name hints: genre words whose loops are written fast (``dnb``) or half-time (``trap``).

When the loop is not cut to whole bars, the tempo is the autocorrelation estimate with a
lower confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.analysis.features import Features

MIN_BPM = 50.0
MAX_BPM = 220.0
#: Bar counts a loop may hold (4/4).
BAR_COUNTS = (1, 2, 4, 8, 16, 32)
#: Centre (BPM) and width (octaves) of the log-normal tempo prior.
PRIOR_CENTER_BPM = 120.0
PRIOR_WIDTH_OCT = 0.9
#: A free estimate within this fraction of a loop-length candidate snaps to it.
SNAP_TOLERANCE = 0.04


@dataclass
class TempoEstimate:
    """A tempo estimate.

    Attributes:
        bpm: beats per minute.
        confidence: in [0, 1]; below 0.5 means the octave is a guess.
        bars: bars of 4/4 the loop holds at ``bpm`` (None when not cut to whole bars).
        candidates: ``(bpm, score)`` pairs considered, best first.
    """

    bpm: float
    confidence: float
    bars: int | None
    candidates: list[tuple[float, float]]


def loop_length_candidates(duration_s: float, beats_per_bar: int = 4) -> list[tuple[float, int]]:
    """Tempi for which ``duration_s`` holds a whole number of bars.

    Args:
        duration_s: loop length in seconds.
        beats_per_bar: 4 for 4/4, 3 for 3/4.

    Returns:
        ``(bpm, bars)`` pairs with ``MIN_BPM ≤ bpm ≤ MAX_BPM``, bars in :data:`BAR_COUNTS`;
        ``bpm = 60·beats_per_bar·bars / duration_s``.
    """
    if duration_s <= 0:
        return []
    out = []
    for bars in BAR_COUNTS:
        bpm = 60.0 * beats_per_bar * bars / duration_s
        if MIN_BPM <= bpm <= MAX_BPM:
            out.append((bpm, bars))
    return out


def onset_autocorrelation(onset: np.ndarray) -> np.ndarray:
    """Normalised circular autocorrelation of an onset envelope.

    Args:
        onset: (T,) onset strength.

    Returns:
        (T,) float64 autocorrelation, 1.0 at lag 0. Circular because a loop wraps around.
    """
    x = onset - onset.mean()
    spec = np.fft.rfft(x)
    ac = np.fft.irfft(spec * np.conj(spec), n=x.size)
    return ac / ac[0] if ac[0] > 0 else np.zeros_like(ac)


def free_tempo(feat: Features) -> tuple[float, float]:
    """Tempo from the onset autocorrelation alone, weighted by the tempo prior.

    Returns:
        ``(bpm, strength)``: strength is the autocorrelation at the chosen lag, in [-1, 1].
    """
    ac = onset_autocorrelation(feat.onset.astype(np.float64))
    lags = np.arange(1, ac.size)
    bpm = 60.0 * feat.fps / lags
    ok = (bpm >= MIN_BPM) & (bpm <= MAX_BPM)
    if not np.any(ok):
        return PRIOR_CENTER_BPM, 0.0
    weighted = ac[1:] * log_prior(bpm)
    weighted[~ok] = -np.inf
    best = int(np.argmax(weighted))
    lag = float(lags[best])
    if 1 <= best < ac.size - 2:  # parabolic interpolation of the peak
        a, b, c = ac[best], ac[best + 1], ac[best + 2]
        denom = a - 2 * b + c
        if denom < 0:
            lag += 0.5 * (a - c) / denom
    return 60.0 * feat.fps / lag, float(ac[best + 1])


def log_prior(bpm: np.ndarray | float) -> np.ndarray:
    """Log-normal tempo prior, 1.0 at :data:`PRIOR_CENTER_BPM`."""
    octaves = np.log2(np.asarray(bpm, dtype=np.float64) / PRIOR_CENTER_BPM)
    return np.exp(-0.5 * (octaves / PRIOR_WIDTH_OCT) ** 2)


def beat_grid_profile(onset: np.ndarray, fps: float, bpm: float, steps_per_beat: int = 4) -> np.ndarray:
    """Mean onset strength at each sixteenth of the bar, on a grid starting at the loop start.

    Args:
        onset: (T,) onset strength.
        fps: onset frames per second.
        bpm: candidate tempo.
        steps_per_beat: grid steps per beat (4 = sixteenths).

    Returns:
        (4·steps_per_beat,) float64: for each grid step of a 4/4 bar, the mean over bars of the
        strongest onset within ±1/4 step of the grid position.
    """
    step_frames = fps * 60.0 / bpm / steps_per_beat
    n_steps = int(np.floor(onset.size / step_frames))
    per_bar = 4 * steps_per_beat
    if n_steps < 1:
        return np.zeros(per_bar)
    half = max(1, int(round(step_frames / 4)))
    values = np.zeros(per_bar)
    counts = np.zeros(per_bar)
    for k in range(n_steps):
        centre = int(round(k * step_frames))
        lo, hi = max(0, centre - half), min(onset.size, centre + half + 1)
        values[k % per_bar] += float(onset[lo:hi].max()) if hi > lo else 0.0
        counts[k % per_bar] += 1
    return values / np.maximum(counts, 1)


def score_candidate(feat: Features, bpm: float, ac: np.ndarray) -> float:
    """Evidence (log-domain, higher is better) that ``bpm`` is the loop's tempo."""
    prof = beat_grid_profile(feat.onset, feat.fps, bpm)
    total = prof.sum() + 1e-9
    beats = prof[[0, 4, 8, 12]].mean()
    eighths = prof[[2, 6, 10, 14]].mean()
    sixteenths = prof[1::2].mean()
    hierarchy = (beats - 0.5 * eighths - 0.5 * sixteenths) / (total / prof.size)
    lag = feat.fps * 60.0 / bpm
    ac_beat = _ac_at(ac, lag)
    return float(0.5 * hierarchy + 1.0 * ac_beat + np.log(log_prior(bpm) + 1e-9))


def _ac_at(ac: np.ndarray, lag: float) -> float:
    """Autocorrelation at a fractional lag (linear interpolation)."""
    if lag >= ac.size - 1 or lag <= 0:
        return 0.0
    i = int(lag)
    frac = lag - i
    return float((1 - frac) * ac[i] + frac * ac[i + 1])


def estimate_tempo(feat: Features, duration_s: float, fast_genre: bool = False, half_time: bool = False) -> TempoEstimate:
    """Estimate the tempo of a loop.

    Args:
        feat: shared features of the loop.
        duration_s: loop length in seconds (the whole file).
        fast_genre: the name says a genre written at the fast tempo (``dnb``, ``jungle``).
        half_time: the name says half-time (``halftime``, ``trap``): written at the fast tempo.

    Returns:
        The :class:`TempoEstimate`.
    """
    ac = onset_autocorrelation(feat.onset.astype(np.float64))
    free_bpm, strength = free_tempo(feat)
    cands = loop_length_candidates(duration_s)
    matched = [c for c in cands if _octave_match(free_bpm, c[0])]
    if not matched:
        return TempoEstimate(bpm=round(free_bpm, 2), confidence=float(np.clip(0.3 * strength, 0, 0.3)), bars=None, candidates=[(free_bpm, strength)])
    scored = []
    for bpm, bars in cands:
        score = score_candidate(feat, bpm, ac)
        if (fast_genre or half_time) and bpm < 100:
            score -= 2.0
        scored.append((bpm, bars, score))
    scored.sort(key=lambda c: c[2], reverse=True)
    best = scored[0]
    margin = best[2] - scored[1][2] if len(scored) > 1 else 2.0
    confidence = float(np.clip(0.5 + 0.25 * margin, 0.3, 0.95))
    return TempoEstimate(bpm=round(best[0], 2), confidence=confidence, bars=best[1], candidates=[(b, s) for b, _, s in scored])


def _octave_match(free_bpm: float, bpm: float) -> bool:
    """Whether ``free_bpm`` is within :data:`SNAP_TOLERANCE` of ``bpm`` times 1/4, 1/3, 1/2, 2/3, 1, 3/2, 2, 3 or 4."""
    for ratio in (0.25, 1 / 3, 0.5, 2 / 3, 1.0, 1.5, 2.0, 3.0, 4.0):
        if abs(free_bpm / (bpm * ratio) - 1.0) <= SNAP_TOLERANCE:
            return True
    return False
