"""The CLAP audio front end: 48 kHz mono → log-mel input of the HTSAT audio encoder.

A numpy/scipy re-implementation of Hugging Face's ``ClapFeatureExtractor``
(``transformers/models/clap/feature_extraction_clap.py``) for windows of at most
``max_length_s`` seconds, without torch. For ``laion/clap-htsat-unfused`` its
``preprocessor_config.json`` fixes:

* 48 000 Hz mono input, windows of 10 s (480 000 samples);
* STFT: periodic Hann window of 1024 samples, hop 480, ``center=True`` with reflect padding
  (``transformers.audio_utils.spectrogram`` defaults), power spectrum;
* 64 mel bands from 50 to 14 000 Hz. ``truncation="rand_trunc"`` selects the Slaney mel scale
  with Slaney area normalisation (librosa's default filters); ``truncation="fusion"`` (the
  fused checkpoints) selects the HTK scale without normalisation (torchaudio's default);
* ``10·log10(max(mel, 1e-10))`` dB, no ``top_db`` clipping;
* audio shorter than a window is ``repeatpad``-ed: tiled ``floor(max_len / len)`` times, then
  zero-padded to ``max_len``.

A 10-s window becomes ``1 + 480000 / 480 = 1001`` frames, so the encoder input for a batch is
``(batch, 1, 1001, 64)`` float32 (``(batch, 4, 1001, 64)`` for fused checkpoints, where the
four channels are copies for a window no longer than 10 s, as in the reference).

Windows longer than ``max_length_s`` are never passed here: the random crop of ``rand_trunc``
and the random fusion crops are replaced by the deterministic windowing of
:mod:`companion.embedding.clap.pooling`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import librosa
import numpy as np
import scipy.fft

from companion.errors import ModelError

#: Floor of the mel power before the log (``transformers.audio_utils.spectrogram`` ``mel_floor``
#: and ``power_to_db`` ``min_value``): −100 dB.
MEL_FLOOR = 1e-10


@dataclass(frozen=True)
class FrontendConfig:
    """Parameters of the CLAP front end, as in the checkpoint's ``preprocessor_config.json``.

    Attributes:
        sampling_rate: input sample rate in Hz (48 000).
        feature_size: number of mel bands (64).
        fft_window_size: STFT frame and FFT length in samples (1024).
        hop_length: STFT hop in samples (480, i.e. 10 ms).
        max_length_s: window length in seconds (10).
        frequency_min: lowest mel edge in Hz (50 for clap-htsat-unfused).
        frequency_max: highest mel edge in Hz (14 000).
        truncation: ``"rand_trunc"`` (Slaney filters, one channel) or ``"fusion"`` (HTK filters,
            four channels).
        padding: padding of short audio: ``"repeatpad"``, ``"repeat"`` or ``"pad"``.
    """

    sampling_rate: int = 48_000
    feature_size: int = 64
    fft_window_size: int = 1024
    hop_length: int = 480
    max_length_s: int = 10
    frequency_min: float = 50.0
    frequency_max: float = 14_000.0
    truncation: Literal["rand_trunc", "fusion"] = "rand_trunc"
    padding: Literal["repeatpad", "repeat", "pad"] = "repeatpad"

    @property
    def max_samples(self) -> int:
        """Samples in one window (480 000)."""
        return int(self.max_length_s * self.sampling_rate)

    @property
    def n_frames(self) -> int:
        """STFT frames of one window with centred frames: ``1 + max_samples // hop`` (1001)."""
        return 1 + self.max_samples // self.hop_length

    @property
    def channels(self) -> int:
        """Input channels of the audio encoder: 1 (``rand_trunc``) or 4 (``fusion``)."""
        return 4 if self.truncation == "fusion" else 1

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (the keys of ``preprocessor_config.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrontendConfig:
        """Build from a ``preprocessor_config.json`` dict; unknown keys are ignored.

        Raises:
            ModelError: if the config asks for options this front end does not implement
                (``top_db``, another truncation or padding mode).
        """
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if data.get("top_db") is not None:
            raise ModelError(
                f"preprocessor config sets top_db={data['top_db']!r}; the CLAP front end supports only "
                "top_db=null (as in laion/clap-htsat-*) — re-export the model or report the checkpoint"
            )
        cfg = cls(**kwargs)
        if cfg.truncation not in ("rand_trunc", "fusion"):
            raise ModelError(f"unsupported CLAP truncation {cfg.truncation!r}: expected rand_trunc or fusion")
        if cfg.padding not in ("repeatpad", "repeat", "pad"):
            raise ModelError(f"unsupported CLAP padding {cfg.padding!r}: expected repeatpad, repeat or pad")
        return cfg

    @classmethod
    def from_file(cls, path: Path) -> FrontendConfig:
        """Read a ``preprocessor_config.json``.

        Raises:
            ModelError: if the file is missing, not JSON, or asks for unsupported options.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot read CLAP preprocessor config {path}: {exc} — re-export or re-fetch the model"
            ) from exc
        return cls.from_dict(data)


class ClapFrontend:
    """Computes CLAP encoder inputs from 48 kHz mono windows.

    Args:
        config: front-end parameters; default: those of ``laion/clap-htsat-unfused``.

    The object is immutable after construction and safe to share between threads.
    """

    def __init__(self, config: FrontendConfig | None = None) -> None:
        self.config = config or FrontendConfig()
        c = self.config
        # Periodic Hann window, float64 (transformers.audio_utils.window_function(n, "hann")).
        self._window = np.hanning(c.fft_window_size + 1)[:-1]

    @cached_property
    def mel_filters(self) -> np.ndarray:
        """Mel filter bank, shape (n_fft // 2 + 1, feature_size) float64.

        Slaney scale + Slaney normalisation for ``rand_trunc`` (``librosa.filters.mel`` defaults,
        identical to ``transformers.audio_utils.mel_filter_bank(norm="slaney", mel_scale="slaney")``);
        HTK scale without normalisation for ``fusion``.
        """
        c = self.config
        htk = c.truncation == "fusion"
        fb = librosa.filters.mel(
            sr=c.sampling_rate,
            n_fft=c.fft_window_size,
            n_mels=c.feature_size,
            fmin=c.frequency_min,
            fmax=c.frequency_max,
            htk=htk,
            norm=None if htk else "slaney",
            dtype=np.float64,
        )
        return np.ascontiguousarray(fb.T)

    def pad(self, y: np.ndarray) -> np.ndarray:
        """Pad a window shorter than ``max_samples`` the way the reference extractor does.

        Args:
            y: mono audio, shape (n,), 1 ≤ n ≤ ``max_samples``, at ``sampling_rate``.

        Returns:
            shape (max_samples,) float64: ``repeatpad`` tiles ``y`` ``floor(max/n)`` times and
            zero-pads; ``repeat`` tiles and cuts; ``pad`` zero-pads.

        Raises:
            ValueError: if ``y`` is empty or longer than one window.
        """
        c = self.config
        n, m = y.shape[0], c.max_samples
        if n == 0:
            raise ValueError("cannot pad an empty window")
        if n > m:
            raise ValueError(f"window of {n} samples is longer than {m}; cut it with pooling.window_starts first")
        y = np.asarray(y, dtype=np.float64)
        if n == m:
            return y
        if c.padding == "repeat":
            y = np.tile(y, m // n + 1)[:m]
        elif c.padding == "repeatpad":
            y = np.tile(y, m // n)
        return np.pad(y, (0, m - y.shape[0]))

    def log_mel(self, y: np.ndarray) -> np.ndarray:
        """Log-mel spectrogram of one window, padded as the reference does.

        Args:
            y: mono audio, shape (n,), 1 ≤ n ≤ ``max_samples``, float in [-1, 1] at 48 kHz.

        Returns:
            shape (n_frames, feature_size) = (1001, 64) float32, in dB (floor −100 dB).
        """
        c = self.config
        x = self.pad(y)
        half = c.fft_window_size // 2
        x = np.pad(x, (half, half), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(x, c.fft_window_size)[:: c.hop_length]
        spec = scipy.fft.rfft(frames * self._window, axis=-1)
        power = spec.real**2 + spec.imag**2
        mel = np.maximum(power @ self.mel_filters, MEL_FLOOR)
        return (10.0 * np.log10(mel)).astype(np.float32)

    def features(self, windows: list[np.ndarray]) -> np.ndarray:
        """Encoder input for a batch of windows.

        Args:
            windows: mono 48 kHz windows, each shape (n,), 1 ≤ n ≤ ``max_samples``.

        Returns:
            ``input_features``, shape (batch, channels, 1001, 64) float32, channels = 1
            (``rand_trunc``) or 4 identical copies (``fusion``).
        """
        c = self.config
        out = np.empty((len(windows), c.channels, c.n_frames, c.feature_size), dtype=np.float32)
        for i, w in enumerate(windows):
            out[i, :] = self.log_mel(w)
        return out
