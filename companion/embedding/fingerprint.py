"""The deterministic fingerprint embedding ``fingerprint/v1``.

A 512-d float32, L2-normalised vector computed from hand-designed features of timbre,
temporal envelope, pitch class and rhythm. It needs no model weights, so it is always
available; it is the fallback space when no CLAP model is installed (see DESIGN.md §3).

Layout of the 512 dimensions (each block is normalised on its own, then multiplied by the
square root of its weight, so that the cosine of two fingerprints is the weighted sum of the
per-block similarities and no block dominates because of its size):

=========  =====  ======  ==============================================================
dims       size   weight  block
=========  =====  ======  ==============================================================
0–383      384    0.40    log-time mel patch: 48 mel bands × 8 log-spaced time segments
384–423    40     0.20    descriptor trajectories: 5 descriptors × 8 time segments
424–444    21     0.10    spectral contrast: 7 values × 3 segments (attack/body/tail)
445–450    6      0.10    envelope shape scalars
451–462    12     0.05    chroma (pitch-class profile), scaled by pitchedness
463–494    32     0.15    rhythm: onset-strength autocorrelation at 32 log-spaced lags
495–510    16     —       reserved, always 0
511        1      —       silence flag: 1 for silent input, else 0
=========  =====  ======  ==============================================================

Front end: the signal (resampled to 22 050 Hz if needed) is scaled to unit peak, so the
fingerprint ignores gain, and aligned on its onset (the first 64-sample block within
:data:`ONSET_DB` of the peak). A Hann-windowed STFT (1024-point, hop 256 = 11.6 ms, Slaney mel
filter bank from librosa, 30 Hz–11.025 kHz) starts with its first frame centred on the onset.
The time segments are log-spaced in frames after the onset: [0,1), [1,2), [2,4), [4,8),
[8,16), [16,32), [32,64), [64,256), i.e. 0, 12, 23, 46, 93, 186, 372, 743 ms and 2.97 s: fine
resolution on the attack, where drums differ most, coarse on the tail.

Blocks:

* **Mel patch** — mean mel power per band and segment in dB relative to the loudest cell,
  floored at :data:`FLOOR_DB`; centred on its own mean and scaled to unit norm, so its
  contribution is the Pearson correlation of the two spectro-temporal shapes (a log-time
  version of the log-mel spectrogram used by MFCCs; Davis & Mermelstein 1980).
* **Descriptor trajectories** — per segment: spectral centroid, bandwidth, 85 % roll-off
  (log₂ of Hz over 1 kHz), spectral flatness (dB; Johnston 1988 / librosa), and segment level
  (dB rel. peak). Standardised with the fixed constants in :data:`_DESC_CENTER` /
  :data:`_DESC_SCALE`; segments more than :data:`FLOOR_DB` below the peak are set to 0
  (neutral) since their descriptors are undefined.
* **Spectral contrast** — librosa's octave-band peak/valley contrast (Jiang et al. 2002,
  "Music type classification by spectral contrast feature") of the mean spectrum of the
  attack (0–46 ms), body (46–372 ms) and tail (372 ms–2.97 s), standardised by fixed constants.
* **Envelope scalars** — log effective duration, log attack time, log temporal centroid,
  decay slope, crest factor of the frame envelope and the fraction of energy in the first
  46 ms (Peeters et al. 2011, "The Timbre Toolbox"), standardised by fixed constants.
* **Chroma** — 12-bin STFT chroma (librosa ``filters.chroma``) of the first 2.97 s, centred
  and unit-normalised, then multiplied by a pitchedness factor in [0, 1] derived from the
  spectral flatness, so noisy drums carry no pitch information.
* **Rhythm** — autocorrelation of the onset-strength envelope (mel spectral flux, Böck &
  Widmer 2013 / librosa ``onset_strength``) at 32 log-spaced lags from 0.1 s to 2 s, for
  signals longer than :data:`RHYTHM_MIN_S`; 0 for shorter ones (one-shots have no rhythm).

Silent input (peak below :data:`SILENCE_DB` dBFS) maps to the unit vector on dimension 511,
which is orthogonal to every non-silent fingerprint. Determinism: all maths is float64 numpy
with no randomness; the raw vector is rounded to 6 decimals before the final normalisation
so last-bit differences between libm/BLAS builds do not leak into the stored vector.
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
#: STFT size and hop in samples (46.4 ms / 11.6 ms at 22 050 Hz).
N_FFT = 1024
HOP = 256
#: Number of mel bands of the patch block.
N_MELS = 48
#: Segment edges in STFT frames after the onset (log-spaced).
SEGMENT_EDGES = (0, 1, 2, 4, 8, 16, 32, 64, 256)
#: Attack / body / tail segments for spectral contrast, in frames.
ACB_EDGES = (0, 4, 32, 256)
#: Level (dB re. peak) below which a cell counts as silent.
FLOOR_DB = -80.0
#: Onset threshold: first block within this many dB of the peak.
ONSET_DB = -30.0
#: Peak (dBFS) below which the input is treated as silence.
SILENCE_DB = -100.0
#: Longest stretch analysed after the onset (s); keeps the cost bounded on long files.
MAX_ANALYSIS_S = 20.0
#: Shortest signal (s) for which the rhythm block is computed.
RHYTHM_MIN_S = 1.0

_W_PATCH, _W_DESC, _W_CONTRAST, _W_ENV, _W_CHROMA, _W_RHYTHM = 0.40, 0.20, 0.10, 0.10, 0.05, 0.15

_SL_PATCH = slice(0, 384)
_SL_DESC = slice(384, 424)
_SL_CONTRAST = slice(424, 445)
_SL_ENV = slice(445, 451)
_SL_CHROMA = slice(451, 463)
_SL_RHYTHM = slice(463, 495)
_SILENCE_DIM = 511

#: Fixed standardisation of the descriptors (centroid, bandwidth, roll-off in log2(Hz/1 kHz);
#: flatness in dB; level in dB re. peak): centre and scale chosen from their physical ranges
#: (e.g. centroids of musical sounds span ~200 Hz–8 kHz, i.e. −2.3…3 in log2 kHz).
_DESC_CENTER = np.array([1.0, 0.5, 2.0, -20.0, -30.0])
_DESC_SCALE = np.array([1.5, 1.0, 1.5, 10.0, 20.0])
#: Spectral contrast in dB: typical values 5–40 dB.
_CONTRAST_CENTER = 20.0
_CONTRAST_SCALE = 10.0
#: Envelope scalars: log10 duration (s), log10 attack (s), log10 temporal centroid (s),
#: decay slope (dB/s, signed log), crest factor (dB), early-energy fraction.
_ENV_CENTER = np.array([-0.5, -2.0, -1.0, 2.0, 10.0, 0.5])
_ENV_SCALE = np.array([0.5, 0.7, 0.5, 0.7, 5.0, 0.3])

_RHYTHM_LAGS_S = np.geomspace(0.1, 2.0, 32)

_FREQS = np.fft.rfftfreq(N_FFT, 1.0 / SR)
_WINDOW = np.hanning(N_FFT + 1)[:-1]  # periodic Hann, as scipy.signal.get_window("hann")
_MEL = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=30.0, fmax=SR / 2, dtype=np.float64)
_CHROMA = librosa.filters.chroma(sr=SR, n_fft=N_FFT, n_chroma=12, dtype=np.float64)
_EPS = 1e-12


def fingerprint(y: np.ndarray, sr: int) -> np.ndarray:
    """Compute the ``fingerprint/v1`` embedding of one sound.

    Args:
        y: mono audio, shape (n,) float (float32 expected) in [-1, 1], at ``sr``.
        sr: sample rate in Hz; the scanner passes 22 050 Hz, other rates are resampled (soxr).

    Returns:
        (512,) float32, L2-normalised. Silent or empty input (peak below −100 dBFS) gives the
        unit vector on dimension 511.

    See the module docstring for the layout and the sources of the features.
    """
    x = np.asarray(y, dtype=np.float64).reshape(-1)
    x = np.where(np.isfinite(x), x, 0.0)
    if sr != SR and x.size:
        x = soxr.resample(x, sr, SR, quality="HQ")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 10.0 ** (SILENCE_DB / 20.0):
        out = np.zeros(FINGERPRINT_DIM, dtype=np.float32)
        out[_SILENCE_DIM] = 1.0
        return out
    x = x / peak
    x = x[_onset_sample(x) :][: int(MAX_ANALYSIS_S * SR)]

    power = _stft_power(x)  # (n_frames, 513)
    vec = np.zeros(FINGERPRINT_DIM, dtype=np.float64)
    mel = power @ _MEL.T  # (n_frames, 48)
    seg_power = _segment_means(power, SEGMENT_EDGES)  # (8, 513)
    seg_mel = _segment_means(mel, SEGMENT_EDGES)  # (8, 48)
    ref = max(float(seg_mel.max()), _EPS)

    vec[_SL_PATCH] = _unit_centered(_db(seg_mel / ref).T.reshape(-1)) * np.sqrt(_W_PATCH)
    vec[_SL_DESC] = _descriptors(seg_power, seg_mel / ref) * np.sqrt(_W_DESC)
    vec[_SL_CONTRAST] = _contrast(power) * np.sqrt(_W_CONTRAST)
    flat_db = _flatness_db(seg_power[:7].sum(axis=0))
    vec[_SL_ENV] = _envelope(x, power) * np.sqrt(_W_ENV)
    vec[_SL_CHROMA] = _chroma(power, flat_db) * np.sqrt(_W_CHROMA)
    vec[_SL_RHYTHM] = _rhythm(mel, x.size / SR) * np.sqrt(_W_RHYTHM)

    vec = np.round(vec, 6)
    norm = float(np.sqrt(np.sum(vec * vec)))
    if norm < _EPS:  # cannot happen for non-silent input (the patch block has unit norm) but be safe
        vec[:] = 0.0
        vec[_SILENCE_DIM] = 1.0
        return vec.astype(np.float32)
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


# --- front end -------------------------------------------------------------------------------


def _onset_sample(x: np.ndarray, block: int = 64) -> int:
    """Index of the first sample of the first ``block``-sample block within ONSET_DB of the peak."""
    n = x.size // block * block
    if n == 0:
        return 0
    env = np.abs(x[:n]).reshape(-1, block).max(axis=1)
    above = np.flatnonzero(env >= 10.0 ** (ONSET_DB / 20.0))
    return int(above[0]) * block if above.size else 0


def _stft_power(x: np.ndarray) -> np.ndarray:
    """Power spectrogram (n_frames, N_FFT // 2 + 1), frame 0 centred on sample 0 (zero padded)."""
    pad = N_FFT // 2
    padded = np.concatenate([np.zeros(pad), x, np.zeros(pad)])
    if padded.size < N_FFT:
        padded = np.concatenate([padded, np.zeros(N_FFT - padded.size)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    spec = np.fft.rfft(frames * _WINDOW, axis=1)
    return spec.real**2 + spec.imag**2


def _segment_means(a: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    """Mean of the rows of ``a`` (n_frames, d) in each segment; 0 for segments past the end."""
    out = np.zeros((len(edges) - 1, a.shape[1]))
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        part = a[lo:hi]
        if part.shape[0]:
            out[i] = part.mean(axis=0)
    return out


def _db(p: np.ndarray) -> np.ndarray:
    """Power ratio to dB, floored at FLOOR_DB."""
    return np.maximum(10.0 * np.log10(np.maximum(p, _EPS)), FLOOR_DB)


def _unit_centered(v: np.ndarray) -> np.ndarray:
    """``v`` minus its mean, scaled to unit norm (0 if constant)."""
    c = v - v.mean()
    n = float(np.sqrt(np.sum(c * c)))
    return c / n if n > _EPS else np.zeros_like(c)


def _flatness_db(p: np.ndarray) -> float:
    """Spectral flatness (geometric / arithmetic mean of power, bins ≥ 1) in dB, ≤ 0."""
    q = np.maximum(p[1:], _EPS)
    return float(10.0 * (np.mean(np.log10(q)) - np.log10(np.mean(q))))


# --- blocks ----------------------------------------------------------------------------------


def _descriptors(seg_power: np.ndarray, seg_mel_rel: np.ndarray) -> np.ndarray:
    """(40,) standardised centroid/bandwidth/roll-off/flatness/level per segment, / sqrt(40)."""
    n_seg = seg_power.shape[0]
    out = np.zeros((n_seg, 5))
    level = _db(seg_mel_rel.sum(axis=1) / max(float(seg_mel_rel.sum(axis=1).max()), _EPS))
    for i in range(n_seg):
        p = seg_power[i]
        total = float(p.sum())
        if level[i] <= FLOOR_DB or total < _EPS:
            continue  # undefined descriptors stay neutral (0 after standardisation)
        w = p / total
        centroid = float(np.sum(_FREQS * w))
        bandwidth = float(np.sqrt(np.sum(w * (_FREQS - centroid) ** 2)))
        rolloff = float(_FREQS[min(int(np.searchsorted(np.cumsum(w), 0.85)), _FREQS.size - 1)])
        raw = np.array(
            [
                np.log2(max(centroid, 20.0) / 1000.0),
                np.log2(max(bandwidth, 20.0) / 1000.0),
                np.log2(max(rolloff, 20.0) / 1000.0),
                _flatness_db(p),
                level[i],
            ]
        )
        out[i] = np.clip((raw - _DESC_CENTER) / _DESC_SCALE, -4.0, 4.0)
    return out.T.reshape(-1) / np.sqrt(out.size)


def _contrast(power: np.ndarray) -> np.ndarray:
    """(21,) standardised spectral contrast (7 bands) of attack/body/tail mean spectra, / sqrt(21)."""
    seg = _segment_means(power, ACB_EDGES)  # (3, 513)
    mag = np.sqrt(seg).T  # (513, 3)
    present = seg.sum(axis=1) > _EPS
    con = librosa.feature.spectral_contrast(S=mag + 1e-10, sr=SR, n_fft=N_FFT, n_bands=6, fmin=200.0)
    z = np.clip((con - _CONTRAST_CENTER) / _CONTRAST_SCALE, -4.0, 4.0)  # (7, 3)
    z[:, ~present] = 0.0
    return z.T.reshape(-1) / np.sqrt(z.size)


def _envelope(x: np.ndarray, power: np.ndarray) -> np.ndarray:
    """(6,) standardised envelope scalars, / sqrt(6)."""
    e = power.sum(axis=1)  # frame energy (n_frames,)
    t = np.arange(e.size) * HOP / SR
    emax = max(float(e.max()), _EPS)
    rel_db = _db(e / emax)
    above = np.flatnonzero(rel_db > -40.0)
    duration = (above[-1] + 1) * HOP / SR if above.size else HOP / SR
    ipk = int(np.argmax(e))
    attack = max(ipk * HOP / SR, 1.0 / SR * 32)
    tc = float(np.sum(t * e) / max(float(e.sum()), _EPS)) + HOP / SR
    # decay slope: least-squares slope of dB level after the peak, over frames above −60 dB
    post = np.arange(ipk, e.size)
    post = post[rel_db[post] > -60.0]
    if post.size >= 3:
        slope = float(np.polyfit(t[post], rel_db[post], 1)[0])
    else:
        slope = -60.0 / max(duration, HOP / SR)
    slope_feat = np.log10(1.0 + abs(slope))  # 0 (flat) … ~3.5 (−3000 dB/s)
    rms = np.sqrt(e / N_FFT)
    crest = 20.0 * np.log10(max(float(rms.max()), _EPS) / max(float(rms.mean()), _EPS))
    early = float(e[:4].sum() / max(float(e.sum()), _EPS))
    raw = np.array([np.log10(duration), np.log10(attack), np.log10(tc), slope_feat, crest, early])
    z = np.clip((raw - _ENV_CENTER) / _ENV_SCALE, -4.0, 4.0)
    return z / np.sqrt(z.size)


def _chroma(power: np.ndarray, flat_db: float) -> np.ndarray:
    """(12,) centred unit chroma of the first 2.97 s, scaled by pitchedness in [0, 1]."""
    c = _CHROMA @ power[: SEGMENT_EDGES[-1]].sum(axis=0)
    pitchedness = float(np.clip((-flat_db - 10.0) / 20.0, 0.0, 1.0))  # flatness −10 dB → 0, −30 dB → 1
    return _unit_centered(c) * pitchedness


def _rhythm(mel: np.ndarray, duration_s: float) -> np.ndarray:
    """(32,) normalised onset-strength autocorrelation at log-spaced lags; 0 for short signals."""
    if duration_s < RHYTHM_MIN_S or mel.shape[0] < 8:
        return np.zeros(_RHYTHM_LAGS_S.size)
    logmel = 10.0 * np.log10(np.maximum(mel, _EPS))
    logmel = np.maximum(logmel, logmel.max() - 80.0)
    flux = np.maximum(np.diff(logmel, axis=0), 0.0).mean(axis=1)  # (n_frames-1,)
    flux = flux - flux.mean()
    n = flux.size
    spec = np.fft.rfft(flux, 2 * n)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2)[:n]
    if acf[0] <= _EPS:
        return np.zeros(_RHYTHM_LAGS_S.size)
    acf = acf / acf[0]
    lags = _RHYTHM_LAGS_S * SR / HOP
    vals = np.interp(lags, np.arange(n), acf, right=0.0)
    return np.clip(vals, -1.0, 1.0) / np.sqrt(vals.size)
