"""Front end and raw block features of the ``fingerprint/v1`` embedding.

:func:`prepare` turns a signal into the analysed form (22 050 Hz, unit peak, starting at the
onset); :func:`raw_features` measures every block's features, unstandardised. The layout,
weights, standardisation and sources are documented in :mod:`companion.embedding.fingerprint`,
which assembles the vector. All maths is float64 numpy with no BLAS matrix products.
"""

from __future__ import annotations

import itertools

import librosa
import numpy as np
import soxr

SR = 22050
#: Hop between analysis frames in samples (11.6 ms).
HOP = 256
#: Window of the main STFT in samples (46.4 ms): envelopes and spectral shape.
N_WIN = 1024
#: Window of the long STFT in samples (186 ms): band flatness and harmonics (5.4 Hz bins).
N_LONG = 4096
#: Frame length for the autocorrelation (pitch, clarity) in samples (93 ms).
N_ACF = 2048
#: Time segments in hops after the onset (log-spaced): 0, 12, 23, 46, 93, 186, 372, 743 ms, 2.97 s.
SEGMENT_EDGES = (0, 1, 2, 4, 8, 16, 32, 64, 256)
#: Attack / body / tail segments in hops: 0–35 ms, 35–150 ms, 150–600 ms.
ABT_EDGES = (0, 3, 13, 52)
#: Onset threshold: first block within this many dB of the peak.
ONSET_DB = -30.0
#: Peak (dBFS) below which the input is treated as silence.
SILENCE_DB = -100.0
#: Longest stretch analysed after the onset (s); bounds the cost on long files.
MAX_ANALYSIS_S = 10.0
#: Shortest signal (s) for which the rhythm block is computed.
RHYTHM_MIN_S = 1.5
#: Fewest onsets (peaks of the onset strength above half its maximum, ≥ 70 ms apart) for rhythm.
RHYTHM_MIN_ONSETS = 3
#: Loudness compression exponent (cube root; Hermansky 1990).
LOUDNESS_EXP = 1.0 / 3.0
#: A local maximum of the autocorrelation within this ratio of the highest one is the period.
KEY_MAX_RATIO = 0.9
#: Pitch search range in Hz.
F0_MIN, F0_MAX = 30.0, 1000.0

_N_MELS = 40
_OCTAVE_EDGES_HZ = np.geomspace(30.0, SR / 2, 9)
_FLAT_EDGES_HZ = np.array([62.5, 125, 250, 500, 1000, 2000, 4000, 8000, SR / 2])
_N_HARMONICS = 10
_RHYTHM_LAG_EDGES_S = np.geomspace(0.1, 2.0, 25)
#: f0 given to segments without signal: the centre of the pitch standardisation (z = 0).
_NEUTRAL_F0 = 220.0
#: Band flatness (dB) given to silent segments: the centre of its standardisation.
FLATNESS_NEUTRAL_DB = -4.0
#: f0 given to silent raw windows of the periodicity block (its centre, log2(f0/100) = 1.5).
_NEUTRAL_WINDOW_F0 = 100.0 * 2**1.5

_FREQS = np.fft.rfftfreq(N_WIN, 1.0 / SR)
_FREQS_LONG = np.fft.rfftfreq(N_LONG, 1.0 / SR)
_WINDOW = np.hanning(N_WIN + 1)[:-1]  # periodic Hann (scipy.signal.get_window("hann"))
_WINDOW_LONG = np.hanning(N_LONG + 1)[:-1]
_MEL = librosa.filters.mel(sr=SR, n_fft=N_WIN, n_mels=_N_MELS, fmin=30.0, fmax=SR / 2, dtype=np.float64)
_RHY_WIN = 512
_RHY_WINDOW = np.hanning(_RHY_WIN + 1)[:-1]
_RHY_MEL = librosa.filters.mel(sr=SR, n_fft=_RHY_WIN, n_mels=_N_MELS, fmin=30.0, fmax=SR / 2, dtype=np.float64)
#: Rhythm lag bins as [first frame, end frame), at least one frame each.
_RHY_LAG_BINS = [
    (int(round(lo)), max(int(round(hi)), int(round(lo)) + 1))
    for lo, hi in zip(_RHYTHM_LAG_EDGES_S[:-1] * SR / _RHY_WIN, _RHYTHM_LAG_EDGES_S[1:] * SR / _RHY_WIN)
]
_CHROMA = librosa.filters.chroma(sr=SR, n_fft=N_WIN, n_chroma=12, dtype=np.float64)
_EPS = 1e-12


