"""Playback through a real sounddevice/PortAudio stream (ALSA null device, see conftest)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from companion.errors import AudioOutputError
from companion.preview.plan import PreviewPlan
from companion.preview.player import (
    FADE_IN_S,
    FADE_OUT_S,
    Player,
    _Voice,
    output_devices,
)
from companion.preview.render import Rendered

SR = 48000


def _const(seconds: float, value: float = 0.5, loop: bool = False) -> Rendered:
    frames = np.full((int(seconds * SR), 2), value, dtype=np.float32)
    return Rendered(frames, SR, loop, PreviewPlan(loop=loop))


class Recorder:
    """Collects what the player hands to PortAudio, and the state changes."""

    def __init__(self, player: Player) -> None:
        self.blocks: list[np.ndarray] = []
        self.states: list[str] = []
        self.stopped = threading.Event()
        player.tap = lambda block: self.blocks.append(block.copy())
        player.on_state = self._state

    def _state(self, state: str) -> None:
        self.states.append(state)
        if state == "stopped":
            self.stopped.set()

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.zeros((0, 2), np.float32)


@pytest.fixture()
def player():
    p = Player(device=None)
    yield p
    p.close()


def test_default_output_exists():
    devices = output_devices()
    assert devices and devices[0].is_default
    assert devices[0].channels >= 1 and devices[0].default_samplerate > 0


def test_one_shot_plays_to_the_end_with_fades_and_reports_stopped(player: Player):
    rec = Recorder(player)
    player.play(_const(0.2))
    assert rec.states[0] == "playing"  # the null device may already have finished it
    assert rec.stopped.wait(5.0)
    assert rec.states == ["playing", "stopped"]
    audio = rec.audio[:, 0]
    nonzero = np.flatnonzero(audio)
    assert len(nonzero) >= int(0.19 * SR)  # all of it reached the device
    fade_in = int(FADE_IN_S * SR)
    assert audio[0] < 0.01 and audio[fade_in] == pytest.approx(0.4, abs=0.01)  # 0.5 × volume 0.8
    last = nonzero[-1]
    assert audio[last] < 0.01  # faded out, no step to silence
    assert np.max(np.abs(np.diff(audio))) < 0.4 / (FADE_IN_S * SR) * 3  # no sample-to-sample jump


def test_loop_loops_until_stopped_then_fades(player: Player):
    rec = Recorder(player)
    player.play(_const(0.05, loop=True))  # 2 400 frames, looped
    deadline = time.time() + 5
    while player.frames_out < 20 * 2400 and time.time() < deadline:
        time.sleep(0.005)
    assert player.is_playing and player.position_s() is not None
    player.stop()
    assert rec.stopped.wait(5.0)
    audio = rec.audio[:, 0]
    assert len(audio) > 20 * 2400
    steady = audio[int(FADE_IN_S * SR) + 10 : -int(FADE_OUT_S * SR) - 2 * 4096]
    np.testing.assert_allclose(steady, 0.4, atol=1e-6)  # the loop point is seamless
    assert not player.is_playing


def test_volume_scales_and_ramps(player: Player):
    rec = Recorder(player)
    player.volume = 0.25
    player.play(_const(0.3))
    assert rec.stopped.wait(5.0)
    assert np.max(rec.audio) == pytest.approx(0.125, abs=1e-4)
    player.volume = 7.0
    assert player.volume == 1.0


def test_new_sound_crossfades_the_old_one_and_region_plays(player: Player):
    rec = Recorder(player)
    player.play(_const(1.0, 0.5, loop=True))
    time.sleep(0.02)
    ramp = np.linspace(0, 1, SR, dtype=np.float32)
    second = Rendered(np.stack([ramp, ramp], 1), SR, False, PreviewPlan())
    player.play(second, start_s=0.5, end_s=0.6)  # a region: values 0.5 … 0.6
    assert rec.stopped.wait(5.0)
    assert rec.states[-1] == "stopped" and rec.states.count("stopped") == 1
    audio = rec.audio[:, 0]
    assert np.max(np.abs(np.diff(audio))) < 0.05  # the switch is click-free
    played = audio[: np.flatnonzero(audio)[-1] + 1]
    region = played[-int(0.08 * SR) : -int(FADE_OUT_S * SR)]  # after the cross-fade, before the fade-out
    assert np.all((region > 0.5 * 0.8 - 1e-3) & (region < 0.6 * 0.8 + 1e-3))  # values of the 0.5–0.6 s region


def test_stop_without_fade_and_bad_device():
    p = Player(device=None)
    rec = Recorder(p)
    p.play(_const(5.0, loop=True))
    p.stop(fade=False)
    assert not p.is_playing
    p.device = 999  # no such device
    with pytest.raises(AudioOutputError, match="Settings"):
        p.play(_const(0.1))
    assert rec.states[-1] == "stopped"


def test_voice_fades_are_raised_cosine():
    v = _Voice(np.ones((1000, 1), np.float32), loop=True, start=0, end=1000, fade_in=100, fade_out=200)
    first = v.render(100, 2)
    assert first.shape == (100, 2)
    assert first[0, 0] == 0.0 and 0.49 < first[50, 0] < 0.51 and first[99, 0] > 0.99
    v.stop()
    tail = v.render(300, 1)[:, 0]
    assert tail[0] == pytest.approx(1.0) and tail[100] == pytest.approx(0.5, abs=0.01)
    assert np.all(tail[200:] == 0.0) and v.done
