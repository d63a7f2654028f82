"""Rendering a sample for audition: decode, resample to the output rate, stretch and pitch.

Time-stretching and pitch-shifting use Rubber Band through pedalboard's
:func:`pedalboard.time_stretch` (R3 "finer" engine with ``high_quality=True``, formants kept),
the stretcher DAWs use for warped audio. Resampling uses soxr (VHQ).

Loops are rendered *seamlessly*: the loop is padded on both sides with its own wrap-around
(its tail before it, its head after it) before stretching, so the stretcher sees the loop as
the endless signal it is, and the middle is cut out at the exact stretched length
``round(n / speed)``. The frames the stretcher produced *after* the loop's end continue the tail
seamlessly, so the first 10 ms of the loop are cross-faded from them into the true head and the
loop point does not click. (Rubber Band's R3 engine keeps the overall length exact, but its
timing inside a render may drift by up to ~0.2 %, about 15 ms over an 8 s loop; measured with
clicks at known positions. The R2 engine, ``high_quality=False``, does not drift but jitters
by ±2 ms around transients.)

*Draft* renders start an audition at once when no render is cached
(:meth:`companion.preview.audition.Auditioner.play_at_once`): the pitch shift is a soxr
resampling (as a sampler transposes) and Rubber Band's R2 engine only changes the tempo
(``stretch_factor = speed / ratio``), which avoids the ~60 ms set-up Rubber Band's own pitch
shifter costs on every call (measured with pedalboard 0.9.26: 4800 frames with a +2 st shift
take 65–90 ms, without a shift 6–9 ms). Formants move with the pitch in a draft. The R2 engine
runs in its ``mixed`` transient mode: in the default ``crisp`` mode its phase resets moved a
stretched 440 Hz sine to 435–441 Hz (zero-crossing count, stretch factors 0.935–1.1); ``mixed``
keeps 440.0 Hz and still resets at percussive onsets.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from companion.analysis.audio import read_audio
from companion.preview.plan import PreviewPlan

log = logging.getLogger(__name__)

#: Longest audio decoded for audition, seconds (a 10-minute field recording is cut here).
MAX_PREVIEW_S = 60.0
#: Wrap-around padding on each side of a loop before stretching, seconds.
LOOP_PAD_S = 0.5
#: Cross-fade at a stretched loop's wrap point, seconds.
SEAM_XFADE_S = 0.010
#: Input beyond a draft head's end that the stretcher sees, so the head's last frames are not
#: its flush-out (s of source audio).
HEAD_MARGIN_S = 0.25


@dataclass(frozen=True)
class Rendered:
    """Audio ready to play.

    Attributes:
        frames: (n, channels) float32 in [-1, 1], C-contiguous, at ``sample_rate``.
        sample_rate: Hz.
        loop: play it in a loop.
        plan: the plan it was rendered with.
        render_ms: time spent decoding and rendering (0 for a cache hit), ms.
    """

    frames: np.ndarray
    sample_rate: int
    loop: bool
    plan: PreviewPlan
    render_ms: float = 0.0

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frames.shape[0] / float(self.sample_rate)

    @property
    def nbytes(self) -> int:
        """Memory held by the frames, bytes."""
        return int(self.frames.nbytes)


def load_audio(
    path: Path | str, sample_rate: int | None = None, max_s: float = MAX_PREVIEW_S
) -> tuple[np.ndarray, int]:
    """Decode a file for playback (all channels, native resolution).

    The file is opened by its content through the scanner's own opener
    (:func:`companion.analysis.audio.read_audio`), so every file the scanner analysed plays.

    Args:
        path: wav, aiff, flac, ogg, or mp3 (libsndfile ≥ 1.1) file.
        sample_rate: resample to this rate (Hz) with soxr; None keeps the file's rate.
        max_s: decode at most this many seconds.

    Returns:
        ``(frames, sr)``: frames (n, channels) float32, channels 1 or 2 (more are mixed down to
        stereo by taking the first two), and the sample rate in Hz.

    Raises:
        AudioDecodeError: the file is missing, empty or unreadable (``"cannot play <name>: <reason>"``).
    """
    frames, native_sr = read_audio(path, max_s, verb="play")
    if frames.shape[1] > 2:
        frames = frames[:, :2]
    if sample_rate is not None and sample_rate != native_sr:
        frames = soxr.resample(frames, native_sr, sample_rate, quality="VHQ").astype(np.float32, copy=False)
        native_sr = int(sample_rate)
    return np.ascontiguousarray(frames, dtype=np.float32), native_sr


def _shift_and_stretch(
    source: np.ndarray, sample_rate: int, speed: float, semitones: float, *, high_quality: bool, draft: bool
) -> np.ndarray:
    """(n, ch) float32 → about (n / speed, ch) float32, transposed by ``semitones``."""
    from pedalboard import (
        time_stretch,  # imported here: a 50 MB native module, only when used
    )

    if not draft:
        return time_stretch(
            np.ascontiguousarray(source.T),
            float(sample_rate),
            stretch_factor=float(speed),
            pitch_shift_in_semitones=float(semitones),
            high_quality=high_quality,
            preserve_formants=True,
        ).T
    ratio = 2.0 ** (semitones / 12.0)
    if semitones:  # n → n / ratio frames: played at sample_rate it sounds ``ratio`` higher
        source = soxr.resample(source, sample_rate * ratio, sample_rate, quality="HQ").astype(np.float32, copy=False)
    factor = speed / ratio
    if abs(factor - 1.0) < 1e-9:
        return source
    return time_stretch(
        np.ascontiguousarray(source.T),
        float(sample_rate),
        stretch_factor=float(factor),
        high_quality=False,
        transient_mode="mixed",
        preserve_formants=False,
    ).T


def stretch(
    frames: np.ndarray, sample_rate: int, plan: PreviewPlan, *, high_quality: bool = True, draft: bool = False
) -> np.ndarray:
    """Apply a plan's speed and pitch shift with Rubber Band.

    Args:
        frames: (n, channels) float32.
        sample_rate: Hz.
        plan: the :class:`PreviewPlan` (``speed`` > 1 shortens, ``semitones`` transposes).
        high_quality: Rubber Band's higher-quality mode (about 2.5× the CPU of the fast one).
        draft: the quick render of the module docstring (resampled pitch, R2 tempo); ignores
            ``high_quality``.

    Returns:
        (m, channels) float32 with ``m == round(n / plan.speed)`` for loops (exact, so the loop
        length matches the session's bars), about that for one-shots.
    """
    if plan.is_identity:
        return frames
    n = frames.shape[0]
    target_len = max(1, int(round(n / plan.speed)))
    if plan.loop:
        pad = min(n, int(LOOP_PAD_S * sample_rate))
        source = np.concatenate([frames[n - pad :], frames, frames[:pad]]) if pad else frames
    else:
        pad = 0
        source = frames
    out = _shift_and_stretch(source, sample_rate, plan.speed, plan.semitones, high_quality=high_quality, draft=draft)
    if plan.loop:
        start = int(round(pad / plan.speed))
        body = out[start : start + target_len].copy()
        if body.shape[0] < target_len:  # the stretcher fell a few frames short: wrap the head
            body = np.concatenate([body, body[: target_len - body.shape[0]]])
        # The wrap: the frames that follow the loop's end in the padded render *are* the head
        # as it continues the tail. Cross-fade from them into the true head, so the jump from
        # the last frame to the first is continuous (a stretched tone has a non-integer number
        # of cycles per loop, so the raw cut would click).
        follow = out[start + target_len : start + target_len + int(SEAM_XFADE_S * sample_rate)]
        xf = min(follow.shape[0], body.shape[0] // 4)
        if xf > 1:
            w = (np.sin(0.5 * np.pi * (np.arange(xf) + 0.5) / xf) ** 2)[:, None].astype(np.float32)
            body[:xf] = body[:xf] * w + follow[:xf] * (1.0 - w)
        out = body
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:  # pitch shifting can overshoot a full-scale source
        out = out / peak
    return np.ascontiguousarray(out, dtype=np.float32)


def render(
    path: Path | str, plan: PreviewPlan, sample_rate: int, *, high_quality: bool = True, draft: bool = False
) -> Rendered:
    """Decode ``path`` at ``sample_rate`` and apply ``plan`` (``draft``: see :func:`stretch`).

    Raises:
        AudioDecodeError: the file cannot be read.
    """
    t0 = time.perf_counter()
    frames, sr = load_audio(path, sample_rate)
    out = stretch(frames, sr, plan, high_quality=high_quality, draft=draft)
    return Rendered(out, sr, plan.loop, plan, render_ms=(time.perf_counter() - t0) * 1000.0)


def render_head(path: Path | str, plan: PreviewPlan, sample_rate: int, head_s: float) -> tuple[Rendered, bool]:
    """A draft of the first ``head_s`` seconds of a render, to start an audition at once.

    Only the source audio the head needs is decoded (``head_s * speed`` plus
    :data:`HEAD_MARGIN_S`). When that is the whole file, the whole draft is rendered instead
    (loops with their seamless wrap) and nothing else needs to follow.

    Args:
        path: the file.
        plan: the render's plan.
        sample_rate: output rate, Hz.
        head_s: seconds of rendered audio wanted, > 0.

    Returns:
        ``(rendered, complete)``: the head (``loop=False``, (round(head_s * sample_rate),
        channels) float32 at most) or, when ``complete``, the whole draft render.

    Raises:
        AudioDecodeError: the file cannot be read.
    """
    t0 = time.perf_counter()
    in_s = head_s * plan.speed + HEAD_MARGIN_S
    frames, sr = load_audio(path, sample_rate, max_s=in_s)
    if frames.shape[0] < 0.99 * in_s * sr:  # the file ended first: this is all of it
        out = stretch(frames, sr, plan, draft=True)
        return Rendered(out, sr, plan.loop, plan, render_ms=(time.perf_counter() - t0) * 1000.0), True
    out = stretch(frames, sr, replace(plan, loop=False), draft=True)[: int(round(head_s * sr))]
    return Rendered(np.ascontiguousarray(out), sr, False, plan, render_ms=(time.perf_counter() - t0) * 1000.0), False


def write_wav(rendered: Rendered, path: Path, *, start_s: float = 0.0, end_s: float | None = None) -> Path:
    """Write a render (or a region of it) as a 24-bit WAV, e.g. to drag into the DAW.

    Args:
        rendered: the audio.
        path: destination file; parent folders are created.
        start_s / end_s: region in seconds of the rendered audio (default: all of it).

    Returns:
        ``path``.
    """
    sr = rendered.sample_rate
    a = max(0, int(start_s * sr))
    b = rendered.frames.shape[0] if end_s is None else min(rendered.frames.shape[0], int(end_s * sr))
    if b <= a:
        raise ValueError(f"empty region {start_s:.3f}–{end_s} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), rendered.frames[a:b], sr, subtype="PCM_24")
    return path
