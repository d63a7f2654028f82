"""The deterministic fingerprint embedding ``fingerprint/v1``.

A 512-d float32, L2-normalised vector computed from hand-designed features of timbre,
temporal envelope, periodicity/pitch, pitch class and rhythm. It needs no model weights, so it
is always available; it is the fallback space when no CLAP model is installed (DESIGN.md §3).

Front end
---------
The signal (resampled to 22 050 Hz if needed, soxr) is scaled to unit peak, so the
fingerprint ignores gain, and aligned on its onset: the first 64-sample block within
:data:`ONSET_DB` of the peak. A Hann-windowed STFT (1024 points, hop 256 = 11.6 ms) starts with
its first frame centred on the onset. Frames are pooled into 8 log-spaced **time segments**
(:data:`SEGMENT_EDGES`, in frames): 0–12, 12–23, 23–46, 46–93, 93–186, 186–372, 372–743 ms and
0.74–2.97 s after the onset, fine on the attack where drums differ most and coarse on the tail
(the log-time axis of auditory models; cf. the attack/decay descriptors of Peeters et al.
2011, "The Timbre Toolbox", JASA 130(5)). Three wider segments, **attack / body / tail**
(:data:`ABT_EDGES`: 0–35, 35–150, 150–600 ms), serve the finer-grained spectral blocks.

Energies are compressed with a cube root (power ** (1/3)), the intensity–loudness power law
used by PLP (Hermansky 1990, JASA 87(4); Stevens' law), so that loud cells dominate the
similarity without making the −60 dB tail irrelevant, as dB values would.

Layout of the 512 dimensions
----------------------------
Each block is standardised with fixed constants written in this module (never estimated at
run time), divided by the square root of its size and multiplied by the square root of its
weight. Blocks therefore contribute in proportion to their weight, not their size. Weights
follow one principle: the three facets of a one-shot's timbre — spectral envelope over time,
noisiness/periodicity, pitch and harmonic structure — weigh 1 each; the global envelope
shape 0.5; pitch class 0.25 (scaled by how pitched the sound is); rhythm 0.5 (loops only).

=========  ====  ======  ====================================================================
dims       size  weight  block
=========  ====  ======  ====================================================================
0–319      320   0.5     mel loudness patch: 40 Slaney mel bands (30 Hz–11 kHz, librosa)
                         × 8 time segments, cube-root power re. the loudest cell
320–383    64    0.5     octave-band envelopes: 8 log-spaced bands (30 Hz–11 kHz) × 8 time
                         segments, cube-root power re. the loudest cell
384–407    24    0.5     band flatness: spectral flatness (dB, geometric/arithmetic mean;
                         MPEG-7 AudioSpectrumFlatness, ISO/IEC 15938-4) of 8 octave bands
                         (62.5 Hz–11 kHz) × attack/body/tail
408–418    11    0.5     periodicity: normalised-autocorrelation clarity per time segment (8)
                         and harmonic energy fraction per attack/body/tail (3)
419–426    8     0.5     pitch trajectory: log2(f0 / 110 Hz) per time segment, × clarity
427–456    30    0.5     harmonic profile: energy of harmonics 1–10 of f0 re. the segment's
                         total, cube root, per attack/body/tail
457–468    12    0.5     envelope: cube-root level per time segment (8), log10 duration to
                         −40 dB, log10 attack time, log10 temporal centroid, early-energy
                         fraction (first 46 ms)
469–480    12    0.25    chroma: 12-bin STFT chroma (librosa) of the first 2.97 s, centred,
                         unit norm, × pitchedness (mean clarity of the body)
481–504    24    0.5     rhythm: onset-strength autocorrelation at 24 log-spaced lags
                         0.1–2 s (mel spectral flux; Böck & Widmer 2013, librosa
                         ``onset_strength``); 0 for signals shorter than 1.5 s
505–510    6     —       reserved, always 0
511        1     —       silence flag: 1 for silent input, else 0
=========  ====  ======  ====================================================================

Periodicity and pitch: each time segment's mean power spectrum, with 1024-sample Hann frames
zero-padded to 2048 points, gives the segment's autocorrelation (Wiener–Khinchin), divided by
the window's own autocorrelation (Boersma 1993, "Accurate short-term analysis of the
fundamental frequency and the harmonics-to-noise ratio of a sampled sound"). The clarity is
its maximum for lags of 1–11.6 ms (86–1000 Hz) and 11.6–23 ms (43–86 Hz, only when the
window is long enough); f0 = sr / lag of that maximum. The harmonic energy fraction is the
energy within ±3 % of h·f0 (h = 1…10) over the total.

Silent input (peak below :data:`SILENCE_DB` dBFS, including empty input and input with no
finite samples) maps to the unit vector on dimension 511, orthogonal to every non-silent
fingerprint. Determinism: float64 numpy maths, no randomness, no BLAS-threaded reductions
that matter at the rounding precision; the raw vector is rounded to 6 decimals before the
final normalisation so last-bit differences between libm/FFT builds do not reach the output.
"""

