"""Tempo of loops: the loop-length prior, with the metre and octave chosen from evidence.

A loop cut to whole bars of 4/4 has ``BPM = 240·bars / duration`` (60·beats/duration); with
bars a power of two the candidates are octaves of each other, so the work is choosing the
metre and then the octave. The metre comes first (:func:`choose_metre`): the same bars divide
into four beats or three, and a waltz's onsets repeat after a third of its bar, hardly after
a quarter; a 3/4 loop then gets the candidates ``180·bars / duration``. Each candidate tempo
gets a feature vector (:func:`candidate_features`) and a linear score; the candidates of one
loop compete in a softmax (a conditional-logit model, McFadden 1973), whose probability for the
winner is the confidence. The evidence, all measured on a grid anchored at the loop start
(loops start on a downbeat):

* the metrical accent profile: onsets strongest on beats, weaker on eighths, weakest on
  sixteenths; a tempo twice too slow puts real beats on its off-beats, one twice too fast
  finds nothing between its beats;
* where kick and snare fall: low-band onsets on beats 1 and 3, high-band on 2 and 4 (a
  half-time groove at T looks like a backbeat at T/2; the hats tell them apart);
* the periodicity of the onset envelope (autocorrelation at the beat and half-beat lags);
* the harmonic rhythm: chords change on bar lines more than elsewhere;
* a log-normal tempo prior (Moelants & McKinney, "Tempo perception and musical content",
  ICMPC 2004: preferred tempo near 120 BPM).

The weights are fitted on generated loops by ``benchmarks/datasets/fit_tempo_model.py`` (seeds
other than the benchmark's). Name hints (``dnb``, ``trap``, ``halftime``) are applied on top.
When the loop is not cut to whole bars, the tempo is the autocorrelation estimate with a
lower confidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from companion.analysis.features import Features

MIN_BPM = 50.0
MAX_BPM = 220.0
#: Bar counts a loop may hold (4/4).
BAR_COUNTS = (1, 2, 4, 8, 16, 32)
#: Centre (BPM) and width (octaves) of the log-normal prior of the free estimate.
PRIOR_CENTER_BPM = 120.0
PRIOR_WIDTH_OCT = 0.9
#: A free estimate within this fraction of a loop-length candidate (or a simple ratio of one)
#: confirms the loop-length lattice.
SNAP_TOLERANCE = 0.04
#: A free estimate that fits no loop-length candidate wins when its autocorrelation is above
#: this and more than twice that of every candidate's beat, half-beat and two-beat lags.
STRONG_PERIODICITY = 0.35
#: A loop is read in 3/4 when :func:`three_four_evidence` reaches this (see
#: :func:`choose_metre`). Chosen on the loops of ``compose_band_loops.py`` seeds 1-2 alone
#: (grid 0.10-0.40: fewest wrong metres, 4 of 342, tied with 0.10) and reported on the other
#: generators, which it never saw.
THREE_FOUR_EVIDENCE = 0.15
#: Score added to candidates of 100 BPM or more when the name says a fast genre / half-time.
NAME_HINT_BONUS = 3.0

FEATURE_NAMES = (
    "prior_z",
    "prior_z2",
    "prior_above_175",
    "prior_below_70",
    "full_beat_vs_eighth",
    "full_eighth_vs_sixteenth",
    "low_beat_vs_eighth",
    "low_13_vs_24",
    "high_beat_vs_eighth",
    "high_eighth_vs_sixteenth",
    "high_24_vs_13",
    "ac_beat",
    "ac_half",
    "ac_low_beat",
    "harm_bar_vs_beats",
    "harm_3_vs_24",
    "harm_beat_vs_offbeat",
    "harm_bar_level",
    "swing_sixteenth",
    "swing_eighth",
    "harm_bar_unrhythmic",
    "harm_level_unrhythmic",
    "low_onsets_per_beat",
    "onsets_per_sixteenth",
)
#: Weights fitted by benchmarks/datasets/fit_tempo_model.py (L2 = 3) on the loops of hard1
#: hard2 hard3 hard4 hard5 hard6 hard7 hard8 easy1 easy2 csound_hard1 band_s1 band_s2
#: electro_s1 electro_s2; do not edit by hand.
WEIGHTS = np.array(
    [
        -0.823,  # prior_z
        -2.716,  # prior_z2
        -1.112,  # prior_above_175
        -0.051,  # prior_below_70
        0.709,  # full_beat_vs_eighth
        0.753,  # full_eighth_vs_sixteenth
        -0.692,  # low_beat_vs_eighth
        -0.281,  # low_13_vs_24
        0.701,  # high_beat_vs_eighth
        0.770,  # high_eighth_vs_sixteenth
        1.011,  # high_24_vs_13
        0.444,  # ac_beat
        0.819,  # ac_half
        0.328,  # ac_low_beat
        2.137,  # harm_bar_vs_beats
        -0.022,  # harm_3_vs_24
        0.438,  # harm_beat_vs_offbeat
        0.631,  # harm_bar_level
        -1.130,  # swing_sixteenth
        -1.314,  # swing_eighth
        0.542,  # harm_bar_unrhythmic
        0.283,  # harm_level_unrhythmic
        -1.422,  # low_onsets_per_beat
        -0.450,  # onsets_per_sixteenth
    ]
)


@dataclass
class TempoEstimate:
    """A tempo estimate.

    Attributes:
        bpm: beats per minute.
        confidence: in [0, 1]; below 0.5 means the octave is a guess.
        bars: bars the loop holds at ``bpm`` (None when not cut to whole bars).
        candidates: ``(bpm, probability)`` pairs considered, best first.
        beats_per_bar: the metre of a loop of whole bars: 4, or 3 for 3/4; None, like ``bars``,
            when it is not cut to whole bars (the free estimate).
    """

    bpm: float
    confidence: float
    bars: int | None
    candidates: list[tuple[float, float]]
    beats_per_bar: int | None = None


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
    x = np.asarray(onset, dtype=np.float64)
    x = x - x.mean()
    spec = np.fft.rfft(x)
    ac = np.fft.irfft(spec * np.conj(spec), n=x.size)
    return ac / ac[0] if ac[0] > 0 else np.zeros_like(ac)


def low_onset_autocorrelation(feat: Features) -> np.ndarray:
    """:func:`onset_autocorrelation` of the low band's onsets (kick, bass), where a bar's
    downbeat sits; ``(2,)`` zeros when the low band is silent."""
    return onset_autocorrelation(feat.onset_low) if feat.onset_low.any() else np.zeros(2)


def log_prior(bpm: np.ndarray | float) -> np.ndarray:
    """Log-normal tempo prior, 1.0 at :data:`PRIOR_CENTER_BPM`."""
    octaves = np.log2(np.asarray(bpm, dtype=np.float64) / PRIOR_CENTER_BPM)
    return np.exp(-0.5 * (octaves / PRIOR_WIDTH_OCT) ** 2)


def free_tempo(feat: Features) -> tuple[float, float]:
    """Tempo from the onset autocorrelation alone, weighted by the tempo prior.

    Returns:
        ``(bpm, strength)``: strength is the autocorrelation at the chosen lag, in [-1, 1].
    """
    ac = onset_autocorrelation(feat.onset)
    lags = np.arange(1, ac.size)
    bpm = 60.0 * feat.fps / lags
    ok = (bpm >= MIN_BPM) & (bpm <= MAX_BPM)
    if not np.any(ok):
        return PRIOR_CENTER_BPM, 0.0
    weighted = ac[1:] * log_prior(bpm)
    weighted[~ok] = -np.inf
    best = int(np.argmax(weighted))
    lag = float(lags[best])
    if 1 <= best < ac.size - 2:
        lag += parabolic_offset(ac[best], ac[best + 1], ac[best + 2])
    return 60.0 * feat.fps / lag, float(ac[best + 1])


def parabolic_offset(before: float, peak: float, after: float) -> float:
    """Where the parabola through three equally spaced samples peaks, relative to the middle
    one, in samples (Smith, "Spectral Audio Signal Processing", quadratic interpolation of
    spectral peaks).

    Args:
        before, peak, after: the samples at −1, 0 and +1.

    Returns:
        The offset in samples, within ±0.5 when ``peak`` is the largest of the three; 0.0 when
        the three are not concave.
    """
    denom = before - 2.0 * peak + after
    return 0.5 * (before - after) / denom if denom < 0 else 0.0


def grid_profile(
    env: np.ndarray, fps: float, bpm: float, steps_per_beat: int = 4, beats_per_bar: int = 4
) -> np.ndarray:
    """Mean strength of an envelope at each sixteenth of a bar, anchored at the loop start.

    Args:
        env: (T,) envelope (onset strength).
        fps: envelope frames per second.
        bpm: candidate tempo.
        steps_per_beat: grid steps per beat (4 = sixteenths).
        beats_per_bar: 4 for 4/4, 3 for 3/4.

    Returns:
        (beats_per_bar·steps_per_beat,) float64: for each grid step of the bar, the mean over
        bars of the envelope's maximum near the grid position: within ±¼ step on beats, and reaching later
        on off-beats so that swing still lands on them (up to ½ step late on sixteenths, ¾
        step on eighths: a triplet-swung "and" falls ⅔ step late).
    """
    per_bar = beats_per_bar * steps_per_beat
    step = fps * 60.0 / bpm / steps_per_beat
    n_steps = int(np.floor(env.size / step + 0.5))
    if n_steps < 1 or env.size == 0:
        return np.zeros(per_bar)
    values = np.zeros(per_bar)
    counts = np.zeros(per_bar)
    early = max(1, int(round(step / 4)))
    late = {0: early, 1: max(1, int(round(step / 2))), 2: max(1, int(round(0.75 * step)))}
    for k in range(n_steps):
        centre = int(round(k * step))
        phase = k % steps_per_beat
        reach = late[0] if phase == 0 else late[2] if 2 * phase == steps_per_beat else late[1]
        idx = np.arange(centre - early, centre + reach + 1) % env.size
        values[k % per_bar] += float(env[idx].max())
        counts[k % per_bar] += 1
    return values / np.maximum(counts, 1)


def swing_levels(env: np.ndarray, fps: float, bpm: float) -> tuple[float, float]:
    """How late the off-beats fall: swing at the sixteenth and at the eighth level.

    Returns:
        ``(sixteenths, eighths)``: for off-beat sixteenths (and off-beat eighths), the
        normalised difference between the envelope's maximum late (⅙ to ⅔ of a sixteenth
        after the grid position; up to ¾ for eighths) and on time (within ±⅙). Near +1 when
        the off-beats are swung, near −1 when they are straight, 0 when there are none.
    """
    step = fps * 60.0 / bpm / 4
    n_steps = int(np.floor(env.size / step + 0.5))
    sums = np.zeros((2, 2))
    tol = max(1, int(round(step / 6)))
    for k in range(n_steps):
        phase = k % 4
        if phase == 0:
            continue
        level = 1 if phase == 2 else 0
        centre = int(round(k * step))
        on = env[np.arange(centre - tol, centre + tol + 1) % env.size].max()
        stop = int(round(centre + (0.75 if level else 0.67) * step))
        late = env[np.arange(centre + tol + 1, max(stop, centre + tol + 2)) % env.size].max()
        sums[level] += (on, late)
    eps = 0.1 * float(env.mean()) * max(n_steps, 1) + 1e-9
    return _nd(sums[0, 1], sums[0, 0], eps), _nd(sums[1, 1], sums[1, 0], eps)


def count_onsets(env: np.ndarray, fps: float, rel: float = 0.25, min_gap_s: float = 0.05) -> int:
    """Number of onsets: peaks of ``env`` above ``rel`` × its maximum, ``min_gap_s`` apart
    (circular, so a loop's first onset counts once)."""
    if env.size < 3 or env.max() <= 0:
        return 0
    prev, nxt = np.roll(env, 1), np.roll(env, -1)
    peaks = np.flatnonzero((env > prev) & (env >= nxt) & (env > rel * env.max()))
    gap = max(1, int(min_gap_s * fps))
    count = 0
    last: int | np.signedinteger[Any] = -gap
    for p in peaks:
        if p - last >= gap:
            count += 1
            last = p
    return count


def _ac_at(ac: np.ndarray, lag: float) -> float:
    """Autocorrelation at a fractional lag (linear interpolation); 0 beyond the signal."""
    if lag >= ac.size - 1 or lag <= 0:
        return 0.0
    i = int(lag)
    frac = lag - i
    return float((1 - frac) * ac[i] + frac * ac[i + 1])


def _nd(a: float, b: float, eps: float) -> float:
    """Normalised difference (a − b) / (a + b + eps), in (−1, 1); near 0 when both are small."""
    return float((a - b) / (a + b + eps))


def beat_chroma_change(chroma: np.ndarray, fps: float, bpm: float) -> np.ndarray:
    """Harmonic change at each beat boundary of a loop (circular).

    Args:
        chroma: (12, F) chroma frames.
        fps: chroma frames per second.
        bpm: candidate tempo.

    Returns:
        (n_beats,) float64: at each beat boundary, 1 − cosine between the mean chroma of the
        last ¾ of the beat before and of the last ¾ of the beat after (skipping attacks), times
        the smaller of the two energies relative to the loudest beat.
    """
    period = fps * 60.0 / bpm
    n_beats = int(np.floor(chroma.shape[1] / period + 0.5))
    if n_beats < 2:
        return np.zeros(max(n_beats, 1))
    means = np.zeros((n_beats, 12))
    for k in range(n_beats):
        lo = int(round((k + 0.25) * period))
        hi = max(lo + 1, int(round((k + 1) * period)))
        idx = np.arange(lo, hi) % chroma.shape[1]
        means[k] = chroma[:, idx].mean(axis=1)
    energy = np.linalg.norm(means, axis=1)
    unit = means / np.maximum(energy, 1e-12)[:, None]
    prev = np.roll(np.arange(n_beats), 1)
    cos = np.sum(unit * unit[prev], axis=1)
    weight = np.minimum(energy, energy[prev]) / max(float(energy.max()), 1e-12)
    return (1.0 - cos) * weight


def candidate_features(
    feat: Features,
    bpm: float,
    ac: np.ndarray | None = None,
    beats_per_bar: int = 4,
    ac_low: np.ndarray | None = None,
) -> np.ndarray:
    """Evidence that ``bpm`` is the tempo of a loop starting on a downbeat.

    Args:
        feat: shared features of the loop.
        bpm: candidate tempo.
        ac: onset autocorrelation (computed when None).
        beats_per_bar: the candidate's metre, 4 for 4/4 or 3 for 3/4.
        ac_low: :func:`low_onset_autocorrelation` (computed when None).

    Returns:
        (len(FEATURE_NAMES),) float64, in the order of :data:`FEATURE_NAMES`: the prior terms
        z = log2(bpm/120), z², and the octaves above 175 and below 70 BPM; normalised differences of grid levels per band (beats
        against eighths, eighths against sixteenths, beats 1+3 against 2+4 for the kick,
        2+4 against 1+3 for the snare band), with the band's floor set by the full band so a
        silent band says nothing; autocorrelations at the beat and half-beat lags; and the
        harmonic change on bar lines against other beats, on beat 3 against beats 2 and 4,
        on beats against half-beats, and on bar lines against the largest change (chords
        that change on every bar line at the right tempo change on every other one at twice
        that tempo); the swing of off-beat sixteenths and eighths (swung sixteenths at
        T are swung eighths at 2T, which fast grooves rarely have); and the two harmonic
        bar-line features again, scaled by how little rhythm the loop has; low-band onsets
        per beat beyond one, and onsets per sixteenth beyond one (a tempo too slow puts
        kicks on eighths and hats on thirty-seconds). In 3/4 the strong beat is the downbeat
        and the weak ones beats 2 and 3 (the ``13_vs_24`` features), and there is no beat 3
        of a half bar (``harm_3_vs_24`` is 0).
    """
    if ac is None:
        ac = onset_autocorrelation(feat.onset)
    bpb = beats_per_bar
    full = grid_profile(feat.onset, feat.fps, bpm, beats_per_bar=bpb)
    low = grid_profile(feat.onset_low, feat.fps, bpm, beats_per_bar=bpb)
    high = grid_profile(feat.onset_high, feat.fps, bpm, beats_per_bar=bpb)
    eps = 0.1 * float(full.mean()) + 1e-9
    n = 4 * bpb
    beats, eighths, sixteenths = list(range(0, n, 4)), list(range(2, n, 4)), list(range(1, n, 2))
    # Strong beats: 1 and 3 of 4/4, the downbeat of 3/4; the weak ones: 2 and 4, or 2 and 3.
    strong, weak = ([0, 8], [4, 12]) if bpb == 4 else ([0], [4, 8])

    def levels(g: np.ndarray) -> tuple[float, float, float]:
        return float(g[beats].mean()), float(g[eighths].mean()), float(g[sixteenths].mean())

    fb, fe, fs = levels(full)
    lb, le, _ = levels(low)
    hb, he, hs = levels(high)
    z = float(np.log2(bpm / 120.0))
    lag = feat.fps * 60.0 / bpm
    if ac_low is None:
        ac_low = low_onset_autocorrelation(feat)

    # How rhythmic the loop is, the same for octave-related candidates: harmonic evidence
    # should count more in loops without a beat (pads).
    rhythm = float(np.clip(max(_ac_at(ac, lag / 2), _ac_at(ac, lag), _ac_at(ac, 2 * lag)), 0.0, 1.0))
    n_beats = max(1.0, feat.onset.size / lag)
    n_low = float(count_onsets(feat.onset_low, feat.fps))
    n_all = float(count_onsets(feat.onset, feat.fps))
    change = beat_chroma_change(feat.chroma, feat.pitch_fps, bpm)
    half = beat_chroma_change(feat.chroma, feat.pitch_fps, 2 * bpm)
    ceps = 0.02 + 1e-9
    bar = change[0::bpb].mean() if change.size >= bpb else change.mean()
    other = np.delete(change, np.arange(0, change.size, bpb)).mean() if change.size >= bpb else 0.0
    third = change[2::4].mean() if change.size >= 4 and bpb == 4 else 0.0
    even = np.concatenate([change[1::4], change[3::4]]).mean() if change.size >= 4 and bpb == 4 else 0.0
    on, off = (half[0::2].mean(), half[1::2].mean()) if half.size >= 2 else (0.0, 0.0)
    return np.array(
        [
            z,
            z * z,
            max(0.0, float(np.log2(bpm / 175.0))),
            max(0.0, float(np.log2(70.0 / bpm))),
            _nd(fb, fe, eps),
            _nd(fe, fs, eps),
            _nd(lb, le, eps),
            _nd(float(low[strong].mean()), float(low[weak].mean()), eps),
            _nd(hb, he, eps),
            _nd(he, hs, eps),
            _nd(float(high[weak].mean()), float(high[strong].mean()), eps),
            _ac_at(ac, lag),
            _ac_at(ac, lag / 2),
            _ac_at(ac_low, lag),
            _nd(bar, other, ceps),
            _nd(third, even, ceps),
            _nd(on, off, ceps),
            float(bar / (change.max() + ceps)),
            *swing_levels(feat.onset, feat.fps, bpm),
            _nd(bar, other, ceps) * (1.0 - rhythm),
            float(bar / (change.max() + ceps)) * (1.0 - rhythm),
            max(0.0, float(np.log2(max(n_low, 1e-9) / n_beats))),
            max(0.0, float(np.log2(max(n_all, 1e-9) / (4 * n_beats)))),
        ]
    )


def estimate_tempo(
    feat: Features,
    duration_s: float,
    fast_genre: bool = False,
    half_time: bool = False,
    common_time: bool = False,
    weights: np.ndarray | None = None,
) -> TempoEstimate:
    """Estimate the tempo of a loop.

    Args:
        feat: shared features of the loop.
        duration_s: loop length in seconds (the whole file).
        fast_genre: the name says a genre written at the fast tempo (``dnb``, ``jungle``).
        half_time: the name says half-time (``halftime``, ``trap``): written at the fast tempo.
        common_time: the name says a genre played in 4/4 (``techno``): never read in 3/4.
        weights: model weights (defaults to :data:`WEIGHTS`).

    Returns:
        The :class:`TempoEstimate`.
    """
    w = WEIGHTS if weights is None else weights
    ac = onset_autocorrelation(feat.onset)
    free_bpm, strength = free_tempo(feat)
    ac_low = low_onset_autocorrelation(feat)
    beats_per_bar = 4 if common_time else choose_metre(feat, ac, duration_s, free_bpm, strength, ac_low=ac_low)
    cands = loop_length_candidates(duration_s, beats_per_bar)
    matched = any(_simple_ratio(free_bpm, bpm) for bpm, _ in cands)
    lattice = max(
        (_ac_at(ac, feat.fps * 60.0 / bpm * m) for bpm, _ in cands for m in (0.5, 1.0, 2.0)),
        default=0.0,
    )
    if not cands or (not matched and strength >= STRONG_PERIODICITY and lattice < 0.5 * strength):
        confidence = float(np.clip(0.5 * strength, 0.05, 0.4))
        return TempoEstimate(bpm=round(free_bpm, 2), confidence=confidence, bars=None, candidates=[(free_bpm, 1.0)])
    scores = np.array([float(w @ candidate_features(feat, bpm, ac, beats_per_bar, ac_low)) for bpm, _ in cands])
    if fast_genre or half_time:
        scores += np.array([NAME_HINT_BONUS if bpm >= 100 else 0.0 for bpm, _ in cands])
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    order = np.argsort(probs)[::-1]
    best = int(order[0])
    # The softmax says how clearly one candidate beats the others; the periodicity at the
    # candidates' lags says whether there was any rhythm to judge by (a lone candidate in a
    # drone is a guess, whatever its probability).
    evidence = float(np.clip(0.5 + max(lattice, 0.0), 0.5, 1.0))
    confidence = float(probs[best]) * evidence * (1.0 if matched or strength < 0.1 else 0.8)
    return TempoEstimate(
        bpm=round(cands[best][0], 2),
        confidence=confidence,
        bars=cands[best][1],
        candidates=[(cands[i][0], float(probs[i])) for i in order],
        beats_per_bar=beats_per_bar,
    )


def choose_metre(
    feat: Features,
    ac: np.ndarray,
    duration_s: float,
    free_bpm: float,
    strength: float,
    threshold: float = THREE_FOUR_EVIDENCE,
    ac_low: np.ndarray | None = None,
) -> int:
    """Beats per bar of a loop: 3 when :func:`three_four_evidence` reaches ``threshold``,
    unless the loop's own pulse (the free estimate, strongly periodic) is an octave of no 3/4
    loop-length tempo; 4 otherwise.

    Args:
        feat: shared features of the loop.
        ac: onset autocorrelation of ``feat.onset``.
        duration_s: loop length in seconds.
        free_bpm: :func:`free_tempo`'s estimate (BPM).
        strength: its autocorrelation, in [-1, 1].
        threshold: the evidence needed (:data:`THREE_FOUR_EVIDENCE`; the fit script tries others).
        ac_low: :func:`low_onset_autocorrelation` (computed when None).

    Returns:
        3 or 4.
    """
    if three_four_evidence(feat, ac, duration_s, ac_low) < threshold:
        return 4
    waltz = loop_length_candidates(duration_s, beats_per_bar=3)
    if strength >= STRONG_PERIODICITY and not any(_octave(free_bpm, bpm) for bpm, _ in waltz):
        return 4
    return 3


def three_four_evidence(feat: Features, ac: np.ndarray, duration_s: float, ac_low: np.ndarray | None = None) -> float:
    """How much more the onsets repeat at the beat of a 3/4 reading of the loop than at the
    beat of the 4/4 reading of the same bars.

    A loop of whole bars has one bar length per bar count; 3/4 divides it in three beats, 4/4
    in four. In a waltz the onsets (and the bass) repeat after a third of a bar and hardly
    after a quarter; in 4/4 the other way round.

    Args:
        feat: shared features of the loop.
        ac: onset autocorrelation (:func:`onset_autocorrelation` of ``feat.onset``).
        duration_s: loop length in seconds.
        ac_low: :func:`low_onset_autocorrelation` (computed when None).

    Returns:
        In [-1, 1]: over the 3/4 loop-length candidates (beat lag L), the largest mean over the
        full and low bands of ``ac(L) − ac(¾·L)``; −1 when there is no candidate.
    """
    if ac_low is None:
        ac_low = low_onset_autocorrelation(feat)
    best = -1.0
    for bpm, _ in loop_length_candidates(duration_s, beats_per_bar=3):
        lag = feat.fps * 60.0 / bpm
        diff = [_ac_at(a, lag) - _ac_at(a, 0.75 * lag) for a in (ac, ac_low)]
        best = max(best, 0.5 * (diff[0] + diff[1]))
    return best


def _octave(free_bpm: float, bpm: float) -> bool:
    """Whether ``free_bpm`` is within :data:`SNAP_TOLERANCE` of ``bpm`` times ¼, ½, 1, 2 or 4."""
    return any(abs(free_bpm / (bpm * r) - 1.0) <= SNAP_TOLERANCE for r in (0.25, 0.5, 1.0, 2.0, 4.0))


def _simple_ratio(free_bpm: float, bpm: float) -> bool:
    """Whether ``free_bpm`` is within :data:`SNAP_TOLERANCE` of ``bpm`` times 1/4, 1/3, 1/2,
    2/3, 3/4, 1, 4/3, 3/2, 2, 3 or 4."""
    for ratio in (0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0, 4 / 3, 1.5, 2.0, 3.0, 4.0):
        if abs(free_bpm / (bpm * ratio) - 1.0) <= SNAP_TOLERANCE:
            return True
    return False
