"""Spectral features computed once per file and shared by the tempo, key and kind estimates.

Two short-time Fourier transforms of the mono signal:

* a short one (1024-point window, 256-sample hop, ≈ 86 frames/s at 22 050 Hz) for onsets:
  log-magnitude spectral flux summed over the whole band and over a low band (kick drum,
  bass notes) and a high band (snare, hats);
* a long one (8192-point window, 1024-sample hop) for pitch: magnitudes peak-pooled onto a
  semitone grid from C1 to B7 after tuning correction, then split into harmonic and
  percussive parts by median filtering. 8192 points at 22 050 Hz resolve 2.7 Hz, enough to
  separate semitones down to about A1 (55 Hz, 3.3 Hz apart).

Spectral flux onset strength: Bello et al., "A tutorial on onset detection in music signals",
IEEE TSALP 13(5), 2005. Tuning estimate: librosa ``pitch_tuning`` over spectral peaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d

ONSET_N_FFT = 1024
ONSET_HOP = 256
PITCH_N_FFT = 8192
PITCH_HOP = 1024
#: Onset frames at each end whose (centred, zero-padded) STFT window runs past the signal, as
#: :data:`companion.analysis.kind.EDGE_FRAMES` for the pitch frames (librosa.stft,
#: ``center=True``). See :func:`inner_onset`.
ONSET_EDGE_FRAMES = ONSET_N_FFT // 2 // ONSET_HOP
#: Median-filter lengths of the harmonic/percussive split of the long STFT (Fitzgerald,
#: "Harmonic/percussive separation using median filtering", DAFx 2010), applied on the
#: semitone grid: frames along time (harmonic), semitones along pitch (percussive).
HPSS_TIME_FRAMES = 7
HPSS_PITCH_BINS = 13
#: MIDI numbers of the semitone grid: C1 (24) … B7 (107).
PITCH_MIDI_LO = 24
PITCH_MIDI_HI = 108
N_PITCHES = PITCH_MIDI_HI - PITCH_MIDI_LO
#: Band edges (Hz) of the low and high onset bands.
LOW_BAND_HZ = (30.0, 150.0)
HIGH_BAND_HZ = (2000.0, 11000.0)
#: Edge (Hz) above which energy counts towards ``Features.high_share``.
HIGH_SHARE_HZ = 4000.0
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
        harmonic_ratio: share of the energy in the harmonic part, in [0, 1]: high for
            sustained tones, low for drums and noise.
        tonalness: share of the 100 Hz–4 kHz energy in narrow spectral peaks standing 12 dB
            above their neighbourhood, in [0, 1]: high for notes and chords, low for drums,
            cymbals and noise (see :func:`tonalness_of`); cymbals and bells also ring in
            narrow peaks, which ``high_share`` tells apart.
        high_share: share of the energy above 4 kHz, in [0, 1]: high for cymbals and hats.
        chroma: (12, F) float32 chroma of the harmonic part (square-root compressed semitone
            magnitudes folded to pitch classes, C first), per pitch frame.
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
    chroma: np.ndarray
    tonalness: float
    high_share: float


def inner_onset(onset: np.ndarray) -> np.ndarray:
    """The onset envelope without its :data:`ONSET_EDGE_FRAMES` frames at each end.

    Those frames see the signal against the STFT's zero padding, and the circular flux of
    :func:`compute_features` compares the first frame with the last. A loop exported with a
    reverb tail ends far quieter than it starts, so its first frame reads as an onset several
    times stronger than any beat in it, and every threshold set relative to the strongest onset
    then passes over the beats.

    Args:
        onset: (T,) onset strength (:attr:`Features.onset`).

    Returns:
        (max(T − 2·:data:`ONSET_EDGE_FRAMES`, 0),) view of ``onset``; frame ``i`` of it is frame
        ``i + ONSET_EDGE_FRAMES`` of ``onset``.
    """
    return onset[ONSET_EDGE_FRAMES : max(ONSET_EDGE_FRAMES, onset.size - ONSET_EDGE_FRAMES)]


def lagged_autocorrelation(onset: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Linear autocorrelation of the mean-removed envelope at the given lags, each divided by
    its overlap (the unbiased estimate): a lag near the envelope's length is not made weak
    by its short overlap alone.

    Only the lags asked for are computed, O(T · len(lags)), not the whole O(T²) (or FFT)
    autocorrelation of a long file.

    Args:
        onset: (T,) onset strength.
        lags: (L,) int lags in frames, each in ``[0, T)``.

    Returns:
        (L,) float64 autocorrelation at ``lags``; not normalised (lag 0 gives the variance).
    """
    x = np.asarray(onset, dtype=np.float64)
    x = x - x.mean()
    n = x.size
    return np.array([float(x[: n - k] @ x[k:]) / (n - k) for k in np.asarray(lags, dtype=int)], dtype=np.float64)


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
    # Circular difference: a loop's end runs into its start, and a one-shot's silent end
    # makes its first attack an onset.
    flux = np.maximum(0.0, logmag - np.roll(logmag, 1, axis=1))
    low = (freqs >= LOW_BAND_HZ[0]) & (freqs < LOW_BAND_HZ[1])
    high = (freqs >= HIGH_BAND_HZ[0]) & (freqs < HIGH_BAND_HZ[1])
    onset = flux.mean(axis=0)
    onset_low = flux[low].mean(axis=0)
    onset_high = flux[high].mean(axis=0)
    rms = np.sqrt(np.mean(short**2, axis=0) * 2.0 / ONSET_N_FFT).astype(np.float32)
    power = short**2
    total_power = float(power.sum())
    high_share = float(power[freqs >= HIGH_SHARE_HZ].sum() / total_power) if total_power > 0 else 0.0

    long = np.abs(librosa.stft(y, n_fft=PITCH_N_FFT, hop_length=PITCH_HOP, center=True))
    lfreqs = librosa.fft_frequencies(sr=sr, n_fft=PITCH_N_FFT)
    keep = lfreqs <= 5500.0
    long = long[keep]
    lfreqs = lfreqs[keep]
    tonalness = tonalness_of(long, lfreqs)
    tuning = _tuning(long, sr)
    semis = semitone_pool(long, lfreqs, tuning)
    pitch, harmonic_ratio = _harmonic_part(semis)
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
        chroma=fold_chroma(np.sqrt(pitch)),
        tonalness=tonalness,
        high_share=high_share,
    )