from __future__ import annotations

from collections.abc import Iterable

import librosa
import numpy as np
import soxr

FINGERPRINT_SPACE = "fingerprint/v1"
FINGERPRINT_DIM = 512

#: Analysis sample rate in Hz.
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
MAX_ANALYSIS_S = 20.0
#: Shortest signal (s) for which the rhythm block is computed.
RHYTHM_MIN_S = 1.5
#: Loudness compression exponent (cube root; Hermansky 1990).
LOUDNESS_EXP = 1.0 / 3.0
#: Pitch search range in Hz.
F0_MIN, F0_MAX = 30.0, 1000.0

_N_MELS = 40
_OCTAVE_EDGES_HZ = np.geomspace(30.0, SR / 2, 9)
_FLAT_EDGES_HZ = np.array([62.5, 125, 250, 500, 1000, 2000, 4000, 8000, SR / 2])
_N_HARMONICS = 10
_RHYTHM_LAGS_S = np.geomspace(0.1, 2.0, 24)
_SILENCE_DIM = 511

#: Block name -> (slice of the 512 dims, weight).
BLOCKS: dict[str, tuple[slice, float]] = {
    "patch": (slice(0, 320), 0.5),
    "octave": (slice(320, 384), 0.5),
    "flatness": (slice(384, 408), 0.25),
    "periodicity": (slice(408, 422), 0.25),
    "pitch": (slice(422, 430), 0.5),
    "harmonics": (slice(430, 460), 0.5),
    "envelope": (slice(460, 472), 0.5),
    "chroma": (slice(472, 484), 0.25),
    "rhythm": (slice(484, 508), 0.5),
}

#: Fixed standardisation (centre, scale) of each block's raw features, per dimension or scalar.
_STANDARD: dict[str, tuple[np.ndarray | float, np.ndarray | float]] = {
    # cube-root loudness re. the loudest cell, in [0, 1]; 0.1 = a cell 30 dB down
    "patch": (0.1, 0.2),
    "octave": (0.2, 0.25),
    # band flatness in dB (<= 0): noise bands -2…-5 dB, tonal bands down to -30 dB
    "flatness": (-4.0, 3.0),
    # clarity per segment (8) in [0, 1]; clarity and log2(f0/100 Hz) of 3 raw windows (6)
    "periodicity": (
        np.array([0.6] * 8 + [0.55, 1.5, 0.6, 1.5, 0.45, 1.0]),
        np.array([0.3] * 8 + [0.25, 1.5, 0.3, 1.5, 0.4, 1.5]),
    ),
    # log2(f0 / 110 Hz) per segment
    "pitch": (1.0, 1.5),
    # harmonic energy fraction (dB re. segment total, floor -60): 10 harmonics x attack/body/tail
    "harmonics": (-32.0, 16.0),
    # cube-root level per segment (8); log10 duration, log10 attack, log10 centroid, early fraction
    "envelope": (
        np.array([0.5] * 8 + [-0.4, -1.6, -1.0, 0.4]),
        np.array([0.3] * 8 + [0.4, 0.5, 0.4, 0.3]),
    ),
    "chroma": (0.0, 1.0),
    "rhythm": (0.0, 0.3),
}
_CLIP_Z = 4.0

