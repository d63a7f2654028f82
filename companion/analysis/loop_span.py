"""Where a loop's bars end in its file: silence or a ringing tail after the last bar.

A loop exported with silence after it (a render's padding, an editor's selection a little too
long) is no longer a whole number of bars long. The loop-length lattice of
:mod:`companion.analysis.tempo` then gives a tempo a few per cent off, and the circular onset
features wrap the silence onto the downbeat. But a loop may also end on a rest, and then the
silence belongs to it. So the tempo is estimated for several readings of the span: the whole
file; the file up to the end of its sound; and, for a loop exported with the tail of its last
bar ringing on (reverb, a release), the file up to a bar line after its last onset, the bars
taken from the onsets' own pulse (:func:`tail_readings`), or from that pulse at another
metrical level (:func:`metre_readings`). A reading that holds whole bars beats
one that does not; between two that do, the reading whose onsets fall best on its own beat
grid (:func:`grid_alignment`) wins, the whole file on ties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.analysis.audio import QUIET_DB
from companion.analysis.features import (
    ONSET_EDGE_FRAMES,
    ONSET_HOP,
    Features,
    compute_features,
    inner_onset,
    lagged_autocorrelation,
)
from companion.analysis.kind import strong_onsets
from companion.analysis.tempo import BAR_COUNTS, TempoEstimate, estimate_tempo, free_tempo, parabolic_offset

#: Silence shorter than half an onset hop (≈ 5.8 ms at 22 050 Hz) moves no onset frame, so it
#: gives no other reading.
MIN_PAD_HOPS = 0.5
#: Octave into which :func:`grid_alignment` folds a tempo (BPM), so that readings an octave
#: apart are judged on the same grid.
FOLD_BPM = (80.0, 160.0)
#: Half-width of :func:`grid_alignment`'s window round each grid point, in beats of the folded
#: tempo: ⅛ of an eighth note.
REACH_BEATS = 1.0 / 16.0
#: How far (share of the lag) :func:`refine_tempo` looks round a tempo for the autocorrelation
#: peak: a few times the ≈ 1 % error of a beat lag placed between frames.
REFINE_SPAN = 0.03
#: Ratios at which a pulse read from the onsets may run against the beat: a dotted figure or a
#: triplet feel puts the strongest periodicity at ¾, ⅔, 4/3 or 3/2 of it, and bar lines placed
#: at that pulse are no bar lines of the loop. :func:`metre_readings` tries the pulse at each
#: of these ratios, under the three conditions below.
METRE_RATIOS = (0.75, 2.0 / 3.0, 4.0 / 3.0, 1.5)
#: … if the whole file's tempo does not already agree with the pulse within this share at one
#: of the ratios or an octave (an exact loop's length agrees with its own pulse; one with a tail
#: agrees only by chance). Chosen on the tail loops of ``make_loops`` hard seed 0 and the synth
#: generator seed 0 among 1.5 %, 0.8 % and no condition, as the widest share that changed no
#: exact loop of five other sets.
METRE_AGREEMENT = 0.008
#: … and if the onsets repeat at all (:func:`~companion.analysis.tempo.free_tempo` strength at
#: least this): a held pad's strength is about 0, and a reading at a guessed metre only adds noise.
MIN_METRE_STRENGTH = 0.1
#: … and such a reading wins only if its grid alignment beats the others' by this share: the
#: whole file's reading is right for most loops, and a pulse at a guessed metre can land on a
#: loop's last hit by chance. Sonic Pi ``loop_perc1`` (one bar, 97.0 BPM, its last hit ringing
#: for a beat) read 130.8 BPM at a lift 4 % above the whole file's; 10 % kept every reading
#: that was right on the tail loops of hard seed 0 and synth seed 0 but one.
METRE_MARGIN = 0.1


def sounding_span(y: np.ndarray, threshold_db: float = QUIET_DB) -> tuple[int, int]:
    """First and one-past-last sample louder than ``threshold_db`` below the peak.

    Args:
        y: (n,) float32 mono signal.
        threshold_db: level relative to the peak (dB, negative).

    Returns:
        ``(start, end)`` sample indices; ``(0, n)`` for silence or an empty signal.
    """
    mag = np.abs(np.asarray(y))
    if mag.size == 0 or float(mag.max()) <= 0.0:
        return 0, int(mag.size)
    loud = np.flatnonzero(mag > float(mag.max()) * 10.0 ** (threshold_db / 20.0))
    return int(loud[0]), int(loud[-1]) + 1


def sound_end(y: np.ndarray) -> int:
    """Where the sound of ``y`` ends: one past its last sample louder than
    :data:`~companion.analysis.audio.QUIET_DB` below the peak, or ``n`` when the silence after
    it is shorter than :data:`MIN_PAD_HOPS` onset hops.

    Args:
        y: (n,) float32 mono signal.

    Returns:
        A sample index in ``[0, n]``.
    """
    n = int(np.asarray(y).size)
    end = sounding_span(y)[1]
    return end if n - end >= MIN_PAD_HOPS * ONSET_HOP else n


def span_readings(y: np.ndarray) -> list[tuple[int, int]]:
    """The spans the loop may cover: the whole signal first, then the signal up to the end of
    its sound (:func:`sound_end`) when the silence after it lasts :data:`MIN_PAD_HOPS` onset hops
    or more.

    Silence before the sound gives no reading: a loop starts on its downbeat, and silence
    there is a rest or a soft attack far more often than padding.

    Args:
        y: (n,) float32 mono signal.

    Returns:
        ``(start, end)`` sample ranges, the whole ``(0, n)`` first, no duplicates.
    """
    n = int(np.asarray(y).size)
    return list(dict.fromkeys([(0, n), (0, sound_end(y))]))


@dataclass(frozen=True)
class Pulse:
    """The onsets' own pulse of a sound, which places bar lines after its last onset.

    Attributes:
        last: frame of the last strong onset (:func:`last_onset`).
        bpm: the :func:`~companion.analysis.tempo.free_tempo` estimate refined by
            :func:`refine_tempo` over the onsets up to ``last`` (BPM).
        strength: ``free_tempo``'s autocorrelation at its lag, in [−1, 1].
    """

    last: int
    bpm: float
    strength: float


def find_pulse(feat: Features) -> Pulse | None:
    """The :class:`Pulse` of a sound, or None when no inner frame holds a strong onset.

    Args:
        feat: features of the sound (from sample 0).
    """
    last = last_onset(feat.onset)
    if last is None:
        return None
    free, strength = free_tempo(feat)
    return Pulse(last, refine_tempo(feat.onset[: last + 1], feat.fps, free), strength)


def tail_readings(pulse: Pulse | None, fps: float, sr: int, n: int) -> list[tuple[int, int]]:
    """Spans ending at a bar line after the last onset, for a loop exported with the tail of
    its last bar ringing on (reverb, a release): the bars follow from the onsets' own pulse
    (:func:`~companion.analysis.tempo.free_tempo`, refined by :func:`refine_tempo`), not from
    the file's length.

    Every reading proposed here still has to win :func:`loop_tempo`'s comparison with the whole
    file, so a pulse too weak or wrong to place bar lines only adds readings that lose.

    Args:
        pulse: :func:`find_pulse` of the sound's features; None gives no reading.
        fps: the features' frames per second.
        sr: sample rate (Hz).
        n: length of the signal (samples).

    Returns:
        ``(0, end)`` sample ranges without duplicates, ``end`` at 1, 2, 4… bars of 4/4
        (:data:`~companion.analysis.tempo.BAR_COUNTS`), no earlier than :data:`REACH_BEATS` of
        a beat before the end of the last onset's frame (:func:`last_onset`; an onset that
        close to the bar line is the frame's own smear), and at least a beat before ``n``: a
        shorter tail is within what the pulse's error adds up to over a long loop, and would
        only repeat the whole file's reading.
    """
    return [] if pulse is None else _bar_ends(pulse.last, fps, sr, n, pulse.bpm)


def metre_readings(feat: Features, pulse: Pulse | None, sr: int, n: int, whole_bpm: float) -> list[tuple[int, int]]:
    """:func:`tail_readings` at the pulse times each of :data:`METRE_RATIOS`, for a tail loop
    whose pulse runs at ¾, ⅔, 4/3 or 3/2 of its beat: only if the whole file's tempo
    ``whole_bpm`` disagrees with the pulse at every such ratio and octave
    (:data:`METRE_AGREEMENT`) and the onsets repeat at all (:data:`MIN_METRE_STRENGTH`).
    :func:`loop_tempo` makes them win by :data:`METRE_MARGIN`.

    Args:
        feat: features of the sound (from sample 0).
        pulse: :func:`find_pulse` of ``feat``; None gives no reading.
        sr: sample rate (Hz).
        n: length of the signal (samples).
        whole_bpm: the whole file's tempo reading (BPM, > 0).

    Returns:
        ``(0, end)`` sample ranges as :func:`tail_readings` gives them, without duplicates;
        none when a condition fails.
    """
    if pulse is None or pulse.strength < MIN_METRE_STRENGTH:
        return []
    body = feat.onset[: pulse.last + 1]
    ratios = (0.5, 1.0, 2.0, *METRE_RATIOS)
    if any(abs(pulse.bpm / (whole_bpm * ratio) - 1.0) <= METRE_AGREEMENT for ratio in ratios):
        return []  # the file's length agrees with its pulse: an exact loop
    ends = [
        end
        for ratio in METRE_RATIOS
        for end in _bar_ends(pulse.last, feat.fps, sr, n, refine_tempo(body, feat.fps, pulse.bpm * ratio))
    ]
    return list(dict.fromkeys(ends))


def _bar_ends(last: int, fps: float, sr: int, n: int, bpm: float) -> list[tuple[int, int]]:
    """``(0, end)`` at 1, 2, 4… bars of ``bpm`` after onset frame ``last`` (less
    :data:`REACH_BEATS`) and at least a beat before sample ``n``."""
    beat = 60.0 / bpm * sr
    after = (last + 1) / fps * sr - REACH_BEATS * beat
    ends = (int(round(4 * bars * beat)) for bars in BAR_COUNTS)
    return [(0, end) for end in ends if after < end <= n - beat]


def refine_tempo(onset: np.ndarray, fps: float, bpm: float) -> float:
    """A tempo made precise by the onset autocorrelation at several beats' lag.

    An error of a fraction of a frame in the beat period (lag ≈ 43 frames at 120 BPM) is an
    error of about 1 % in the tempo, and a bar line placed 4 bars on by it misses by a sixteenth.
    The same fraction of a frame at a lag of ``k`` beats is ``k`` times smaller in the tempo. So
    the peak of the (linear, unbiased) autocorrelation is looked for within
    ±:data:`REFINE_SPAN` of ``k`` beats, for the longest ``k`` in 16, 8, 4, 2 whose lag fits twice
    into the envelope, and placed between frames by parabolic interpolation (as
    :func:`~companion.analysis.tempo.free_tempo` places its beat lag).

    Args:
        onset: (T,) onset strength, up to the end of the material (not a tail).
        fps: its frames per second.
        bpm: the tempo to refine (BPM, > 0).

    Returns:
        The refined tempo (BPM), within ±:data:`REFINE_SPAN` of ``bpm``; ``bpm`` when even two
        beats' lag does not fit twice.
    """
    n = int(np.asarray(onset).size)
    for beats in (16, 8, 4, 2):
        centre = beats * 60.0 * fps / bpm
        if 2 * (centre * (1.0 + REFINE_SPAN) + 1) > n:
            continue
        lags = np.arange(int(centre * (1.0 - REFINE_SPAN)) - 1, int(np.ceil(centre * (1.0 + REFINE_SPAN))) + 2)
        ac = lagged_autocorrelation(onset, lags)
        i = int(np.argmax(ac[1:-1])) + 1
        lag = float(lags[i]) + parabolic_offset(ac[i - 1], ac[i], ac[i + 1])
        return 60.0 * fps * beats / lag
    return float(bpm)


def last_onset(onset: np.ndarray) -> int | None:
    """Frame of the last strong onset (:func:`~companion.analysis.kind.strong_onsets`, above
    0.3 of the strongest) within :func:`~companion.analysis.features.inner_onset`: a tail cut
    short reads as an onset in the last frames, and the wrap of a quiet tail onto a loud start
    as the strongest onset of all in the first.

    Args:
        onset: (T,) onset strength (:attr:`Features.onset`).

    Returns:
        The frame index in ``onset``, or None when no inner frame holds a strong onset.
    """
    onsets = strong_onsets(inner_onset(onset), 1.0)  # fps 1: no 50 ms spacing to drop the last onset
    return None if onsets.size == 0 else int(onsets[-1]) + ONSET_EDGE_FRAMES


def fold(bpm: float) -> float:
    """``bpm`` times the power of two that brings it into :data:`FOLD_BPM` (BPM > 0)."""
    folded = float(bpm)
    while folded >= FOLD_BPM[1]:
        folded /= 2.0
    while folded < FOLD_BPM[0]:
        folded *= 2.0
    return folded


def grid_alignment(onset: np.ndarray, fps: float, bpm: float) -> float:
    """How much of the onset strength falls on the eighth-note grid of ``bpm`` anchored at the
    first frame, against what an even spread would put there (a lift: 1 for no alignment).

    The tempo is first folded into :data:`FOLD_BPM`, so that a reading at double or half tempo
    is judged on the same grid. Each grid point takes the frames within ±:data:`REACH_BEATS`
    (⅛ of an eighth, at least one frame each side), on beats and off-beats alike; a reading
    whose bars are a few per cent too long or short drifts off its grid by the end of the loop.

    Args:
        onset: (T,) onset strength (:attr:`Features.onset`).
        fps: its frames per second.
        bpm: the reading's tempo (BPM, > 0).

    Returns:
        ``(share of onset strength on the grid) / (share of frames on the grid)``, ≥ 0; 0 when
        the envelope is flat or empty.
    """
    env = np.asarray(onset, dtype=np.float64)
    if env.size == 0 or bpm <= 0:
        return 0.0
    env = np.maximum(env - float(np.median(env)), 0.0)
    total = float(env.sum())
    if total <= 0.0:
        return 0.0
    beat = fps * 60.0 / fold(bpm)
    step = beat / 2.0
    reach = max(1, int(round(REACH_BEATS * beat)))
    on_grid = np.zeros(env.size, dtype=bool)
    for centre in np.round(np.arange(0.0, env.size, step)).astype(int):
        on_grid[max(0, centre - reach) : centre + reach + 1] = True
    return float(env[on_grid].sum() / total) / float(on_grid.mean())


def loop_tempo(
    y: np.ndarray,
    sr: int,
    duration_s: float,
    feat: Features,
    feat_end: int,
    fast_genre: bool = False,
    half_time: bool = False,
    common_time: bool = False,
) -> TempoEstimate:
    """The tempo of a loop, read over each of its :func:`span_readings`, :func:`tail_readings`
    and :func:`metre_readings`.

    A reading shorter than the file competes only if what it leaves out lasts
    :data:`REACH_BEATS` of a beat or more (at its folded tempo): shorter, the two readings'
    grids part by less than :func:`grid_alignment`'s window by the end of the loop, and the
    whole file stands. A reading whose length holds whole bars (the loop-length lattice,
    ``bars`` not None) beats one that fell back to the free estimate: what made the file no
    whole number of bars long was padding or a tail. Among the rest, the reading whose onsets
    :func:`grid_alignment` finds best on their grid wins, the whole file on ties.

    Args:
        y: (n,) float32 mono analysis signal.
        sr: its sample rate (Hz).
        duration_s: length of the file (seconds; the whole reading's length).
        feat: :func:`compute_features` of ``y[:feat_end]``, reused for that reading.
        feat_end: end of the span ``feat`` covers (samples).
        fast_genre, half_time, common_time: name hints, as for :func:`estimate_tempo`.

    Returns:
        The winning reading's :class:`TempoEstimate`.
    """
    n = int(np.asarray(y).size)

    def read(start: int, end: int) -> tuple[Features, TempoEstimate]:
        f = feat if (start, end) == (0, feat_end) else compute_features(y[start:end], sr)
        length = duration_s if (start, end) == (0, n) else (end - start) / sr
        est = estimate_tempo(f, length, fast_genre=fast_genre, half_time=half_time, common_time=common_time)
        return f, est

    reads = {span: read(*span) for span in span_readings(y)}
    pulse = find_pulse(feat)
    for span in tail_readings(pulse, feat.fps, sr, n):
        reads.setdefault(span, read(*span))
    metre = [span for span in metre_readings(feat, pulse, sr, n, reads[(0, n)][1].bpm) if span not in reads]
    for span in metre:
        reads[span] = read(*span)
    best: tuple[tuple[bool, float], TempoEstimate] | None = None
    for (start, end), (f, est) in reads.items():
        if (start, end) != (0, n) and (n - end) / sr < REACH_BEATS * 60.0 / fold(est.bpm):
            continue  # the two grids part by less than the window: the alignment cannot tell them apart
        lift = grid_alignment(f.onset, f.fps, est.bpm)
        score = (est.bars is not None, lift / (1.0 + METRE_MARGIN) if (start, end) in metre else lift)
        if best is None or score > best[0]:
            best = (score, est)
    assert best is not None  # span_readings always gives the whole signal
    return best[1]
