"""A fixed-length descriptor of a sample's timbre, envelope and rhythm, for the fitted models.

The fitted kind and instrument models (:mod:`companion.analysis.fitted`; the instrument one is
pooled with the mel network, :mod:`companion.analysis.instrument_model`) read one vector per
file built here from the shared :class:`~companion.analysis.features.Features` plus one mel
spectrogram of the first :data:`MEL_MAX_S` seconds. Every entry is a plain, documented audio measure (no learnt
front-end), so the vector is cheap (a few ms a file) and its meaning survives a change of
sample pack.

Measures and their sources: log-mel spectrum and MFCCs (Davis & Mermelstein 1980, via librosa);
spectral centroid, bandwidth, roll-off and flatness (Peeters, "A large set of audio features
for sound description", IRCAM 2004); attack and decay times of the RMS envelope (ibid.);
onset-envelope autocorrelation for rhythmic regularity (Ellis, "Beat tracking by dynamic
programming", JNMR 2007, §2).
"""

from __future__ import annotations

import librosa
import numpy as np

from companion.analysis.features import Features
from companion.analysis.kind import strong_onsets, tail_level_db

#: Mel bands of the spectral-shape part (librosa Slaney mel scale, 30 Hz–11 kHz).
N_MELS = 32
#: MFCCs kept (the 0th, overall level, dropped).
N_MFCC = 13
#: Longest stretch (s) the mel spectrogram covers.
MEL_MAX_S = 8.0
MEL_N_FFT = 1024
MEL_HOP = 512

#: Names of the entries of :func:`describe`'s vector, in order.
NAMES: tuple[str, ...] = (
    *(f"mel{i}" for i in range(N_MELS)),
    *(f"mfcc{i}" for i in range(1, N_MFCC + 1)),
    *(f"mfcc_sd{i}" for i in range(1, N_MFCC + 1)),
    "centroid",
    "centroid_sd",
    "bandwidth",
    "rolloff",
    "flatness_sd",
    "zcr",
    "log_duration",
    "attack_s",
    "peak_pos",
    "decay_s",
    "tail_db",
    "level25",
    "level50",
    "level75",
    "front_share",
    "active_share",
    "onsets_per_s",
    "strong_onsets_per_s",
    "late_onsets",
    "onset_regularity",
    "onset_lag_s",
    "low_onset_share",
    "high_onset_share",
    "tonalness",
    "high_share",
    "harmonic_ratio",
    "flatness",
    "low_share",
    "sub_share",
    "register",
    "pitch_peak",
    "chroma_peak",
    "chroma_flux",
)
N_DESCRIPTORS = len(NAMES)


def describe(y: np.ndarray, sr: int, feat: Features, duration_s: float) -> np.ndarray:
    """The descriptor vector of one sample.

    Args:
        y: mono signal, shape (n,) float32 in [-1, 1] at ``sr``.
        sr: sample rate in Hz (the analysis rate, 22 050 Hz).
        feat: the shared features of ``y`` (:func:`companion.analysis.features.compute_features`).
        duration_s: duration of the whole file in seconds.

    Returns:
        (N_DESCRIPTORS,) float32, finite; see :data:`NAMES`. Levels in dB, times in seconds
        (log-scaled where noted by the name), shares in [0, 1].
    """
    y = np.asarray(y[: int(MEL_MAX_S * sr)], dtype=np.float32)
    if y.size < MEL_N_FFT:
        y = np.pad(y, (0, MEL_N_FFT - y.size))
    spec = np.abs(librosa.stft(y, n_fft=MEL_N_FFT, hop_length=MEL_HOP)) ** 2
    mel = librosa.feature.melspectrogram(S=spec, sr=sr, n_mels=N_MELS, fmin=30.0, fmax=min(11000.0, sr / 2))
    frame_e = mel.sum(axis=0)
    active = frame_e > 1e-4 * frame_e.max() if frame_e.max() > 0 else np.ones_like(frame_e, dtype=bool)
    mel_db = librosa.power_to_db(mel[:, active] + 1e-12, ref=1.0)
    mel_mean = mel_db.mean(axis=1)
    shape = mel_mean - mel_mean.max()
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC + 1)[1:]
    freqs = librosa.fft_frequencies(sr=sr, n_fft=MEL_N_FFT)
    sp = spec[:, active]
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(sp), freq=freqs)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=np.sqrt(sp), freq=freqs)[0]
    rolloff = librosa.feature.spectral_rolloff(S=np.sqrt(sp), freq=freqs, roll_percent=0.85)[0]
    flat = librosa.feature.spectral_flatness(S=np.sqrt(sp))[0]
    zcr = float(np.mean(np.abs(np.diff(np.signbit(y).astype(np.int8))))) * sr / 2
    total = sp.sum()
    low_share = float(sp[freqs < 150].sum() / total) if total > 0 else 0.0
    sub_share = float(sp[freqs < 80].sum() / total) if total > 0 else 0.0

    env = _envelope(feat, duration_s)
    rhythm = _rhythm(feat)
    pitch = _pitch(feat)
    vec = np.concatenate(
        [
            shape,
            mfcc.mean(axis=1),
            mfcc.std(axis=1),
            [
                np.log(np.mean(centroid) + 1.0),
                np.std(np.log(centroid + 1.0)),
                np.log(np.mean(bandwidth) + 1.0),
                np.log(np.mean(rolloff) + 1.0),
                float(np.std(flat)),
                np.log(zcr + 1.0),
            ],
            env,
            rhythm,
            [feat.tonalness, feat.high_share, feat.harmonic_ratio, feat.flatness, low_share, sub_share],
            pitch,
        ]
    ).astype(np.float32)
    return np.nan_to_num(vec, nan=0.0, posinf=0.0, neginf=0.0)


