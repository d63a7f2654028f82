"""Spectral features computed once per file and shared by the tempo, key and kind estimates.

Two short-time Fourier transforms of the mono signal:

* a short one (1024-point window, 256-sample hop, ≈ 86 frames/s at 22 050 Hz) for onsets:
  log-magnitude spectral flux summed over the whole band and over a low band (kick drum,
  bass notes) and a high band (snare, hats);
* a long one (8192-point window, 2048-sample hop) for pitch: magnitudes mapped onto a
  semitone grid from C1 to B7 after tuning correction. 8192 points at 22 050 Hz resolve
  2.7 Hz, enough to separate semitones down to about A1 (55 Hz, 3.3 Hz apart).

Spectral flux onset strength: Bello et al., "A tutorial on onset detection in music signals",
IEEE TSALP 13(5), 2005. Tuning estimate: librosa ``pitch_tuning`` over spectral peaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import librosa
import numpy as np
from scipy.ndimage import median_filter

ONSET_N_FFT = 1024
ONSET_HOP = 256
PITCH_N_FFT = 8192
PITCH_HOP = 1024
#: Median-filter lengths of the harmonic/percussive split of the long STFT (Fitzgerald,
#: "Harmonic/percussive separation using median filtering", DAFx 2010): frames along time
#: (harmonic), bins along frequency (percussive).
HPSS_TIME_FRAMES = 7
HPSS_FREQ_BINS = 31
#: MIDI numbers of the semitone grid: C1 (24) … B7 (107).
PITCH_MIDI_LO = 24
PITCH_MIDI_HI = 108
N_PITCHES = PITCH_MIDI_HI - PITCH_MIDI_LO
#: Band edges (Hz) of the low and high onset bands.
LOW_BAND_HZ = (30.0, 150.0)
HIGH_BAND_HZ = (2000.0, 11000.0)
#: Longest stretch (s) the features cover; loops longer than this are analysed on an excerpt.
MAX_FEATURE_S = 32.0


@dataclass
class Features:
    """Shared features of one signal.

    Attributes:
        sr: sample rate of the signal in Hz.
        duration_s: duration of the analysed signal in seconds.
        fps: onset frames per second (``sr / ONSET_HOP``).
        onset: (T,) float32 full-band spectral-flux onset strength, ≥ 0.
        onset_low: (T,) float32 onset strength of the low band (30–150 Hz).
        onset_high: (T,) float32 onset strength of the high band (2–11 kHz).
        rms: (T,) float32 frame RMS of the signal (linear).
        pitch: (84, F) float32 magnitude per semitone, C1 … B7, tuning-corrected, of the
            harmonic part of the signal (soft-masked median-filter HPSS); frames at
            ``sr / PITCH_HOP`` per second.
        harmonic_ratio: share of the 60 Hz–5 kHz energy in the harmonic part, in [0, 1]:
            high for sustained tones, low for drums and noise.
        pitch_fps: pitch frames per second.
        tuning: estimated tuning offset in fractions of a semitone, in [-0.5, 0.5).
        flatness: mean spectral flatness (Wiener entropy) of the long STFT in 100 Hz–5 kHz,
            in [0, 1]: near 0 for tones, near 1 for noise.
    """

    sr: int
    duration_s: float
    fps: float
    onset: np.ndarray
    onset_low: np.ndarray
    onset_high: np.ndarray
    rms: np.ndarray
    pitch: np.ndarray
    pitch_fps: float
    tuning: float
    flatness: float
    harmonic_ratio: float


def compute_features(y: np.ndarray, sr: int) -> Features:
    """Compute the shared features of a mono signal.

    Args:
        y: shape (n,) float32 mono signal in [-1, 1]; only the first ``MAX_FEATURE_S`` seconds
            are used.
        sr: sample rate in Hz.

    Returns:
        The :class:`Features`.
    """
    y = np.asarray(y[: int(MAX_FEATURE_S * sr)], dtype=np.float32)
    if y.size < PITCH_N_FFT:
        y = np.pad(y, (0, PITCH_N_FFT - y.size))
    short = np.abs(librosa.stft(y, n_fft=ONSET_N_FFT, hop_length=ONSET_HOP, center=True))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=ONSET_N_FFT)
    logmag = np.log1p(100.0 * short)
    flux = np.maximum(0.0, np.diff(logmag, axis=1, prepend=logmag[:, :1]))
    low = (freqs >= LOW_BAND_HZ[0]) & (freqs < LOW_BAND_HZ[1])
    high = (freqs >= HIGH_BAND_HZ[0]) & (freqs < HIGH_BAND_HZ[1])
    onset = flux.mean(axis=0)
    onset_low = flux[low].mean(axis=0)
    onset_high = flux[high].mean(axis=0)
    rms = np.sqrt(np.mean(short**2, axis=0) * 2.0 / ONSET_N_FFT).astype(np.float32)

    long = np.abs(librosa.stft(y, n_fft=PITCH_N_FFT, hop_length=PITCH_HOP, center=True))
    lfreqs = librosa.fft_frequencies(sr=sr, n_fft=PITCH_N_FFT)
    keep = lfreqs <= 5500.0
    long = long[keep]
    lfreqs = lfreqs[keep]
    harm_mag, harmonic_ratio = _harmonic_part(long, lfreqs)
    tuning = _tuning(harm_mag, sr)
    pitch = pitch_map(sr, PITCH_N_FFT, round(tuning * 100) / 100)[:, keep] @ harm_mag
    band = (lfreqs >= 100.0) & (lfreqs <= 5000.0)
    power = long[band] ** 2 + 1e-12
    frame_energy = power.mean(axis=0)
    loud = frame_energy > 1e-3 * frame_energy.max() if frame_energy.max() > 0 else frame_energy > 0
    if np.any(loud):
        gmean = np.exp(np.mean(np.log(power[:, loud]), axis=0))
        flatness = float(np.mean(gmean / power[:, loud].mean(axis=0)))
    else:
        flatness = 1.0
    return Features(
        sr=sr,
        duration_s=y.size / sr,
        fps=sr / ONSET_HOP,
        onset=onset.astype(np.float32),
        onset_low=onset_low.astype(np.float32),
        onset_high=onset_high.astype(np.float32),
        rms=rms,
        pitch=pitch.astype(np.float32),
        pitch_fps=sr / PITCH_HOP,
        tuning=tuning,
        flatness=flatness,
        harmonic_ratio=harmonic_ratio,
    )


def _harmonic_part(mag: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, float]:
    """Soft-masked harmonic part of a magnitude spectrogram and its energy share (60 Hz–5 kHz).

    Args:
        mag: (bins, frames) magnitudes.
        freqs: (bins,) bin frequencies in Hz.

    Returns:
        ``(harmonic magnitudes (bins, frames), harmonic energy ratio in [0, 1])``.
    """
    t = min(HPSS_TIME_FRAMES, max(1, mag.shape[1] // 2 * 2 - 1))
    harm = median_filter(mag, size=(1, t), mode="nearest")
    perc = median_filter(mag, size=(HPSS_FREQ_BINS, 1), mode="nearest")
    h2, p2 = harm**2, perc**2
    mask = h2 / (h2 + p2 + 1e-12)
    out = mag * mask
    band = (freqs >= 60.0) & (freqs <= 5000.0)
    total = float(np.sum(mag[band] ** 2))
    ratio = float(np.sum(out[band] ** 2) / total) if total > 0 else 0.0
    return out, ratio


def _tuning(mag: np.ndarray, sr: int) -> float:
    """Tuning offset (fractions of a semitone) from the strongest spectral peaks (librosa)."""
    if not np.any(mag > 0):
        return 0.0
    pitches, mags = librosa.piptrack(S=mag, sr=sr, n_fft=PITCH_N_FFT, fmin=80.0, fmax=4000.0)
    selected = pitches[mags > np.median(mags[mags > 0]) if np.any(mags > 0) else mags > 0]
    selected = selected[selected > 0]
    if selected.size < 8:
        return 0.0
    return float(librosa.pitch_tuning(selected, resolution=0.02))


@lru_cache(maxsize=16)
def pitch_map(sr: int, n_fft: int, tuning: float) -> np.ndarray:
    """Matrix mapping STFT magnitudes to a semitone grid.

    Args:
        sr: sample rate in Hz.
        n_fft: FFT size.
        tuning: tuning offset in fractions of a semitone (A4 = 440·2^(tuning/12) Hz).

    Returns:
        (84, n_fft // 2 + 1) float32: row p sums, with triangular weights one semitone wide,
        the bins whose pitch is within a semitone of MIDI note ``PITCH_MIDI_LO + p``.
    """
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    with np.errstate(divide="ignore"):
        midi = 69.0 + 12.0 * np.log2(np.maximum(freqs, 1e-6) / 440.0) - tuning
    centers = np.arange(PITCH_MIDI_LO, PITCH_MIDI_HI, dtype=np.float64)
    weights = np.maximum(0.0, 1.0 - np.abs(midi[None, :] - centers[:, None]))
    weights[:, freqs < 25.0] = 0.0
    return weights.astype(np.float32)
