"""Decoding audio files: one opener for every reader, and the one form every analysis step uses.

:func:`open_audio` opens a file by its *content*, never its name, and is the only way the
companion opens audio: the scanner (:func:`decode`), audition (:mod:`companion.preview.render`),
waveform thumbnails and CLAP all read through it (or :func:`read_audio`), so what the scanner
can read, the player can play, and a file that fails fails the same way everywhere.

:func:`decode` reads wav, aiff, flac, ogg and mp3 with libsndfile (through soundfile; MP3 needs
libsndfile ≥ 1.1), measures the peak and the integrated loudness of the native audio, and
returns a mono float32 signal resampled to the analysis rate (22 050 Hz, soxr).

One fallback is built in: RIFF/WAVE files whose ``fmt`` chunk declares an Ogg Vorbis codec
(format tags 0x674F–0x6771, written by some old trackers; several of LMMS's ``.ogg`` samples
are such files) hold a plain Ogg stream in their ``data`` chunk, which is decoded directly.

Long files are decoded block by block: the peak covers the whole file, while the mono signal
and the loudness cover the first :data:`MAX_ANALYSIS_S` seconds (the analysis of a sample
library never needs more, and memory stays bounded).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyloudnorm
import soundfile as sf
import soxr

from companion.errors import AudioDecodeError

#: Analysis sample rate in Hz.
ANALYSIS_SR = 22050
#: Longest stretch of audio (s) kept for analysis and loudness; the peak covers the whole file.
MAX_ANALYSIS_S = 120.0
#: Peak reported for digital silence, in dBFS (instead of −inf, which JSON cannot carry).
SILENCE_DBFS = -150.0
#: Peak (dBFS) the analysis signal is scaled to, so that every estimate is the same at any
#: gain. Inside the levels of the material the models were fitted on (one-shots peak at −12 …
#: −0.5 dBFS, loops at −6 … −0.5: ``benchmarks/datasets/make_oneshots.py``, ``make_loops.py``).
ANALYSIS_PEAK_DBFS = -3.0
#: Level (dB) below the loudest part at which nothing sounds: the default threshold of FFmpeg's
#: ``silencedetect`` filter (``noise=-60dB``). Frames this quiet set the DC offset
#: (:func:`remove_dc`); the loop span reads silence at the ends of a file with it
#: (:mod:`companion.analysis.loop_span`).
QUIET_DB = -60.0
#: Frame length (samples at the analysis rate: ≈ 12 ms at 22 050 Hz, one onset hop) over which
#: :func:`remove_dc` measures where the signal rests.
DC_FRAME = 256
#: Below this peak (dBFS) a signal is left as it is, not raised: silence, or dither alone
#: (the fingerprint embedding's silence level, :mod:`companion.embedding.fingerprint`).
RAISE_FLOOR_DBFS = -100.0
#: Share of the channels' mean energy below which their mean is no mono mix (-12 dB): the
#: channels cancel, and the loudest one is analysed instead.
PHASE_CANCEL_RATIO = 10.0 ** (-12.0 / 10.0)
#: Shortest signal (s) with an integrated loudness: one BS.1770 gating block is 400 ms.
MIN_LOUDNESS_S = 0.4
#: Frames read per block when scanning a file for its peak.
_BLOCK_FRAMES = 1 << 16
#: WAVE format tags of Ogg Vorbis in RIFF (mmreg.h: WAVE_FORMAT_OGG_VORBIS_MODE_1 … 3PLUS).
_WAV_OGG_FORMAT_TAGS = frozenset({0x674F, 0x6750, 0x6751, 0x676F, 0x6770, 0x6771})
SUPPORTED_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".mp3"})


@dataclass
class DecodedAudio:
    """A decoded file, ready for analysis.

    Attributes:
        y: mono signal, shape (n,) float32 at ``sr``; the mean of the native channels (the
            loudest channel where they cancel, :data:`PHASE_CANCEL_RATIO`), at most the first
            :data:`MAX_ANALYSIS_S` seconds of the file, with its DC offset removed
            (:func:`remove_dc`), scaled to peak at :data:`ANALYSIS_PEAK_DBFS` (unless its peak
            is below :data:`RAISE_FLOOR_DBFS`). Level is measured by ``peak_dbfs`` and
            ``loudness_lufs``, never from ``y``.
        sr: analysis sample rate in Hz (22 050 by default).
        mono: (n,) float32 at ``sr``, the mono mix as decoded, before the DC offset is removed
            and the level set: the input of the fingerprint embedding
            (:mod:`companion.embedding.fingerprint`, which sets its own level), so that its
            vectors stay those it was measured with (``benchmarks/fingerprint_precision.py``).
        native_sr: the file's sample rate in Hz.
        channels: the file's channel count.
        duration_s: duration of the whole file in seconds.
        peak_dbfs: sample peak of the native audio over the whole file, in dBFS
            (:data:`SILENCE_DBFS` for digital silence).
        loudness_lufs: integrated loudness in LUFS (ITU-R BS.1770-4 via pyloudnorm, all native
            channels); None if shorter than 0.4 s or silent (below the −70 LUFS gate).
    """

    y: np.ndarray
    sr: int
    native_sr: int
    channels: int
    duration_s: float
    peak_dbfs: float
    loudness_lufs: float | None
    mono: np.ndarray


@contextmanager
def open_audio(path: Path | str, *, verb: str = "decode") -> Iterator[sf.SoundFile]:
    """Open an audio file by its content (the name's extension is never trusted).

    libsndfile reads the stream through a file object, so it recognises the format from the
    header bytes (a RIFF/WAVE file named ``.ogg`` opens as WAVE); RIFF/WAVE files that wrap an
    Ogg Vorbis stream (format tags 0x674F–0x6771) are unwrapped first (:func:`_ogg_in_riff`).

    Args:
        path: a wav, aiff, flac, ogg or mp3 file (libsndfile ≥ 1.1 for mp3).
        verb: what the caller does, for the error message (``"decode"``, ``"play"``, ``"draw"``).

    Yields:
        An open :class:`soundfile.SoundFile`; closed (with the file) when the block ends.

    Raises:
        AudioDecodeError: the file is missing, empty, corrupt, or in a format libsndfile cannot
            read, also when reading inside the block fails; the message is
            ``"cannot <verb> <name>: <reason>"``.
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioDecodeError(f"cannot {verb} {name}: {exc.strerror or exc} — check the path") from exc
    if size == 0:
        raise AudioDecodeError(f"cannot {verb} {name}: the file is empty (0 bytes)")
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise AudioDecodeError(f"cannot {verb} {name}: {exc.strerror or exc}") from exc
    with fh:
        try:
            snd = sf.SoundFile(_ogg_in_riff(fh) or fh)
        except (sf.LibsndfileError, RuntimeError, ValueError, OSError, EOFError, struct.error) as exc:
            raise AudioDecodeError(f"cannot {verb} {name}: {_reason(exc)}") from exc
        with snd:
            if int(snd.samplerate) <= 0 or int(snd.channels) <= 0:
                raise AudioDecodeError(f"cannot {verb} {name}: invalid header ({snd.samplerate} Hz, {snd.channels} ch)")
            try:
                yield snd
            except (sf.LibsndfileError, RuntimeError, OSError, EOFError) as exc:
                raise AudioDecodeError(f"cannot {verb} {name}: {_reason(exc)}") from exc


def read_audio(path: Path | str, max_s: float | None = None, *, verb: str = "decode") -> tuple[np.ndarray, int]:
    """Read a file's native audio through :func:`open_audio`.

    Args:
        path: an audio file.
        max_s: read at most this many seconds from the start (None: all of it).
        verb: what the caller does, for the error message.

    Returns:
        ``(frames, sr)``: frames of shape (n, channels) float32 in [-1, 1] (non-finite samples
        replaced), n ≥ 1, and the file's sample rate in Hz.

    Raises:
        AudioDecodeError: the file cannot be opened or holds no audio frames.
    """
    with open_audio(path, verb=verb) as snd:
        sr = int(snd.samplerate)
        frames = snd.read(-1 if max_s is None else int(max_s * sr), dtype="float32", always_2d=True)
    if frames.shape[0] == 0:
        raise AudioDecodeError(f"cannot {verb} {Path(path).name}: the file holds no audio frames (empty or truncated)")
    if not np.all(np.isfinite(frames)):
        frames = np.nan_to_num(frames, nan=0.0, posinf=1.0, neginf=-1.0)
    return frames, sr


def decode(path: Path, sr: int = ANALYSIS_SR) -> DecodedAudio:
    """Decode an audio file for analysis (opened by :func:`open_audio`).

    Args:
        path: a wav, aiff, flac, ogg or mp3 file.
        sr: analysis sample rate in Hz for ``DecodedAudio.y``.

    Returns:
        The :class:`DecodedAudio`.

    Raises:
        AudioDecodeError: the file is missing, empty, truncated before any audio, corrupt or in
            a format libsndfile cannot read; the message names the file and the reason.
    """
    path = Path(path)
    try:
        native, native_sr, channels, total_frames, peak_rest = _read_native(path)
    except AudioDecodeError:
        raise
    except (ValueError, struct.error) as exc:
        raise AudioDecodeError(f"cannot decode {path.name}: {_reason(exc)}") from exc
    return _finish(native, native_sr, channels, total_frames, peak_rest, sr)


def _read_native(path: Path) -> tuple[np.ndarray, int, int, int, float]:
    """Read up to MAX_ANALYSIS_S of native audio, scanning the rest for its peak.

    Returns:
        ``(frames, native_sr, channels, total_frames, peak_rest)``: frames of shape
        (m, channels) float32, the number of frames actually found in the whole file (a
        truncated file yields what it holds), and the linear peak of the frames not kept.
    """
    name = path.name
    with open_audio(path) as snd:
        native_sr = int(snd.samplerate)
        channels = int(snd.channels)
        keep = int(MAX_ANALYSIS_S * native_sr)
        blocks: list[np.ndarray] = []
        kept = 0
        total = 0
        peak = 0.0
        while True:
            block = snd.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            if not np.all(np.isfinite(block)):
                block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
            total += block.shape[0]
            if kept < keep:
                part = block[: keep - kept]
                blocks.append(part)
                kept += part.shape[0]
            else:
                peak = max(peak, float(np.max(np.abs(block))))
    if total == 0:
        raise AudioDecodeError(f"cannot decode {name}: the file holds no audio frames (empty or truncated)")
    frames = np.concatenate(blocks, axis=0)
    return frames, native_sr, channels, total, peak


def _finish(
    native: np.ndarray, native_sr: int, channels: int, total_frames: int, peak_rest: float, sr: int
) -> DecodedAudio:
    """Measure peak and loudness, mix to mono, resample, remove the DC offset and scale the
    signal to :data:`ANALYSIS_PEAK_DBFS`.

    A DC offset (some bass and vintage-sampler recordings hold one) would otherwise keep a
    decayed one-shot's tail "sustained" and make clicks at both ends. Scaling to one peak makes
    the analysis the same at any gain (a kick recorded 20 dB down was no longer a kick), and
    a float file's overs are scaled rather than clipped, so its partials are not distorted.
    """
    peak = max(float(np.max(np.abs(native))), peak_rest)
    peak_dbfs = 20.0 * float(np.log10(peak)) if peak > 0 else SILENCE_DBFS
    peak_dbfs = max(peak_dbfs, SILENCE_DBFS)
    loudness = integrated_loudness(native, native_sr)
    mono = _mono(native)
    if native_sr != sr:
        mono = soxr.resample(mono, native_sr, sr, quality="HQ").astype(np.float32, copy=False)
    y = remove_dc(mono) if mono.size else mono.copy()
    if y.size:
        top = float(np.max(np.abs(y)))
        if top > 10.0 ** (RAISE_FLOOR_DBFS / 20.0):
            y *= np.float32(10.0 ** (ANALYSIS_PEAK_DBFS / 20.0) / top)
    return DecodedAudio(
        y=np.ascontiguousarray(y, dtype=np.float32),
        mono=np.ascontiguousarray(mono, dtype=np.float32),
        sr=sr,
        native_sr=native_sr,
        channels=channels,
        duration_s=total_frames / native_sr,
        peak_dbfs=peak_dbfs,
        loudness_lufs=loudness,
    )


def remove_dc(y: np.ndarray) -> np.ndarray:
    """Remove a DC offset: the level the signal rests at where nothing sounds, or its mean where
    something always sounds.

    A recording with an offset sits at it through its quiet parts: the offset is the median of
    the frames (:data:`DC_FRAME` samples) whose standard deviation is :data:`QUIET_DB` or more
    below the loudest frame's. So a one-shot that decays to silence, or a loop padded with
    silence, keeps its silence at 0: the mean of an asymmetric hit (a kick) is no offset, and
    subtracting it would lay a constant floor under its tail. A signal that never rests (a
    dense loop) has no such frames; audio carries no DC, so its offset is its mean. The median of
    the whole signal would not do there: for an asymmetric waveform (a narrow pulse, a sawtooth
    bass) it is not 0, and subtracting it would lay a floor under the loop's own silent end.

    Args:
        y: (n,) float32 signal, n ≥ 1.

    Returns:
        (n,) float32, a new array.
    """
    whole = y.size // DC_FRAME
    frames = y[None, :] if whole == 0 else y[: whole * DC_FRAME].reshape(whole, DC_FRAME)
    spread = frames.std(axis=1)
    quiet = spread <= float(spread.max()) * 10.0 ** (QUIET_DB / 20.0)
    offset = float(np.median(frames[quiet])) if quiet.any() else float(np.mean(y, dtype=np.float64))
    return (y - np.float32(offset)).astype(np.float32, copy=False)


def _mono(native: np.ndarray) -> np.ndarray:
    """Mix (m, channels) float32 frames to (m,) float32 mono: the mean of the channels, or the
    loudest channel when the mean keeps less than :data:`PHASE_CANCEL_RATIO` of the channels'
    energy (channels in opposite phase, as some stereo wideners leave them, cancel out)."""
    if native.shape[1] == 1:
        return native[:, 0].copy()
    mono = native.mean(axis=1, dtype=np.float32)
    energy = np.einsum("ij,ij->j", native, native, dtype=np.float64)
    if float(np.dot(mono, mono)) < PHASE_CANCEL_RATIO * float(energy.mean()):
        return native[:, int(np.argmax(energy))].copy()
    return mono


def integrated_loudness(frames: np.ndarray, rate: int) -> float | None:
    """Integrated loudness of multichannel audio (ITU-R BS.1770-4, pyloudnorm's K-weighting).

    Args:
        frames: shape (m, channels) or (m,), float in [-1, 1].
        rate: sample rate in Hz.

    Returns:
        Loudness in LUFS, or None when the audio is shorter than one 400 ms gating block or
        every block is below the −70 LUFS absolute gate (silence).
    """
    if frames.shape[0] < int(np.ceil(MIN_LOUDNESS_S * rate)) + 1:
        return None
    data = frames.astype(np.float64)
    if data.ndim == 2 and data.shape[1] > 5:  # BS.1770 weights defined for up to 5 channels
        data = data[:, :5]
    value = float(pyloudnorm.Meter(rate).integrated_loudness(data))
    return value if np.isfinite(value) else None


def _ogg_in_riff(fh: BinaryIO) -> BinaryIO | None:
    """Return the embedded Ogg stream of a RIFF/WAVE file with an Ogg Vorbis format tag.

    Only the chunk headers are read (a plain WAVE file costs a few small reads, whatever its
    size); the ``data`` chunk is read only when the ``fmt`` chunk declares Ogg Vorbis.

    Returns:
        A file-like object on the Ogg stream, or None for any other file (``fh`` is rewound).
    """
    try:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        fmt_tag: int | None = None
        while True:
            fh.seek(pos)
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt " and size >= 2:
                fmt_tag = struct.unpack("<H", fh.read(2))[0]
                if fmt_tag not in _WAV_OGG_FORMAT_TAGS:
                    return None
            elif cid == b"data" and fmt_tag in _WAV_OGG_FORMAT_TAGS:
                data = fh.read(size)
                start = data.find(b"OggS", 0, 64)
                return None if start < 0 else io.BytesIO(data[start:])
            pos += 8 + size + (size & 1)
    finally:
        fh.seek(0)


def _reason(exc: BaseException) -> str:
    """A short human reason from a libsndfile / OS error."""
    text = str(exc).strip() or type(exc).__name__
    if "Format not recognised" in text or "unknown format" in text.lower():
        return "not an audio format libsndfile can read (wav, aiff, flac, ogg, mp3)"
    if ": " in text and text.startswith("Error opening"):
        text = text.split(": ", 1)[1]
    return text
