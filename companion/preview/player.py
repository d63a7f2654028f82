"""Audition playback through PortAudio (sounddevice), click-free, with volume and device choice.

One :class:`Player` owns at most one ``sounddevice.OutputStream``. The stream is opened on
:meth:`Player.play` with PortAudio's low-latency setting and closes itself (``CallbackStop``)
once nothing is left to play, so an idle companion holds no audio device.

Click-free: every start ramps in over :data:`FADE_IN_S`, every stop (and the end of a one-shot
or region) ramps out over :data:`FADE_OUT_S`, with a raised-cosine (sin²) curve; starting a new
sound while one plays cross-fades them. Volume changes are ramped across one audio block.

The audio callback runs on PortAudio's thread: it only slices numpy arrays (no allocation beyond
the block, no locks held for long, no I/O). ``on_state`` is called with ``"playing"`` from the
thread that called :meth:`play` and with ``"stopped"`` from PortAudio's thread when the stream
has finished; the UI turns it into a Qt signal.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from companion.errors import AudioOutputError
from companion.preview.render import Rendered

log = logging.getLogger(__name__)

#: Fade-in at every start, s (short enough to keep a kick's attack).
FADE_IN_S = 0.003
#: Fade-out at every stop and at the end of a one-shot or region, s.
FADE_OUT_S = 0.012
#: Output rate when the device does not say, Hz.
FALLBACK_RATE = 48000


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # libportaudio missing
        raise AudioOutputError(
            f"no audio output: {exc} — install PortAudio (Debian: apt install libportaudio2)"
        ) from exc
    return sounddevice


@dataclass(frozen=True)
class OutputDevice:
    """An audio output as PortAudio lists it.

    Attributes:
        index: PortAudio device index.
        name: device name, e.g. ``"default"``, ``"Scarlett 2i2 USB: Audio (hw:1,0)"``.
        hostapi: host API name (``ALSA``, ``Core Audio``, ``WASAPI`` …).
        channels: maximum output channels.
        default_samplerate: Hz.
        is_default: the system's default output.
    """

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool

    @property
    def label(self) -> str:
        """What a device menu shows, e.g. ``"default (ALSA)"``."""
        return f"{self.name} ({self.hostapi})"


def output_devices() -> list[OutputDevice]:
    """Every device with output channels, the default first.

    Raises:
        AudioOutputError: PortAudio is not installed.
    """
    sd = _sounddevice()
    try:
        default_out = sd.default.device[1]
        if default_out is None or default_out < 0:
            default_out = sd.query_hostapis(0)["default_output_device"]
    except (sd.PortAudioError, IndexError, TypeError):
        default_out = -1
    hostapis = sd.query_hostapis()
    out = []
    for i, d in enumerate(sd.query_devices()):
        if d["max_output_channels"] <= 0:
            continue
        out.append(
            OutputDevice(
                index=i,
                name=d["name"],
                hostapi=hostapis[d["hostapi"]]["name"],
                channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                is_default=i == default_out,
            )
        )
    out.sort(key=lambda dev: (not dev.is_default, dev.index))
    return out


def _ramp(x: np.ndarray) -> np.ndarray:
    """Raised-cosine ramp 0 → 1 for x in [0, 1] (clipped)."""
    return np.sin(0.5 * np.pi * np.clip(x, 0.0, 1.0)) ** 2


class _Voice:
    """One sound being played: frames, a region, a position and its fades (audio thread only)."""

    def __init__(
        self,
        frames: np.ndarray,
        loop: bool,
        start: int,
        end: int,
        fade_in: int,
        fade_out: int,
        *,
        pos: int | None = None,
        tag: object = None,
    ) -> None:
        self.frames = frames
        self.loop = loop
        self.start = start
        self.end = end
        self.pos = start if pos is None else pos
        self.tag = tag
        self.next_frames: np.ndarray | None = None  # replaces ``frames`` at the next loop turn
        self.follow: _Voice | None = None  # takes this voice's position at its first block
        self.elapsed = 0
        self.fade_in = max(1, fade_in)
        self.fade_out = max(1, fade_out)
        self.stopping_at: int | None = None  # value of ``elapsed`` when the stop began
        self.done = False
        self.ran_out = False  # reached its end (not stopped)

    def take_position(self) -> None:
        """Start where the voice it follows is now, as that one starts to fade out (called
        under the player's lock at the start of a callback, before any voice renders its
        block, so the two fades cross on the same frames)."""
        src, self.follow = self.follow, None
        if src is not None:
            self.pos = src.pos % self.end if self.loop else min(src.pos, self.end - 1)
            src.fade_out = self.fade_in
            src.stop()

    def stop(self) -> None:
        if self.stopping_at is None:
            self.stopping_at = self.elapsed

    def render(self, n: int, channels: int) -> np.ndarray:
        """The next ``n`` frames, (n, channels) float32, with fades applied."""
        length = self.end - self.start
        steps = np.arange(n)
        if self.loop:
            idx = self.start + (self.pos - self.start + steps) % length
            valid = n
        else:
            valid = max(0, min(n, self.end - self.pos))
            idx = self.pos + steps[:valid]
        block = np.zeros((n, self.frames.shape[1]), dtype=np.float32)
        block[:valid] = self.frames[idx]
        if self.loop and self.next_frames is not None:
            turned = np.flatnonzero(self.pos - self.start + steps >= length)
            if turned.size:  # from the loop's first frame on, play the new frames
                k = int(turned[0])
                block[k:] = self.next_frames[idx[k:]]
                self.frames, self.next_frames = self.next_frames, None
        gain = _ramp((self.elapsed + steps) / self.fade_in)
        if not self.loop:  # fade the tail of a one-shot or region that ends abruptly
            remaining = self.end - (self.pos + steps)
            gain = gain * _ramp(remaining / self.fade_out)
        if self.stopping_at is not None:
            since = self.elapsed - self.stopping_at + steps
            gain = gain * (1.0 - _ramp(since / self.fade_out))
            if self.elapsed - self.stopping_at + n >= self.fade_out:
                self.done = True
        block *= gain[:, None].astype(np.float32)
        if self.loop:
            self.pos = self.start + (self.pos - self.start + n) % length
        else:
            self.pos += valid
            if self.pos >= self.end:
                self.done = True
                self.ran_out = True
        self.elapsed += n
        if block.shape[1] == channels:
            return block
        if block.shape[1] == 1:
            return np.repeat(block, channels, axis=1)
        return block[:, :channels] if block.shape[1] > channels else np.repeat(block[:, :1], channels, axis=1)


class Player:
    """Plays rendered previews on one output device.

    Args:
        device: PortAudio device index or name; None = the system default.
        volume: linear gain 0–1.
        latency: PortAudio latency hint (``"low"``, ``"high"`` or seconds).
        on_state: called with ``"playing"`` / ``"stopped"`` (see the module docstring).

    Raises:
        AudioOutputError: PortAudio is not installed.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        volume: float = 0.8,
        latency: str | float = "low",
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self._sd = _sounddevice()
        self._device = device
        self._latency = latency
        self._lock = threading.Lock()
        self._voices: list[_Voice] = []
        self._stream: Any | None = None
        self._stream_rate: int | None = None
        self._ending = False  # the callback has asked PortAudio to finish the stream
        self._generation = 0  # bumped per stream; a closing stream's late callbacks play nothing
        self._gain = float(np.clip(volume, 0.0, 1.0))
        self._target_gain = self._gain
        self.on_state = on_state
        #: Optional ``tap(block)`` called on the audio thread with each output block
        #: ((frames, channels) float32, after volume) — for level meters and tests.
        self.tap: Callable[[np.ndarray], None] | None = None
        self._last_ran_out: tuple[object, int] | None = None  # (tag, position) of a sound that ended
        self.blocks = 0  # callback invocations (for tests and diagnostics)
        self.frames_out = 0  # frames delivered to the device
        self.underflows = 0

    # ------------------------------------------------------------------ configuration
    @property
    def device(self) -> int | str | None:
        """The output device (index, name, or None for the default)."""
        return self._device

    @device.setter
    def device(self, device: int | str | None) -> None:
        """Change the device; what plays stops (the next play opens the new device)."""
        self.stop(fade=False)
        self._device = device

    @property
    def volume(self) -> float:
        """Linear gain 0–1; changes are ramped over one audio block."""
        return self._target_gain

    @volume.setter
    def volume(self, value: float) -> None:
        self._target_gain = float(np.clip(value, 0.0, 1.0))

    @property
    def sample_rate(self) -> int:
        """The device's default rate in Hz (renders are made at this rate).

        Raises:
            AudioOutputError: the device does not exist.
        """
        try:
            info = self._sd.query_devices(self._device, kind="output")
        except (self._sd.PortAudioError, ValueError) as exc:
            raise AudioOutputError(
                f"no audio output device {self._device!r}: {exc} — choose another one in Settings"
            ) from exc
        rate = int(info["default_samplerate"] or FALLBACK_RATE)
        return rate if rate > 0 else FALLBACK_RATE

    # ------------------------------------------------------------------ transport
    @property
    def is_playing(self) -> bool:
        """True while something is audible or fading out."""
        with self._lock:
            return any(not v.done for v in self._voices)

    def position_s(self) -> float | None:
        """Playback position of the current sound in seconds, None when idle."""
        with self._lock:
            live = [v for v in self._voices if not v.done and v.stopping_at is None]
            rate = self._stream_rate
        if not live or not rate:
            return None
        return live[-1].pos / float(rate)

    def play(self, rendered: Rendered, *, start_s: float = 0.0, end_s: float | None = None, tag: object = None) -> None:
        """Play a render (or a region of it), cross-fading out whatever plays now.

        Args:
            rendered: audio at :attr:`sample_rate` (or the rate of the stream already open).
            start_s / end_s: region in seconds; loops loop inside the region.
            tag: names this sound for :meth:`continue_with` (e.g. a draft that a fuller render
                will continue).

        Raises:
            AudioOutputError: the device cannot be opened, or the rate does not match.
        """
        frames = rendered.frames
        n = frames.shape[0]
        start = min(max(0, int(start_s * rendered.sample_rate)), max(0, n - 1))
        end = n if end_s is None else min(n, max(start + 1, int(end_s * rendered.sample_rate)))
        rate = rendered.sample_rate
        voice = _Voice(frames, rendered.loop, start, end, int(FADE_IN_S * rate), int(FADE_OUT_S * rate), tag=tag)
        self._last_ran_out = None
        if self.on_state is not None:  # before the stream starts: a short sound may end at once
            self.on_state("playing")
        old = None
        with self._lock:
            stream = self._stream
            reuse = stream is not None and stream.active and not self._ending and self._stream_rate == rate
            for v in self._voices:
                v.stop()
            if reuse:
                self._voices.append(voice)
            else:
                old, self._stream = stream, None
                self._voices = [voice]
        if not reuse:
            if old is not None:
                self._close(old)
            self._open(rate)

    def continue_with(self, tag: object, rendered: Rendered, *, at_loop_turn: bool = False) -> bool:
        """Let ``rendered`` take over from the sound played with ``tag``, at the same position.

        Both must be renders of the same audio with the same time line (a draft and the full
        render of one plan). The switch is a cross-fade over :data:`FADE_OUT_S` at the playing
        frame, or, with ``at_loop_turn``, exact at the loop's next first frame (loops of the
        same length only: a same-length render replaces the frames there, so nothing is mixed).
        When the tagged sound already ran out (its render ended before this one was ready), the
        new one starts where it ended.

        Returns:
            True when ``rendered`` plays (or will, at the loop turn); False when the tagged sound
            was stopped or replaced, or ``at_loop_turn`` was asked of a one-shot.

        Raises:
            AudioOutputError: the device cannot be opened (only when the old sound had ended).
        """
        rate = rendered.sample_rate
        frames = rendered.frames
        with self._lock:
            voice = next((v for v in reversed(self._voices) if v.tag is tag and v.stopping_at is None), None)
            if voice is not None and self._stream_rate == rate:
                if at_loop_turn:
                    if not (voice.loop and rendered.loop and frames.shape == voice.frames.shape):
                        return False
                    voice.next_frames = frames
                    return True
                if voice.done:
                    resume_at = voice.pos
                else:
                    # the callback may be rendering a block of ``voice`` right now (outside the
                    # lock): the new voice takes its position when its first block starts
                    fade = int(FADE_OUT_S * rate)
                    new = _Voice(frames, rendered.loop, 0, frames.shape[0], fade, fade, tag=tag)
                    new.follow = voice
                    self._voices.append(new)
                    return True
            else:
                last = self._last_ran_out
                if at_loop_turn or last is None or last[0] is not tag or any(not v.done for v in self._voices):
                    return False
                resume_at = last[1]
        if resume_at >= frames.shape[0]:
            return False
        self.play(rendered, start_s=resume_at / float(rate), tag=tag)
        return True

    def stop(self, fade: bool = True) -> None:
        """Stop with a fade-out (or at once with ``fade=False``, e.g. on device change)."""
        old = None
        with self._lock:
            self._last_ran_out = None
            for v in self._voices:
                v.stop()
            if not fade:
                self._voices.clear()
                self._generation += 1
                old, self._stream = self._stream, None
        if old is not None:
            self._close(old)

    def close(self) -> None:
        """Stop at once and release the device."""
        self.stop(fade=False)

    # ------------------------------------------------------------------ stream
    def _open(self, rate: int) -> None:
        sd = self._sd
        try:
            info = sd.query_devices(self._device, kind="output")
            channels = max(1, min(2, int(info["max_output_channels"])))
            with self._lock:
                self._generation += 1
                generation = self._generation
            stream = sd.OutputStream(
                samplerate=rate,
                channels=channels,
                dtype="float32",
                device=self._device,
                latency=self._latency,
                callback=functools.partial(self._callback, generation),
                finished_callback=functools.partial(self._finished, generation),
            )
            with self._lock:
                self._stream = stream
                self._stream_rate = rate
                self._ending = False
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            with self._lock:
                self._voices.clear()
                self._stream = None
            if self.on_state is not None:
                self.on_state("stopped")
            raise AudioOutputError(
                f"cannot open the audio output {self._device or 'default'!r} at {rate} Hz: {exc} — "
                "choose another output device in Settings"
            ) from exc
        log.debug("audio stream open: %s Hz, %d ch, latency %.1f ms", rate, channels, stream.latency * 1000)

    def _close(self, stream: Any) -> None:
        try:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
        except self._sd.PortAudioError as exc:  # closing a dead device: nothing left to release
            log.info("closing the audio stream: %s", exc)

    def _callback(self, generation: int, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        with self._lock:
            if generation != self._generation:  # a replaced stream still draining
                outdata.fill(0.0)
                raise self._sd.CallbackAbort
            for v in self._voices:
                if v.follow is not None:
                    v.take_position()
            voices = list(self._voices)
        if status.output_underflow:
            self.underflows += 1
        channels = outdata.shape[1]
        mix = np.zeros((frames, channels), dtype=np.float32)
        for v in voices:
            mix += v.render(frames, channels)
        target = self._target_gain
        if target != self._gain:
            mix *= np.linspace(self._gain, target, frames, dtype=np.float32)[:, None]
            self._gain = target
        else:
            mix *= self._gain
        np.clip(mix, -1.0, 1.0, out=mix)
        outdata[:] = mix
        if self.tap is not None:
            self.tap(mix)
        self.blocks += 1
        self.frames_out += frames
        with self._lock:
            if generation != self._generation:
                return
            for v in self._voices:
                if v.ran_out and v.tag is not None and v.stopping_at is None:
                    self._last_ran_out = (v.tag, v.pos)
            self._voices = [v for v in self._voices if not v.done]
            if not self._voices:
                self._ending = True
                raise self._sd.CallbackStop

    def _finished(self, generation: int) -> None:
        with self._lock:
            idle = generation == self._generation and (not self._voices or all(v.done for v in self._voices))
        if idle and self.on_state is not None:
            try:
                self.on_state("stopped")
            except Exception:  # never let a listener kill PortAudio's thread
                log.exception("player state listener failed")