def prepare(y: np.ndarray, sr: int) -> np.ndarray | None:
    """The analysed form of a signal, or None for silence.

    Args:
        y: mono audio, shape (n,), any float dtype, at ``sr``; non-finite samples count as 0.
        sr: sample rate in Hz; resampled to 22 050 Hz with soxr (HQ) if different.

    Returns:
        (m,) float64 at 22 050 Hz scaled to unit peak, starting at the onset (first 64-sample
        block within ONSET_DB of the peak), at most MAX_ANALYSIS_S long; None when the peak is
        below SILENCE_DB dBFS (including empty input).
    """
    x = np.asarray(y, dtype=np.float64).reshape(-1)
    x = np.where(np.isfinite(x), x, 0.0)
    if sr != SR and x.size:
        x = soxr.resample(x, sr, SR, quality="HQ")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 10.0 ** (SILENCE_DB / 20.0):
        return None
    x = x / peak
    return x[_onset_sample(x) :][: int(MAX_ANALYSIS_S * SR)]


def raw_features(x: np.ndarray) -> dict[str, np.ndarray]:
    """Unstandardised features of each block for a prepared signal (unit peak, onset at 0).

    Args:
        x: (n,) float64 at 22 050 Hz, as returned by :func:`prepare`.

    Returns:
        Block name -> 1-d float64 array of the block's size (see ``fingerprint.BLOCKS``).
    """
    power = _power(_frames(x, N_WIN, _WINDOW, SEGMENT_EDGES[-1], HOP), N_WIN)  # (≤256, 513)
    seg_power = _segment_means(power, SEGMENT_EDGES)  # (8, 513)
    long_frames = _frames(x, N_LONG, _WINDOW_LONG, ABT_EDGES[-1], HOP)
    long_power = _segment_means(_power(long_frames, N_LONG), ABT_EDGES)  # (3, 2049)
    clarity, f0 = _segment_periodicity(x)
    f0_body = float(_nacf_peaks(x[None, : int(0.3 * SR)], min(x.size, int(0.3 * SR)))[0][0])
    return {
        "patch": _loudness(_project(seg_power, _MEL_BANDS)),
        "octave": _loudness(_band_sums(seg_power, _FREQS, _OCTAVE_EDGES_HZ)),
        "flatness": _band_flatness(long_power),
        "periodicity": np.concatenate([clarity, _window_periodicity(x)]),
        "pitch": _pitch(clarity, f0),
        "harmonics": _harmonic_profile(long_power, f0_body),
        "envelope": _envelope(x, seg_power),
        "chroma": _chroma(power, clarity),
        "rhythm": _rhythm(x),
    }


def _onset_sample(x: np.ndarray, block: int = 64) -> int:
    """Index of the first sample of the first ``block``-sample block within ONSET_DB of the peak."""
    n = x.size // block * block
    if n == 0:
        return 0
    env = np.abs(x[:n]).reshape(-1, block).max(axis=1)
    above = np.flatnonzero(env >= 10.0 ** (ONSET_DB / 20.0))
    return int(above[0]) * block if above.size else 0


def _frames(x: np.ndarray, n_win: int, window: np.ndarray, max_frames: int | None, hop: int) -> np.ndarray:
    """Windowed frames (n_frames, n_win) every ``hop`` samples, frame 0 centred on sample 0."""
    pad = n_win // 2
    n_frames = 1 + x.size // hop
    if max_frames is not None:
        n_frames = min(n_frames, max_frames)
    need = (n_frames - 1) * hop + n_win
    padded = np.zeros(need)
    take = min(x.size, need - pad)
    padded[pad : pad + take] = x[:take]
    return np.lib.stride_tricks.sliding_window_view(padded, n_win)[::hop][:n_frames] * window


def _power(frames: np.ndarray, n_fft: int) -> np.ndarray:
    spec = np.fft.rfft(frames, n=n_fft, axis=1)
    return spec.real**2 + spec.imag**2


