"""Decoding files for CLAP: mono float32 at 48 kHz, at most the first 120 s.

Files are opened by their content through the analysis opener
(:func:`companion.analysis.audio.read_audio`: libsndfile for wav, aiff, flac, ogg and mp3, plus
Ogg streams wrapped in RIFF), the same one the scanner and audition use; soxr resamples (``HQ``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr

from companion.analysis.audio import read_audio
from companion.embedding.clap.pooling import MAX_AUDIO_S
from companion.errors import AudioDecodeError

#: Sample rate of the CLAP front end in Hz.
CLAP_SR = 48_000


def to_mono_48k(frames: np.ndarray, sr: int) -> np.ndarray:
    """Mix to mono and resample to 48 kHz.

    Args:
        frames: audio, shape (n,) or (n, channels), float.
        sr: its sample rate in Hz.

    Returns:
        shape (m,) float32 at 48 kHz, ``m ≈ n · 48000 / sr``.
    """
    y = np.asarray(frames, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=1, dtype=np.float32)
    if sr != CLAP_SR:
        y = soxr.resample(y, sr, CLAP_SR, quality="HQ")
    return np.ascontiguousarray(y, dtype=np.float32)


def load_audio_48k(path: Path, max_s: float = MAX_AUDIO_S) -> np.ndarray:
    """Decode a file for CLAP.

    Args:
        path: audio file.
        max_s: seconds to keep from the start (120 by default, pooling rule v1).

    Returns:
        mono signal, shape (n,) float32 in [-1, 1] at 48 kHz, 1 ≤ n ≤ 48000 · max_s.

    Raises:
        AudioDecodeError: if the file cannot be decoded or holds no samples.
    """
    frames, sr = read_audio(path, max_s, verb="embed")
    y = to_mono_48k(frames, sr)
    if y.shape[0] == 0:
        raise AudioDecodeError(f"cannot embed {Path(path).name}: the file holds no audio samples — skipped")
    return y