def spectral_peaks(
    mag: np.ndarray, freqs: np.ndarray, lo_hz: float = 100.0, hi_hz: float = 4000.0
) -> tuple[np.ndarray, np.ndarray]:
    """Prominent narrow peaks of each frame.

    A bin is a peak when it is a local maximum standing at least 12 dB above the mean
    log-magnitude of the surrounding 41 bins (≈ 110 Hz at 8192 points and 22 050 Hz).

    Args:
        mag: (bins, frames) STFT magnitudes.
        freqs: (bins,) bin frequencies in Hz.
        lo_hz, hi_hz: band searched.

    Returns:
        ``(band_power (b, frames), peak_mask (b, frames) bool)`` over the band's bins.
    """
    band = (freqs >= lo_hz) & (freqs <= hi_hz)
    x = mag[band].astype(np.float64)
    power = x**2
    if x.size == 0 or x.max() <= 0:
        return power, np.zeros_like(power, dtype=bool)
    log = np.log(x + 1e-9 * x.max())
    baseline = uniform_filter1d(log, size=41, axis=0, mode="nearest")
    mask = np.zeros_like(power, dtype=bool)
    mask[1:-1] = (
        (log[1:-1] > log[:-2]) & (log[1:-1] >= log[2:]) & (log[1:-1] - baseline[1:-1] > np.log(10 ** (12 / 20)))
    )
    return power, mask


