"""A small convolutional network over the log-mel spectrogram of a sample's first two seconds.

It complements the descriptor model of the instrument (:mod:`companion.analysis.fitted`):
the descriptors average a sample over time, the network reads the time–frequency pattern
(a clap's bursts, a tom's falling pitch, a bowed note's swell). Its input is one
:func:`mel_patch`: a log-mel spectrogram that starts just before the sound does, normalised to
its loudest bin, so that neither the silence before a hit nor the file's level matters.

Architecture (the "VGG-style" small CNN common in audio tagging, e.g. Choi et al., "Automatic
tagging using deep convolutional neural networks", ISMIR 2016, much reduced): four 3×3
convolutions with batch norm and ReLU, 2×2 max pooling after the first three, then the mean
and the maximum over time of each channel and frequency row, dropout and one linear layer.
It is trained with torch by ``benchmarks/datasets/fit_instrument_cnn.py`` and shipped as
plain arrays (batch norm folded into the convolutions), so the app runs it in numpy: about
12 million multiply-adds, a few milliseconds a file on one core.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import librosa
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from companion.analysis.fitted import MODEL_DIR, layer_arrays, read_layers, softmax

#: Mel bands of the input (librosa Slaney mel scale, FMIN–FMAX Hz; FMAX is capped at sr / 2).
N_MELS = 48
FMIN = 30.0
FMAX = 11000.0
#: STFT of the input: 2048-point window, 512-sample hop (≈ 43 frames/s at 22 050 Hz).
N_FFT = 2048
HOP = 512
#: Frames of the input: 86 hops ≈ 2.0 s at 22 050 Hz.
N_FRAMES = 86
#: Floor of the input in dB relative to its loudest bin.
FLOOR_DB = -80.0
#: The patch starts this long (s) before the first sample within 40 dB of the peak.
PRE_ROLL_S = 0.01
#: The first sample at or above this fraction of the peak amplitude (−40 dB) starts the sound.
START_LEVEL = 0.01


def mel_patch(y: np.ndarray, sr: int) -> np.ndarray:
    """The network's input: the log-mel spectrogram of the first two seconds of the sound.

    Args:
        y: mono signal, shape (n,) float32 in [-1, 1], at ``sr`` (the analysis rate, 22 050 Hz).
        sr: sample rate in Hz.

    Returns:
        (N_MELS, N_FRAMES) float32 in dB relative to the loudest bin, in [FLOOR_DB, 0]; frames
        past the end of the sound are FLOOR_DB. All FLOOR_DB for a silent signal.
    """
    y = np.asarray(y, dtype=np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak <= 0.0:
        return np.full((N_MELS, N_FRAMES), FLOOR_DB, dtype=np.float32)
    start = int(np.argmax(np.abs(y) >= START_LEVEL * peak))
    start = max(0, start - int(PRE_ROLL_S * sr))
    seg = y[start : start + HOP * N_FRAMES + N_FFT // 2]
    if seg.size < N_FFT:
        seg = np.pad(seg, (0, N_FFT - seg.size))
    mel = librosa.feature.melspectrogram(
        y=seg, sr=sr, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, fmin=FMIN, fmax=min(FMAX, sr / 2)
    )
    db = librosa.power_to_db(mel + 1e-10, ref=np.max)
    db = np.maximum(db, FLOOR_DB)[:, :N_FRAMES]
    if db.shape[1] < N_FRAMES:
        db = np.pad(db, ((0, 0), (0, N_FRAMES - db.shape[1])), constant_values=FLOOR_DB)
    return db.astype(np.float32)


def _conv3x3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'Same' 3×3 convolution (cross-correlation, as torch's ``Conv2d``) of (C, H, W) with
    weights (O, C, 3, 3) and bias (O,); returns (O, H, W) float32."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(padded, (3, 3), axis=(1, 2))  # (C, H, W, 3, 3)
    out = np.tensordot(w, windows, axes=([1, 2, 3], [0, 3, 4]))  # (O, H, W)
    return (out + b[:, None, None]).astype(np.float32, copy=False)


def _max_pool2(x: np.ndarray) -> np.ndarray:
    """2×2 max pooling with stride 2 of (C, H, W), dropping an odd last row/column (torch's
    ``MaxPool2d(2)``)."""
    _, h, w = x.shape
    x = x[:, : h - h % 2, : w - w % 2]
    return np.maximum(np.maximum(x[:, 0::2, 0::2], x[:, 1::2, 0::2]), np.maximum(x[:, 0::2, 1::2], x[:, 1::2, 1::2]))


@dataclass(frozen=True)
class MelCnn:
    """The trained network, as arrays.

    Attributes:
        classes: class names, (k,).
        convs: per convolution, first to last: weights (O, C, 3, 3) float32 and bias (O,)
            float32, batch norm folded in (``w·γ/√(σ²+ε)``, ``(b−μ)·γ/√(σ²+ε)+β``).
        pools: per convolution, whether a 2×2 max pooling follows it.
        head_w: (k, 2·O·H') float32 weights of the linear layer over the time-mean and
            time-maximum of the last convolution's (O, H') rows, means first; head_b: (k,).
    """

    classes: tuple[str, ...]
    convs: tuple[tuple[np.ndarray, np.ndarray], ...]
    pools: tuple[bool, ...]
    head_w: np.ndarray
    head_b: np.ndarray

    def proba(self, patch: np.ndarray) -> np.ndarray:
        """Class probabilities of one input.

        Args:
            patch: (N_MELS, N_FRAMES) float32 from :func:`mel_patch`.

        Returns:
            (k,) float64 probabilities in the order of :attr:`classes`.

        Raises:
            ValueError: ``patch`` has another shape.
        """
        if patch.shape != (N_MELS, N_FRAMES):
            raise ValueError(f"mel patch must be ({N_MELS}, {N_FRAMES}), got {patch.shape}")
        h = ((np.asarray(patch, dtype=np.float32) + 40.0) / 40.0)[None]
        for (w, b), pool in zip(self.convs, self.pools):
            h = np.maximum(_conv3x3(h, w, b), 0.0)
            if pool:
                h = _max_pool2(h)
        feat = np.concatenate([h.mean(axis=2), h.max(axis=2)], axis=0).reshape(-1)
        return softmax(self.head_w.astype(np.float64) @ feat + self.head_b)

    def save(self, path: Path) -> None:
        """Write the network as an ``.npz`` file."""
        arrays: dict[str, Any] = {
            "classes": np.asarray(self.classes),
            "pools": np.asarray(self.pools),
            "head_w": self.head_w,
            "head_b": self.head_b,
        }
        np.savez(path, **arrays, **layer_arrays("conv", self.convs))

    @classmethod
    def load(cls, path: Path) -> MelCnn:
        """Read a network written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            KeyError: the file lacks one of the arrays.
        """
        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=tuple(str(c) for c in data["classes"]),
                convs=read_layers(data, "conv", np.float32),
                pools=tuple(bool(p) for p in data["pools"]),
                head_w=data["head_w"].astype(np.float32),
                head_b=data["head_b"].astype(np.float64),
            )


@cache
def load_cnn(name: str) -> MelCnn:
    """Load a shipped network (``companion/analysis/models/<name>.npz``); cached per process.

    Raises:
        FileNotFoundError: no such network in the package.
    """
    return MelCnn.load(MODEL_DIR / f"{name}.npz")
