from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from companion.errors import AudioDecodeError
from companion.music.keys import parse_key
from companion.preview.plan import plan_preview
from companion.preview.render import Rendered, load_audio, render, write_wav


def _dominant_hz(x: np.ndarray, sr: int) -> float:
    mono = x.mean(axis=1)
    spec = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / sr)[np.argmax(spec)])


def _click_times(x: np.ndarray, sr: int) -> np.ndarray:
    """Onsets of the beat clicks: first sample of each run above 0.5."""
    loud = np.abs(x.mean(axis=1)) > 0.55
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    keep = [starts[0]] if len(starts) else []
    for s in starts[1:]:
        if s - keep[-1] > sr // 10:
            keep.append(s)
    return np.array(keep) / sr


def test_load_audio_resamples_with_soxr(sine_loop: Path):
    frames, sr = load_audio(sine_loop, 48000)
    assert sr == 48000
    assert frames.shape == (4 * 48000, 2)
    assert frames.dtype == np.float32
    assert _dominant_hz(frames, sr) == pytest.approx(440.0, abs=1.0)


def test_loop_is_stretched_to_exact_bar_length_and_tempo(sine_loop: Path):
    plan = plan_preview(kind="loop", bpm=120.0, key=None, context_bpm=128.0, context_key=None)
    out = render(sine_loop, plan, 44100)
    assert out.loop
    assert out.frames.shape[0] == round(4.0 * 44100 * 120 / 128)  # 2 bars at 128 BPM, exactly
    assert _dominant_hz(out.frames, 44100) == pytest.approx(440.0, abs=2.0)  # tempo only, pitch kept
    gaps = np.diff(_click_times(out.frames, 44100))
    assert np.median(gaps) == pytest.approx(60.0 / 128, abs=0.01)  # beats 0.469 s apart, not 0.5


def test_pitch_shift_moves_to_a_compatible_key(sine_loop: Path):
    # the loop's tone is A; call it A minor and play it in C minor: −2 semitones → G minor
    # (6A, next to C minor's 5A) → G4 (392 Hz)
    plan = plan_preview(kind="loop", bpm=120.0, key=parse_key("Am"), context_bpm=120.0, context_key=parse_key("Cm"))
    assert plan.semitones == -2 and plan.speed == 1.0
    out = render(sine_loop, plan, 44100)
    assert out.frames.shape[0] == 4 * 44100
    assert _dominant_hz(out.frames, 44100) == pytest.approx(440.0 * 2 ** (-2 / 12), abs=3.0)
    assert np.max(np.abs(out.frames)) <= 1.0


def test_stretched_loop_wraps_without_a_click(tmp_path: Path):
    sr = 44100
    t = np.arange(4 * sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)  # 1760 whole cycles: loops cleanly
    sf.write(tmp_path / "tone.wav", tone, sr, subtype="FLOAT")
    plan = plan_preview(kind="loop", bpm=120.0, key=None, context_bpm=126.0, context_key=None)
    y = render(tmp_path / "tone.wav", plan, sr).frames[:, 0]
    # 4 s / 1.05 = 3.8095 s holds 1676.19 cycles: a raw cut would jump by up to the amplitude
    step = np.abs(np.diff(y))
    seam = abs(float(y[0]) - float(y[-1]))
    assert seam <= 1.5 * np.percentile(step, 99.9)


def test_real_sonic_pi_loop_renders_in_tempo(sonic_pi: Path):
    plan = plan_preview(kind="loop", bpm=120.0, key=parse_key("F#m"), context_bpm=124.0, context_key=parse_key("Gm"))
    out = render(sonic_pi / "loop_mika.flac", plan, 48000)
    assert out.frames.shape == (round(8.0 * 48000 * 120 / 124), 2)
    assert out.render_ms > 0
    assert np.isfinite(out.frames).all() and 0.05 < np.max(np.abs(out.frames)) <= 1.0


def test_identity_plan_returns_the_decoded_audio(sonic_pi: Path):
    plan = plan_preview(kind="one-shot", bpm=None, key=None, context_bpm=124.0, context_key=None)
    out = render(sonic_pi / "bd_haus.flac", plan, 44100)
    ref, sr = sf.read(sonic_pi / "bd_haus.flac", dtype="float32", always_2d=True)
    assert sr == 44100
    np.testing.assert_array_equal(out.frames[:, : ref.shape[1]], ref[:, :2])


def test_unreadable_file_is_an_audio_decode_error(tmp_path: Path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioDecodeError, match="bad.wav"):
        load_audio(bad)
    with pytest.raises(AudioDecodeError, match="missing.wav"):
        load_audio(tmp_path / "missing.wav")


def test_write_wav_region(tmp_path: Path):
    frames = np.linspace(-0.5, 0.5, 48000 * 2, dtype=np.float32).reshape(-1, 2)
    r = Rendered(frames, 48000, True, plan_preview(kind="loop", bpm=None, key=None, context_bpm=None, context_key=None))
    path = write_wav(r, tmp_path / "out" / "region.wav", start_s=0.25, end_s=0.75)
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == 48000 and data.shape == (24000, 2)
    np.testing.assert_allclose(data, frames[12000:36000], atol=1e-6)
    with pytest.raises(ValueError):
        write_wav(r, tmp_path / "empty.wav", start_s=0.5, end_s=0.5)
