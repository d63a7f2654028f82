"""Decoding files for CLAP: mono float32 at 48 kHz, at most the first 120 s.

libsndfile (through soundfile) reads wav, aiff, flac, ogg and mp3; soxr resamples (``HQ``).
Files libsndfile rejects are handed to the analysis decoder
(:func:`companion.analysis.audio.decode`), which also knows Ogg streams wrapped in RIFF.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

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
    path = Path(path)
    try:
        with sf.SoundFile(str(path)) as snd:
            sr = int(snd.samplerate)
            frames = snd.read(frames=int(max_s * sr), dtype="float32", always_2d=True)
        y = to_mono_48k(frames, sr)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as first:
        y = _fallback(path, max_s, first)
    if y.shape[0] == 0:
        raise AudioDecodeError(f"cannot embed {path.name}: the file holds no audio samples — skipped")
    return y


def _fallback(path: Path, max_s: float, first: Exception) -> np.ndarray:
    """Decode with the analysis decoder, or raise AudioDecodeError naming the first failure."""
    try:
        audio = importlib.import_module("companion.analysis.audio")
    except ImportError:
        audio = None
    if audio is None or not hasattr(audio, "decode"):
        raise AudioDecodeError(f"cannot decode {path.name}: {first} — skipped; see `companion problems`") from first
    decoded = audio.decode(path, sr=CLAP_SR)  # raises AudioDecodeError itself
    return np.ascontiguousarray(decoded.y[: int(max_s * CLAP_SR)], dtype=np.float32)
