"""Auditions that start at once: a draft head, the whole draft taking over at the same frame,
the full render replacing it at a loop turn (real files, real PortAudio stream on ALSA null)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from companion.music.keys import parse_key
from companion.preview.audition import HEAD_S, Auditioner, AuditionItem
from companion.preview.cache import RenderCache
from companion.preview.plan import PreviewPlan, plan_preview
from companion.preview.player import FADE_OUT_S, Player
from companion.preview.render import Rendered, render, render_head, stretch
from tests.preview.test_render import _click_times, _dominant_hz

SR = 48000
SONIC_PI = Path("/usr/share/sonic-pi/samples")


def _wait(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# ------------------------------------------------------------------ draft renders
def test_draft_shifts_pitch_by_resampling_and_keeps_the_exact_loop_length(sine_loop: Path):
    plan = plan_preview(
        kind="loop", bpm=120.0, key=parse_key("A major"), context_bpm=126.0, context_key=parse_key("B major")
    )
    assert plan.semitones == 2 and plan.speed == pytest.approx(1.05)
    full = render(sine_loop, plan, SR)
    draft = render(sine_loop, plan, SR, draft=True)
    assert draft.frames.shape == full.frames.shape == (round(4.0 * SR / 1.05), 2)
    assert _dominant_hz(draft.frames, SR) == pytest.approx(440.0 * 2 ** (2 / 12), abs=2.0)  # 493.9 Hz
    clicks = _click_times(draft.frames, SR)
    beat = 60.0 / 126.0
    assert len(clicks) in (8, 9)  # the first may show twice: at the head and in the wrap's cross-fade
    assert float(np.median(np.diff(clicks))) == pytest.approx(beat, abs=0.005)  # 126 BPM


def test_draft_of_a_one_shot_keeps_its_length(sine_loop: Path):
    frames = np.ascontiguousarray(np.repeat(np.sin(2 * np.pi * 440.0 * np.arange(SR) / SR)[:, None], 2, 1) * 0.3)
    plan = PreviewPlan(semitones=-3)
    out = stretch(frames.astype(np.float32), SR, plan, draft=True)
    assert abs(out.shape[0] - SR) < SR * 0.02
    assert _dominant_hz(out, SR) == pytest.approx(440.0 * 2 ** (-3 / 12), abs=2.0)


def test_head_decodes_only_the_start_and_matches_the_whole_draft(sine_loop: Path):
    plan = plan_preview(kind="loop", bpm=120.0, key=None, context_bpm=126.0, context_key=None)
    head, complete = render_head(sine_loop, plan, SR, 1.0)
    assert not complete and not head.loop and head.plan == plan
    assert head.frames.shape == (SR, 2)
    whole = render(sine_loop, plan, SR, draft=True)
    # the same time line: clicks fall on the same frames (within the stretcher's jitter)
    np.testing.assert_allclose(_click_times(head.frames, SR), _click_times(whole.frames[:SR], SR), atol=0.005)


def test_head_of_a_short_file_is_the_whole_draft(tmp_path: Path):
    plan = PreviewPlan(semitones=2)
    head, complete = render_head(SONIC_PI / "bd_haus.flac", plan, SR, 1.5)
    assert complete
    whole = render(SONIC_PI / "bd_haus.flac", plan, SR, draft=True)
    np.testing.assert_array_equal(head.frames, whole.frames)


# ------------------------------------------------------------------ the player's hand-over
class Tap:
    def __init__(self, player: Player) -> None:
        self.blocks: list[np.ndarray] = []
        self.lock = threading.Lock()
        player.tap = self._add

    def _add(self, block: np.ndarray) -> None:
        with self.lock:
            self.blocks.append(block[:, 0].copy())

    @property
    def audio(self) -> np.ndarray:
        with self.lock:
            return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.float32)


@pytest.fixture()
def player():
    p = Player(device=None, volume=1.0)
    yield p
    p.close()


def _const(n: int, value: float, loop: bool) -> Rendered:
    return Rendered(np.full((n, 2), value, np.float32), SR, loop, PreviewPlan(loop=loop))


def test_continue_with_crossfades_at_the_playing_frame(player: Player):
    tap = Tap(player)
    ramp = (np.arange(4 * SR, dtype=np.float32) / (4 * SR))[:, None].repeat(2, 1)
    head = Rendered(np.ascontiguousarray(ramp[:SR]), SR, False, PreviewPlan())
    whole = Rendered(np.ascontiguousarray(ramp * 1.0), SR, True, PreviewPlan(loop=True))
    tag = object()
    player.play(head, tag=tag)
    assert _wait(lambda: player.frames_out > SR // 4)
    assert player.continue_with(tag, whole)
    assert _wait(lambda: player.frames_out > 2 * SR)
    player.stop()
    audio = tap.audio[: 2 * SR]
    step = 1.0 / (4 * SR)
    # one continuous ramp: the whole render took over at the frame the head had reached (the
    # device may have been handed a few silent frames first, so compare with that offset)
    offset = int(round(SR // 8 - audio[SR // 8] / step))
    assert 0 <= offset < 4096
    np.testing.assert_allclose(audio[SR // 2 : 2 * SR], ramp[SR // 2 - offset : 2 * SR - offset, 0], atol=1e-5)
    np.testing.assert_allclose(np.diff(audio[SR // 8 : 2 * SR]), step, atol=1e-5)  # no jump, no dip


def test_continue_with_resumes_where_a_head_ran_out(player: Player):
    tap = Tap(player)
    tag = object()
    player.play(_const(SR // 10, 0.25, loop=False), tag=tag)  # 0.1 s: runs out
    assert _wait(lambda: not player.is_playing)
    assert player.continue_with(tag, _const(SR, 0.5, loop=False))
    assert _wait(lambda: player.is_playing is False and player.frames_out > SR // 2)
    played = tap.audio
    assert np.isclose(played, 0.5, atol=1e-6).sum() > SR * 0.8  # the rest, from 0.1 s on
    assert np.isclose(played, 0.5, atol=1e-6).sum() < SR * 0.9 + 4096


def test_continue_with_at_loop_turn_switches_exactly_at_the_first_frame(player: Player):
    tap = Tap(player)
    n = SR // 5  # a 0.2 s loop
    tag = object()
    player.play(_const(n, 0.25, loop=True), tag=tag)
    assert _wait(lambda: player.frames_out > n // 2)
    assert player.continue_with(tag, _const(n, 0.5, loop=True), at_loop_turn=True)
    assert _wait(lambda: player.frames_out > 4 * n)
    player.stop()
    audio = tap.audio
    first_new = int(np.flatnonzero(np.isclose(audio, 0.5, atol=1e-6))[0])
    assert first_new % n == 0  # a loop turn, sample-exact
    steady = audio[int(FADE_OUT_S * SR) : first_new]
    np.testing.assert_allclose(steady, 0.25, atol=1e-6)


def test_continue_with_refuses_a_stopped_or_replaced_sound(player: Player):
    tag = object()
    player.play(_const(SR, 0.25, loop=True), tag=tag)
    player.play(_const(SR, 0.5, loop=True), tag=object())  # another card
    assert not player.continue_with(tag, _const(SR, 0.3, loop=True))
    player.stop()
    assert not player.continue_with(tag, _const(SR, 0.3, loop=True))
    one_shot = object()
    player.play(_const(SR, 0.25, loop=False), tag=one_shot)
    assert not player.continue_with(one_shot, _const(SR, 0.3, loop=False), at_loop_turn=True)


# ------------------------------------------------------------------ the auditioner
def test_play_at_once_starts_a_draft_then_the_full_render_is_cached(player: Player):
    auditioner = Auditioner(player, RenderCache())
    tap = Tap(player)
    item = AuditionItem(str(SONIC_PI / "loop_mika.flac"), "loop", 120.0, "F# minor")
    key = parse_key("G minor")
    started = auditioner.play_at_once(item, 126.0, key)
    assert started is not None and started.draft
    assert started.first.frames.shape[0] == round(HEAD_S * auditioner.sample_rate)
    assert _wait(lambda: np.any(np.abs(tap.audio) > 1e-3))
    prepared = auditioner.finish(started, 126.0, key)
    assert not prepared.cache_hit and auditioner.is_cached(item, 126.0, key)
    again = auditioner.play_at_once(item, 126.0, key)
    assert again is not None and again.cache_hit and not again.draft
    assert again.first is prepared.rendered
    auditioner.stop()


def test_play_at_once_gives_up_when_no_longer_current(player: Player):
    auditioner = Auditioner(player, RenderCache())
    item = AuditionItem(str(SONIC_PI / "loop_mika.flac"), "loop", 120.0, None)
    assert auditioner.play_at_once(item, 126.0, None, current=lambda: False) is None
    assert not player.is_playing