_FREQS = np.fft.rfftfreq(N_WIN, 1.0 / SR)
_FREQS_LONG = np.fft.rfftfreq(N_LONG, 1.0 / SR)
_WINDOW = np.hanning(N_WIN + 1)[:-1]  # periodic Hann (scipy.signal.get_window("hann"))
_WINDOW_LONG = np.hanning(N_LONG + 1)[:-1]
_MEL = librosa.filters.mel(sr=SR, n_fft=N_WIN, n_mels=_N_MELS, fmin=30.0, fmax=SR / 2, dtype=np.float64)
_CHROMA = librosa.filters.chroma(sr=SR, n_fft=N_WIN, n_chroma=12, dtype=np.float64)
_EPS = 1e-12


def fingerprint(y: np.ndarray, sr: int) -> np.ndarray:
    """Compute the ``fingerprint/v1`` embedding of one sound.

    Args:
        y: mono audio, shape (n,) float (float32 expected) in [-1, 1], at ``sr``.
        sr: sample rate in Hz; the scanner passes 22 050 Hz, other rates are resampled (soxr).

    Returns:
        (512,) float32, L2-normalised. Silent or empty input (peak below −100 dBFS) gives the
        unit vector on dimension 511.

    See the module docstring for the layout, weights and sources of the features.
    """
    x = _prepare(y, sr)
    if x is None:
        return _silence_vector()
    raw = raw_features(x)
    vec = np.zeros(FINGERPRINT_DIM, dtype=np.float64)
    for name, (sl, weight) in BLOCKS.items():
        center, scale = _STANDARD[name]
        b = raw[name]
        z = np.clip((b - center) / scale, -_CLIP_Z, _CLIP_Z) if b.any() or name not in ("rhythm",) else b
        if name == "chroma":
            z = b  # already centred and scaled by pitchedness
        n = float(np.sqrt(np.sum(z * z)))
        if n > _EPS:
            vec[sl] = z * (np.sqrt(weight) / n)
    vec = np.round(vec, 6)
    norm = float(np.sqrt(np.sum(vec * vec)))
    if norm < _EPS:  # every block neutral: cannot happen for real sounds, but stay a unit vector
        return _silence_vector()
    return (vec / norm).astype(np.float32)


def fingerprint_batch(ys: Iterable[np.ndarray], sr: int) -> np.ndarray:
    """Fingerprint several sounds.

    Args:
        ys: mono signals, each shape (n_i,) at ``sr``.
        sr: sample rate in Hz shared by all signals.

    Returns:
        (m, 512) float32, each row L2-normalised (see :func:`fingerprint`).
    """
    rows = [fingerprint(y, sr) for y in ys]
    if not rows:
        return np.zeros((0, FINGERPRINT_DIM), dtype=np.float32)
    return np.stack(rows)