def _segment_means(a: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    """Mean of the rows of ``a`` (n_frames, d) within each segment; 0 for segments past the end."""
    out = np.zeros((len(edges) - 1, a.shape[1]))
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        part = a[lo:hi]
        if part.shape[0]:
            out[i] = part.mean(axis=0)
    return out


def _sparse_bands(filters: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(first bin, end bin, weights) of each row of a filter bank (n_filters, n_bins)."""
    out = []
    for row in filters:
        nz = np.flatnonzero(row)
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
        out.append((lo, hi, row[lo:hi].copy()))
    return out


def _project(p: np.ndarray, bands: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """Filter-bank projection (rows, n_bins) -> (rows, n_filters) without BLAS.

    Element-wise products and numpy sums only: a BLAS matrix product would be faster on paper,
    but its threads fight the scanner's worker processes, and its summation order depends on
    the thread count.
    """
    return np.stack([np.sum(p[:, lo:hi] * w, axis=1) for lo, hi, w in bands], axis=1)


def _band_sums(p: np.ndarray, freqs: np.ndarray, edges_hz: np.ndarray) -> np.ndarray:
    """Sum of power per band [edges[i], edges[i+1]) -> (rows, n_bands)."""
    idx = np.searchsorted(freqs, edges_hz)
    return np.stack([p[:, lo:hi].sum(axis=1) for lo, hi in itertools.pairwise(idx)], axis=1)


# --- blocks ----------------------------------------------------------------------------------


def _loudness(cells: np.ndarray) -> np.ndarray:
    """(segments, bands) power -> (bands·segments,) cube root of power re. the loudest cell.

    Band-major: entries 8·b … 8·b + 7 are band b over the time segments.
    """
    rel = cells / max(float(cells.max()), _EPS)
    return rel.T.reshape(-1) ** LOUDNESS_EXP


def _band_flatness(seg_power: np.ndarray) -> np.ndarray:
    """(3·8,) octave-band spectral flatness in dB per segment, segment-major; 0 dB where silent."""
    idx = np.searchsorted(_FREQS_LONG, _FLAT_EDGES_HZ)
    out = np.zeros((seg_power.shape[0], idx.size - 1))
    for i, p in enumerate(seg_power):
        if p.sum() <= _EPS:
            out[i] = FLATNESS_NEUTRAL_DB
            continue
        for j, (lo, hi) in enumerate(itertools.pairwise(idx)):
            q = np.maximum(p[lo:hi], _EPS)
            out[i, j] = 10.0 * (np.mean(np.log10(q)) - np.log10(np.mean(q)))
    return out.reshape(-1)


def _nacf_peaks(segs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(f0 in Hz, clarity in [0, 1]) per row of ``segs`` (m, n) from its normalised autocorrelation.

    The autocorrelation (FFT, zero padded against wrap-around) is divided by its lag-0 value and
    by the overlap (1 − k/n), the unbiased estimate. Over lags SR/F0_MAX … SR/F0_MIN (at most
    n/2) the period is the first local maximum reaching KEY_MAX_RATIO of the highest one, as in
    McLeod & Wyvill 2005 ("A smarter way to find pitch"), which avoids picking a multiple of
    the period. Silent rows give (the neutral f0, 0).
    """
    m = segs.shape[0]
    f0 = np.full(m, _NEUTRAL_F0)
    clarity = np.zeros(m)
    lo = int(SR / F0_MAX)
    hi = min(int(SR / F0_MIN), n // 2)
    if hi <= lo + 1 or m == 0:
        return f0, clarity
    n_fft = 1 << (2 * n - 1).bit_length()
    spec = np.fft.rfft(segs, n_fft, axis=1)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2, n_fft, axis=1)[:, :hi]
    ok = acf[:, 0] > _EPS
    if not ok.any():
        return f0, clarity
    nacf = acf[ok] / acf[ok, :1] / (1.0 - np.arange(hi) / n)
    k = lo + _first_key_maximum(nacf[:, lo:hi])
    f0[ok] = SR / k
    clarity[ok] = np.clip(nacf[np.arange(k.size), k], 0.0, 1.0)
    return f0, clarity


def _first_key_maximum(nacf: np.ndarray) -> np.ndarray:
    """Per row of ``nacf`` (m, L): index of the first local maximum ≥ KEY_MAX_RATIO × row max."""
    inner = (nacf[:, 1:-1] >= nacf[:, :-2]) & (nacf[:, 1:-1] > nacf[:, 2:])
    peaks = np.zeros(nacf.shape, dtype=bool)
    peaks[:, 1:-1] = inner
    peaks[:, -1] = nacf[:, -1] > nacf[:, -2]  # rising to the edge: the edge is the best we have
    top = np.max(np.where(peaks, nacf, -np.inf), axis=1, keepdims=True)
    none = ~np.isfinite(top[:, 0])
    key = peaks & (nacf >= KEY_MAX_RATIO * np.maximum(top, 0.0))
    first = np.argmax(key, axis=1)
    fallback = none | ~key.any(axis=1)  # no interior maximum (e.g. monotonic): the global one
    first[fallback] = np.argmax(nacf[fallback], axis=1)
    return first


def _segment_periodicity(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(8,) clarity and (8,) f0 (Hz) per time segment.

    Up to 4 evenly spread N_ACF-sample frames per segment; clarity is their energy-weighted mean,
    f0 their geometric mean weighted by energy × clarity. Segments past the end of the sound
    get clarity 0 and the neutral f0 (220 Hz, the centre of the pitch block).
    """
    n_seg = len(SEGMENT_EDGES) - 1
    n_frames = 1 + max(x.size - 1, 0) // HOP
    starts: list[int] = []
    owner: list[int] = []
    for i, (lo, hi) in enumerate(itertools.pairwise(SEGMENT_EDGES)):
        hi = min(hi, n_frames)
        if hi > lo:
            idx = np.unique(np.linspace(lo, hi - 1, min(hi - lo, 4)).astype(int))
            starts += list(idx * HOP)
            owner += [i] * idx.size
    padded = np.concatenate([x, np.zeros(N_ACF)])
    segs = np.stack([padded[s : s + N_ACF] for s in starts]) if starts else np.zeros((0, N_ACF))
    f, c = _nacf_peaks(segs, N_ACF)
    e = np.sum(segs * segs, axis=1)
    owner_arr = np.array(owner, dtype=int)
    clarity = np.zeros(n_seg)
    f0 = np.full(n_seg, _NEUTRAL_F0)
    for i in range(n_seg):
        sel = owner_arr == i
        w = e[sel]
        if w.sum() <= _EPS:
            continue
        clarity[i] = float(np.sum(w * c[sel]) / np.sum(w))
        wc = w * c[sel]
        if wc.sum() > _EPS:
            f0[i] = float(np.exp(np.sum(wc * np.log(f[sel])) / np.sum(wc)))
    return clarity, f0


def _pitch(clarity: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """(9,) body pitch log2(f0 / 110 Hz) (46–372 ms, clarity-weighted) and the glide per time
    segment: log2(f0 / body f0) × clarity (a kick falls an octave in 50 ms, a bass note stays)."""
    lp = np.log2(f0 / 110.0)
    w = clarity[3:6]
    if w.sum() > _EPS:
        body = float(np.sum(lp[3:6] * w) / np.sum(w))
    else:
        body = float(np.log2(_NEUTRAL_F0 / 110.0))
    return np.concatenate([[body], (lp - body) * clarity])


def _window_periodicity(x: np.ndarray) -> np.ndarray:
    """(6,) clarity and log2(f0 / 100 Hz) of the raw windows 0–93, 93–279 and 279–1000 ms."""
    out = []
    for lo, hi in ((0, 2048), (2048, 6144), (6144, SR)):
        seg = x[lo:hi]
        f, c = _NEUTRAL_WINDOW_F0, 0.0
        if seg.size >= 600 and float(np.sum(seg * seg)) > 1e-8:
            fs, cs = _nacf_peaks(seg[None, :], seg.size)
            f, c = float(fs[0]), float(cs[0])
        out += [c, np.log2(f / 100.0)]
    return np.array(out)


def _harmonic_profile(long_power: np.ndarray, f0: float) -> np.ndarray:
    """(3·10,) energy within ±1/24 octave of h·f0 (h = 1…10) in dB re. the segment total.

    Per attack/body/tail segment of the long STFT; floored at −60 dB (also where silent).
    """
    out = np.full((long_power.shape[0], _N_HARMONICS), -60.0)
    for i, p in enumerate(long_power):
        total = float(p.sum())
        if total <= _EPS:
            continue
        for h in range(1, _N_HARMONICS + 1):
            fc = h * f0
            lo, hi = np.searchsorted(_FREQS_LONG, (fc * 2 ** (-1 / 24), fc * 2 ** (1 / 24)))
            e = float(p[lo:hi].sum()) / total
            out[i, h - 1] = max(10.0 * np.log10(max(e, 1e-6)), -60.0)
    return out.reshape(-1)


def _envelope(x: np.ndarray, seg_power: np.ndarray) -> np.ndarray:
    """(12,) cube-root segment levels (8), log10 duration to −40 dB, log10 attack time,
    log10 temporal centroid (all s) and the fraction of energy in the first 46 ms.

    The scalars use the energy of rectangular HOP-sample blocks over the whole analysed signal
    (up to MAX_ANALYSIS_S).
    """
    seg_e = seg_power.sum(axis=1)
    levels = (seg_e / max(float(seg_e.max()), _EPS)) ** LOUDNESS_EXP
    n_blocks = max(1, -(-x.size // HOP))
    sq = np.zeros(n_blocks * HOP)
    sq[: x.size] = x * x
    e = sq.reshape(n_blocks, HOP).sum(axis=1)
    t = np.arange(e.size) * HOP / SR
    emax = max(float(e.max()), _EPS)
    above = np.flatnonzero(e > emax * 1e-4)
    duration = (above[-1] + 1) * HOP / SR if above.size else HOP / SR
    attack = max(int(np.argmax(e)) * HOP / SR, 1e-3)
    centroid = float(np.sum(t * e) / max(float(e.sum()), _EPS)) + 0.01
    early = float(e[:4].sum() / max(float(e.sum()), _EPS))
    scalars = [np.log10(duration), np.log10(attack), np.log10(centroid), early]
    return np.concatenate([levels, scalars])


def _chroma(power: np.ndarray, clarity: np.ndarray) -> np.ndarray:
    """(12,) centred chroma of the first 2.97 s scaled to norm = pitchedness (body clarity)."""
    c = np.sum(_CHROMA * power[: SEGMENT_EDGES[-1]].sum(axis=0), axis=1)
    c = c - c.mean()
    n = float(np.sqrt(np.sum(c * c)))
    if n <= _EPS:
        return np.zeros(12)
    return c / n * float(np.mean(clarity[3:6]))


def _rhythm(x: np.ndarray) -> np.ndarray:
    """(24,) onset-strength autocorrelation at log-spaced lags (1 at lag 0); 0 without rhythm.

    Onset strength: mean over 40 mel bands of the positive first difference of log power
    (floored 80 dB below the maximum), from a 512-point STFT every 512 samples (23 ms), as
    librosa's ``onset_strength`` defaults, smoothed by a 3-frame triangle. Its autocorrelation
    (mean removed, 1 at lag 0) is max-pooled over 24 log-spaced lag bins from 0.1 to 2 s (each
    at least one frame wide), so narrow beat peaks are not missed between bins. Signals
    shorter than RHYTHM_MIN_S or with fewer than RHYTHM_MIN_ONSETS onsets give 0.
    """
    n_lags = len(_RHY_LAG_BINS)
    if x.size / SR < RHYTHM_MIN_S:
        return np.zeros(n_lags)
    frames = _frames(x, _RHY_WIN, _RHY_WINDOW, None, _RHY_WIN)
    mel = _project(_power(frames, _RHY_WIN), _RHY_MEL_BANDS)
    logmel = 10.0 * np.log10(np.maximum(mel, _EPS))
    logmel = np.maximum(logmel, logmel.max() - 80.0)
    flux = np.maximum(np.diff(logmel, axis=0), 0.0).mean(axis=1)
    if _count_onsets(flux) < RHYTHM_MIN_ONSETS:
        return np.zeros(n_lags)  # a single hit, however long, has no rhythm
    flux = np.convolve(flux, (0.25, 0.5, 0.25), mode="same")  # beats between frames still peak
    flux = flux - flux.mean()
    n = flux.size
    n_fft = 1 << (2 * n - 1).bit_length()
    spec = np.fft.rfft(flux, n_fft)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2, n_fft)[:n]
    if acf[0] <= _EPS:
        return np.zeros(n_lags)
    acf = acf / acf[0]
    out = np.zeros(n_lags)
    for i, (lo, hi) in enumerate(_RHY_LAG_BINS):
        if lo < n:
            out[i] = float(np.max(acf[lo : min(hi, n)]))
    return np.clip(out, -1.0, 1.0)


def _count_onsets(flux: np.ndarray, min_gap: int = 3) -> int:
    """Number of local maxima of ``flux`` above half its maximum, ``min_gap`` frames apart."""
    if flux.size < 3 or float(flux.max()) <= _EPS:
        return 0
    thr = 0.5 * float(flux.max())
    mid = flux[1:-1]
    peaks = np.flatnonzero((mid > thr) & (mid >= flux[:-2]) & (mid > flux[2:])) + 1
    count, last = 0, -min_gap
    for p in peaks:
        if p - last >= min_gap:
            count += 1
            last = int(p)
    return count


# Filter banks as (first bin, end bin, weights), built once at import.
_MEL_BANDS = _sparse_bands(_MEL)
_RHY_MEL_BANDS = _sparse_bands(_RHY_MEL)