def _envelope(feat: Features, duration_s: float) -> list[float]:
    """log duration, attack (log s), peak position, decay to −20 dB (log s), tail level,
    levels at 25/50/75 % of the file (dB re peak), energy share of the first quarter, share of
    frames within 30 dB of the peak."""
    rms = feat.rms.astype(np.float64)
    fps = feat.fps
    n = rms.size
    peak = float(rms.max()) if n else 0.0
    if peak <= 0:
        return [np.log(duration_s + 1e-3), 0.0, 0.0, 0.0, -120.0, -120.0, -120.0, -120.0, 1.0, 0.0]
    ipk = int(np.argmax(rms))
    above10 = np.flatnonzero(rms[: ipk + 1] >= 0.1 * peak)
    attack = (ipk - above10[0]) / fps if above10.size else 0.0
    below = np.flatnonzero(rms[ipk:] < 0.1 * peak)
    decay = below[0] / fps if below.size else (n - ipk) / fps
    db = 20 * np.log10(np.maximum(rms, 1e-9) / peak)
    levels = [float(np.clip(db[min(n - 1, int(q * n))], -120, 0)) for q in (0.25, 0.5, 0.75)]
    energy = rms**2
    front = float(energy[: max(1, n // 4)].sum() / energy.sum())
    return [
        np.log(duration_s + 1e-3),
        np.log(attack + 1e-3),
        ipk / n,
        np.log(decay + 1e-3),
        tail_level_db(feat.rms),
        *levels,
        front,
        float(np.mean(db > -30)),
    ]


def _rhythm(feat: Features) -> list[float]:
    """Onsets per second (all peaks above 30 % and 50 % of the strongest), log count of strong
    onsets past the first 15 %, peak of the normalised onset autocorrelation over 0.1–2 s lags
    and its lag (s), and the share of onset strength in the low and high bands."""
    onset = feat.onset.astype(np.float64)
    dur = max(onset.size / feat.fps, 1e-3)
    o30 = strong_onsets(feat.onset, feat.fps, rel=0.3)
    o50 = strong_onsets(feat.onset, feat.fps, rel=0.5)
    late = int(np.sum(o50 > 0.15 * onset.size))
    x = onset - onset.mean()
    reg, lag_s = 0.0, 0.0
    lo, hi = int(0.1 * feat.fps), min(int(2.0 * feat.fps), x.size - 1)
    if hi > lo and np.dot(x, x) > 0:
        ac = np.correlate(x, x, mode="full")[x.size - 1 :] / np.dot(x, x)
        k = lo + int(np.argmax(ac[lo:hi]))
        reg, lag_s = float(ac[k]), k / feat.fps
    s = onset.sum()
    low = float(feat.onset_low.sum() / (s + 1e-9)) if s > 0 else 0.0
    high = float(feat.onset_high.sum() / (s + 1e-9)) if s > 0 else 0.0
    return [o30.size / dur, o50.size / dur, float(np.log1p(late)), reg, lag_s, low, high]


def _pitch(feat: Features) -> list[float]:
    """Register (energy-weighted mean MIDI number of the harmonic part, /100), the strongest
    semitone's MIDI number (/100), the largest pitch-class share of the chroma, and the mean
    chroma change between successive frames (cosine distance, energy-weighted)."""
    p = feat.pitch.astype(np.float64)
    e = p.sum(axis=0)
    if p.size == 0 or e.sum() <= 0:
        return [0.0, 0.0, 0.0, 0.0]
    midi = 24 + np.arange(p.shape[0])
    prof = p.sum(axis=1)
    register = float(np.dot(prof, midi) / prof.sum()) / 100
    peak = float(midi[int(np.argmax(prof))]) / 100
    chroma = feat.chroma.astype(np.float64)
    cprof = chroma.sum(axis=1)
    chroma_peak = float(cprof.max() / cprof.sum()) if cprof.sum() > 0 else 0.0
    flux = 0.0
    if chroma.shape[1] > 1:
        norm = np.linalg.norm(chroma, axis=0) + 1e-12
        cos = np.sum(chroma[:, 1:] * chroma[:, :-1], axis=0) / (norm[1:] * norm[:-1])
        w = e[1:]
        flux = float(np.sum((1 - cos) * w) / (w.sum() + 1e-12))
    return [register, peak, chroma_peak, flux]