def _prepare(y: np.ndarray, sr: int) -> np.ndarray | None:
    """Finite float64 at SR, unit peak, starting at the onset; None for silence."""
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
        x: (n,) float64 at 22 050 Hz, as returned by the front end.

    Returns:
        Block name -> 1-d float64 array of the block's size (see ``BLOCKS``).
    """
    frames = _frames(x, N_WIN, _WINDOW, ABT_EDGES[-1] if x.size / SR < RHYTHM_MIN_S else None)
    power = _power(frames, N_WIN)  # (n_frames, 513)
    seg_power = _segment_means(power, SEGMENT_EDGES)  # (8, 513)
    long_power = _segment_means(_power(_frames(x, N_LONG, _WINDOW_LONG, ABT_EDGES[-1]), N_LONG), ABT_EDGES)  # (3, 2049)
    clarity, f0 = _segment_periodicity(x)
    f0_body, _ = _nacf_peak(x[: int(0.3 * SR)])
    mel = power @ _MEL.T
    return {
        "patch": _loudness(seg_power @ _MEL.T),
        "octave": _loudness(_band_sums(seg_power, _FREQS, _OCTAVE_EDGES_HZ)),
        "flatness": _band_flatness(long_power),
        "periodicity": np.concatenate([clarity, _window_periodicity(x)]),
        "pitch": np.log2(f0 / 110.0),
        "harmonics": _harmonic_profile(long_power, f0_body),
        "envelope": _envelope(power, seg_power),
        "chroma": _chroma(power, clarity),
        "rhythm": _rhythm(mel, x.size / SR),
    }


# --- front end -------------------------------------------------------------------------------


def _silence_vector() -> np.ndarray:
    out = np.zeros(FINGERPRINT_DIM, dtype=np.float32)
    out[_SILENCE_DIM] = 1.0
    return out


def _onset_sample(x: np.ndarray, block: int = 64) -> int:
    """Index of the first sample of the first ``block``-sample block within ONSET_DB of the peak."""
    n = x.size // block * block
    if n == 0:
        return 0
    env = np.abs(x[:n]).reshape(-1, block).max(axis=1)
    above = np.flatnonzero(env >= 10.0 ** (ONSET_DB / 20.0))
    return int(above[0]) * block if above.size else 0


def _frames(x: np.ndarray, n_win: int, window: np.ndarray, max_frames: int | None) -> np.ndarray:
    """Windowed frames (n_frames, n_win) at HOP, frame 0 centred on sample 0 (zero padded)."""
    pad = n_win // 2
    n_frames = 1 + x.size // HOP
    if max_frames is not None:
        n_frames = min(n_frames, max_frames)
    need = (n_frames - 1) * HOP + n_win
    padded = np.zeros(need)
    take = min(x.size, need - pad)
    padded[pad : pad + take] = x[:take]
    return np.lib.stride_tricks.sliding_window_view(padded, n_win)[::HOP][:n_frames] * window


def _power(frames: np.ndarray, n_fft: int) -> np.ndarray:
    spec = np.fft.rfft(frames, n=n_fft, axis=1)
    return spec.real**2 + spec.imag**2


def _segment_means(a: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    """Mean of the rows of ``a`` (n_frames, d) within each segment; 0 for segments past the end."""
    out = np.zeros((len(edges) - 1, a.shape[1]))
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        part = a[lo:hi]
        if part.shape[0]:
            out[i] = part.mean(axis=0)
    return out


def _band_sums(p: np.ndarray, freqs: np.ndarray, edges_hz: np.ndarray) -> np.ndarray:
    """Sum of power per band [edges[i], edges[i+1]) -> (rows, n_bands)."""
    idx = np.searchsorted(freqs, edges_hz)
    return np.stack([p[:, lo:hi].sum(axis=1) for lo, hi in zip(idx[:-1], idx[1:])], axis=1)


# --- blocks ----------------------------------------------------------------------------------


def _loudness(cells: np.ndarray) -> np.ndarray:
    """(segments, bands) power -> (bands·segments,) cube-root power re. the loudest cell, band-major."""
    rel = cells / max(float(cells.max()), _EPS)
    return rel.T.reshape(-1) ** LOUDNESS_EXP


def _band_flatness(seg_power: np.ndarray) -> np.ndarray:
    """(3·8,) octave-band spectral flatness in dB per segment, segment-major; 0 dB where silent."""
    idx = np.searchsorted(_FREQS_LONG, _FLAT_EDGES_HZ)
    out = np.zeros((seg_power.shape[0], idx.size - 1))
    for i, p in enumerate(seg_power):
        if p.sum() <= _EPS:
            out[i] = _STANDARD["flatness"][0]  # neutral
            continue
        for j, (lo, hi) in enumerate(zip(idx[:-1], idx[1:])):
            q = np.maximum(p[lo:hi], _EPS)
            out[i, j] = 10.0 * (np.mean(np.log10(q)) - np.log10(np.mean(q)))
    return out.reshape(-1)


def _nacf_peak(seg: np.ndarray) -> tuple[float, float]:
    """(f0 in Hz, clarity in [0, 1]) from the normalised autocorrelation of ``seg``.

    The autocorrelation (via FFT) is divided by its lag-0 value and by the overlap (1 - k/N), the
    unbiased estimate; its maximum over lags SR/F0_MAX … SR/F0_MIN (at most N/2) gives the
    period. Silence or too short a segment gives (110 Hz, 0).
    """
    n = seg.size
    lo = int(SR / F0_MAX)
    hi = min(int(SR / F0_MIN), n // 2)
    if hi <= lo + 1:
        return 110.0, 0.0
    spec = np.fft.rfft(seg, 2 * n)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2)[:hi]
    if acf[0] <= _EPS:
        return 110.0, 0.0
    nacf = acf / acf[0] / (1.0 - np.arange(hi) / n)
    k = lo + int(np.argmax(nacf[lo:hi]))
    return SR / k, float(np.clip(nacf[k], 0.0, 1.0))


def _segment_periodicity(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(8,) clarity and (8,) f0 (Hz) per time segment: energy-weighted over N_ACF-sample frames."""
    n_seg = len(SEGMENT_EDGES) - 1
    clarity = np.zeros(n_seg)
    f0 = np.full(n_seg, 110.0)
    n_frames = 1 + max(x.size - 1, 0) // HOP
    for i, (lo, hi) in enumerate(zip(SEGMENT_EDGES[:-1], SEGMENT_EDGES[1:])):
        hi = min(hi, n_frames)
        if hi <= lo:
            continue
        idx = np.unique(np.linspace(lo, hi - 1, min(hi - lo, 4)).astype(int))
        values = []
        for j in idx:
            seg = x[j * HOP : j * HOP + N_ACF]
            e = float(np.sum(seg * seg))
            if e > _EPS:
                f, c = _nacf_peak(seg)
                values.append((e, c, f))
        if not values:
            continue
        w = np.array([v[0] for v in values])
        c = np.array([v[1] for v in values])
        f = np.array([v[2] for v in values])
        clarity[i] = float(np.sum(w * c) / np.sum(w))
        wc = w * c
        if wc.sum() > _EPS:
            f0[i] = float(np.exp(np.sum(wc * np.log(f)) / np.sum(wc)))
    return clarity, f0