def tonalness_of(mag: np.ndarray, freqs: np.ndarray) -> float:
    """Share of the 100 Hz–4 kHz energy in prominent narrow peaks (with their two neighbour
    bins), frames weighted by energy: notes and chords score high, drums and noise low.

    Args:
        mag: (bins, frames) STFT magnitudes.
        freqs: (bins,) bin frequencies in Hz.

    Returns:
        Tonalness in [0, 1] (0 for silence). The band starts at 100 Hz so that the low,
        nearly sinusoidal body of kicks and floor toms does not count as a note.
    """
    power, peaks = spectral_peaks(mag, freqs)
    total = power.sum()
    if total <= 0:
        return 0.0
    near = peaks.copy()
    near[:-1] |= peaks[1:]
    near[1:] |= peaks[:-1]
    return float(power[near].sum() / total)


def fold_chroma(semis: np.ndarray) -> np.ndarray:
    """Fold (84, F) semitone values to (12, F) float32 pitch classes, C first."""
    pcs = (PITCH_MIDI_LO + np.arange(semis.shape[0])) % 12
    chroma = np.zeros((12, semis.shape[1]))
    np.add.at(chroma, pcs, semis.astype(np.float64))
    return chroma.astype(np.float32)


def semitone_pool(mag: np.ndarray, freqs: np.ndarray, tuning: float) -> np.ndarray:
    """Peak magnitude per semitone, C1 … B7.

    Args:
        mag: (bins, frames) STFT magnitudes.
        freqs: (bins,) bin frequencies in Hz, ascending.
        tuning: tuning offset in fractions of a semitone.

    Returns:
        (84, frames) float32: for each semitone, the largest magnitude among the bins within
        half a semitone of its (tuned) centre, or the magnitude interpolated at the centre when
        no bin falls there (below about A1 the bins are wider than a semitone). Max-pooling
        keeps a partial's peak whatever the semitone's width, so broadband noise does not grow
        with frequency as it would in a sum.
    """
    midi = PITCH_MIDI_LO + np.arange(N_PITCHES)
    centers = 440.0 * 2.0 ** ((midi - 69 + tuning) / 12.0)
    edges = 440.0 * 2.0 ** ((np.arange(N_PITCHES + 1) + PITCH_MIDI_LO - 69.5 + tuning) / 12.0)
    idx = np.searchsorted(freqs, edges)
    out = np.empty((N_PITCHES, mag.shape[1]), dtype=np.float32)
    pos = np.interp(centers, freqs, np.arange(freqs.size))
    lo = np.floor(pos).astype(int)
    frac = (pos - lo)[:, None]
    hi = np.minimum(lo + 1, freqs.size - 1)
    interp = (1 - frac) * mag[lo] + frac * mag[hi]
    for p in range(N_PITCHES):
        a, b = idx[p], idx[p + 1]
        out[p] = mag[a:b].max(axis=0) if b > a else interp[p]
    return out


def _harmonic_part(semis: np.ndarray) -> tuple[np.ndarray, float]:
    """Soft-masked harmonic part of a semitone spectrogram and its energy share.

    Median filtering (Fitzgerald 2010) on the semitone grid: along time for the harmonic
    estimate, along pitch for the percussive one.

    Args:
        semis: (84, frames) semitone magnitudes.

    Returns:
        ``(harmonic magnitudes (84, frames) float32, harmonic energy ratio in [0, 1])``.
    """
    t = min(HPSS_TIME_FRAMES, max(1, semis.shape[1] // 2 * 2 - 1))
    harm = median_filter(semis, size=(1, t), mode="nearest")
    perc = median_filter(semis, size=(HPSS_PITCH_BINS, 1), mode="nearest")
    h2, p2 = harm.astype(np.float64) ** 2, perc.astype(np.float64) ** 2
    mask = h2 / (h2 + p2 + 1e-12)
    out = semis * mask
    total = float(np.sum(semis.astype(np.float64) ** 2))
    ratio = float(np.sum(out.astype(np.float64) ** 2) / total) if total > 0 else 0.0
    return out.astype(np.float32), ratio


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