def _window_periodicity(x: np.ndarray) -> np.ndarray:
    """(6,) clarity and log2(f0 / 100 Hz) of three raw windows: 0–93 ms, 93–279 ms, 279 ms–1 s."""
    out = []
    for lo, hi in ((0, 2048), (2048, 6144), (6144, SR)):
        seg = x[lo:hi]
        f, c = _nacf_peak(seg) if seg.size >= 600 and float(np.sum(seg * seg)) > 1e-8 else (100.0, 0.0)
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


def _envelope(power: np.ndarray, seg_power: np.ndarray) -> np.ndarray:
    """(12,) cube-root segment levels (8), log10 duration to −40 dB, log10 attack time,
    log10 temporal centroid (all s) and the fraction of energy in the first 46 ms."""
    seg_e = seg_power.sum(axis=1)
    levels = (seg_e / max(float(seg_e.max()), _EPS)) ** LOUDNESS_EXP
    e = power.sum(axis=1)
    t = np.arange(e.size) * HOP / SR
    emax = max(float(e.max()), _EPS)
    above = np.flatnonzero(e > emax * 1e-4)
    duration = (above[-1] + 1) * HOP / SR if above.size else HOP / SR
    attack = max(int(np.argmax(e)) * HOP / SR, 1e-3)
    centroid = float(np.sum(t * e) / max(float(e.sum()), _EPS)) + 0.01
    early = float(e[:4].sum() / max(float(e.sum()), _EPS))
    return np.concatenate([levels, [np.log10(duration), np.log10(attack), np.log10(centroid), early]])


def _chroma(power: np.ndarray, clarity: np.ndarray) -> np.ndarray:
    """(12,) centred chroma of the first 2.97 s scaled to norm = pitchedness (body clarity)."""
    c = _CHROMA @ power[: SEGMENT_EDGES[-1]].sum(axis=0)
    c = c - c.mean()
    n = float(np.sqrt(np.sum(c * c)))
    if n <= _EPS:
        return np.zeros(12)
    return c / n * float(np.mean(clarity[3:6]))


def _rhythm(mel: np.ndarray, duration_s: float) -> np.ndarray:
    """(24,) onset-strength autocorrelation at log-spaced lags (1 at lag 0); 0 for short signals."""
    n_lags = _RHYTHM_LAGS_S.size
    if duration_s < RHYTHM_MIN_S or mel.shape[0] < 16:
        return np.zeros(n_lags)
    logmel = 10.0 * np.log10(np.maximum(mel, _EPS))
    logmel = np.maximum(logmel, logmel.max() - 80.0)
    flux = np.maximum(np.diff(logmel, axis=0), 0.0).mean(axis=1)
    flux = flux - flux.mean()
    n = flux.size
    spec = np.fft.rfft(flux, 2 * n)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2)[:n]
    if acf[0] <= _EPS:
        return np.zeros(n_lags)
    return np.clip(np.interp(_RHYTHM_LAGS_S * SR / HOP, np.arange(n), acf / acf[0], right=0.0), -1.0, 1.0)
