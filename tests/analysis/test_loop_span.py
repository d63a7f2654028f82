"""Loop span: silence before and after a loop, and the tempo read over each span."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import fftconvolve

from companion.analysis.audio import decode
from companion.analysis.features import ONSET_EDGE_FRAMES, ONSET_HOP, compute_features, inner_onset
from companion.analysis.kind import harmonic_change
from companion.analysis.loop_span import (
    find_pulse,
    grid_alignment,
    last_onset,
    loop_tempo,
    metre_readings,
    refine_tempo,
    sound_end,
    sounding_span,
    span_readings,
    tail_readings,
)
from companion.analysis.pipeline import analyse, analyse_file, has_pulse
from tests.analysis.test_tempo import _groove

SR = 22050


def _loop(bpm: float, bars: int) -> np.ndarray:
    """A groove over a quiet held bass note, so that it sounds up to its last sample."""
    y = _groove(bpm, bars)
    t = np.arange(y.size) / SR
    return (y + 0.02 * np.sin(2 * np.pi * 110.0 * t)).astype(np.float32)


def test_sounding_span_finds_the_silence_at_both_ends() -> None:
    y = np.zeros(10_000, dtype=np.float32)
    y[1_000:8_000] = np.sin(np.arange(7_000) * 0.1 + 1.0)
    y[8_000:8_100] = 1e-4  # below −60 dB of the peak: silence
    assert sounding_span(y) == (1_000, 8_000)
    assert sounding_span(np.zeros(100, dtype=np.float32)) == (0, 100)


def test_only_silence_after_the_sound_and_half_an_onset_hop_long_gives_another_reading() -> None:
    loop = _loop(120.0, 1)
    assert sound_end(loop) == loop.size
    short = np.concatenate([loop, np.zeros(ONSET_HOP // 4, dtype=np.float32)])
    assert span_readings(short) == [(0, short.size)]
    assert sound_end(short) == short.size
    padded = np.concatenate([np.zeros(600, dtype=np.float32), loop, np.zeros(3_000, dtype=np.float32)])
    start, end = sounding_span(padded)
    assert 600 <= start < 700 and padded.size - 3_010 <= end <= padded.size - 3_000
    assert span_readings(padded) == [(0, padded.size), (0, end)]  # silence before the sound is no padding
    assert sound_end(padded) == end


def test_onsets_align_best_on_the_grid_of_their_own_tempo() -> None:
    feat = compute_features(_groove(120.0, 2), SR)
    right = grid_alignment(feat.onset, feat.fps, 120.0)
    assert right > 1.5  # well above an even spread
    assert right > grid_alignment(feat.onset, feat.fps, 120.0 * 0.97) + 0.3
    # an octave away is judged on the same grid
    assert grid_alignment(feat.onset, feat.fps, 240.0) == pytest.approx(right)
    assert grid_alignment(np.ones(100), feat.fps, 120.0) == 0.0


@pytest.mark.parametrize("pad_s", [0.25, 0.06])
def test_silence_after_a_loop_does_not_change_its_tempo(pad_s: float) -> None:
    loop = _loop(124.0, 2)
    padded = np.concatenate([loop, np.zeros(int(pad_s * SR), dtype=np.float32)])
    end = sound_end(padded)
    tempo = loop_tempo(padded, SR, padded.size / SR, compute_features(padded[:end], SR), end)
    assert tempo.bpm == pytest.approx(124.0, rel=0.005)
    assert tempo.bars == 2


def test_a_loop_that_ends_on_a_rest_keeps_the_length_of_its_bars() -> None:
    # Two bars of dry hits at 100 BPM whose last beat is a rest: the silence belongs to the loop.
    loop = _groove(100.0, 2)
    beat = int(round(60.0 / 100.0 * SR))
    loop[-beat:] = 0.0
    end = sound_end(loop)
    assert end < loop.size - beat // 2  # the rest reads as silence
    tempo = loop_tempo(loop, SR, loop.size / SR, compute_features(loop[:end], SR), end)
    assert tempo.bpm == pytest.approx(100.0, rel=0.005)


@pytest.mark.parametrize("name", ["loop_amen.flac", "loop_compus.flac", "loop_breakbeat.flac"])
def test_a_real_loop_exported_with_silence_after_it_gets_the_same_analysis(
    sonic_pi: Path, tmp_path: Path, name: str
) -> None:
    y, sr = sf.read(sonic_pi / name, dtype="float32", always_2d=True)
    bare = tmp_path / "bare.wav"
    sf.write(bare, y, sr, subtype="FLOAT")
    expected, _ = analyse_file(bare)
    assert expected.kind == "loop" and expected.bpm_source == "estimate"
    for label, pad in (("a", 0.25), ("b", 0.03 * len(y) / sr)):
        path = tmp_path / f"padded_{label}.wav"  # no digits: a bare number in a name is a tempo hint
        sf.write(path, np.concatenate([y, np.zeros((int(pad * sr), y.shape[1]), np.float32)]), sr, subtype="FLOAT")
        got, _ = analyse_file(path)
        assert got.kind == "loop", pad
        assert got.bpm == pytest.approx(expected.bpm, rel=0.005), pad


def test_a_dense_asymmetric_loop_padded_with_silence_keeps_its_silence(tmp_path: Path) -> None:
    # A narrow pulse wave (duty 1/5) with no DC: its median is −0.2, not 0; subtracting that
    # would lay a floor 0.2 high under the padding.
    period = 100
    wave = np.where(np.arange(2 * SR) % period < period // 5, 0.8, -0.2).astype(np.float32)
    path = tmp_path / "pulse.wav"
    sf.write(path, np.concatenate([wave, np.zeros(SR // 2, dtype=np.float32)]), SR, subtype="FLOAT")
    audio = decode(path)
    assert float(np.max(np.abs(audio.y[-SR // 4 :]))) < 1e-3
    assert sound_end(audio.y) == pytest.approx(2 * SR, abs=64)


@pytest.mark.parametrize("name", ["loop_compus.flac", "loop_mika.flac"])
def test_a_real_loop_exported_with_its_reverb_tail_keeps_its_tempo(sonic_pi: Path, tmp_path: Path, name: str) -> None:
    # A synthetic reverb (exponentially decaying noise, RT60 0.8 s; Moorer, "About this
    # reverberation business", 1979) over the loop and 1 s after it, the tail kept.
    y, sr = sf.read(sonic_pi / name, dtype="float32", always_2d=True)
    bare = tmp_path / "bare.wav"
    sf.write(bare, y, sr, subtype="FLOAT")
    expected, _ = analyse_file(bare)
    t = np.arange(sr) / sr
    ir = np.random.default_rng(0).standard_normal(t.size) * np.exp(-6.9 * t / 0.8)
    ir /= np.sqrt(np.sum(ir**2))
    dry = np.concatenate([y, np.zeros((sr, y.shape[1]), np.float32)])
    wet = np.stack([fftconvolve(dry[:, c], ir)[: len(dry)] for c in range(y.shape[1])], axis=1)
    mix = dry + 0.5 * wet
    path = tmp_path / "with_tail.wav"
    sf.write(path, (0.9 * mix / np.abs(mix).max()).astype(np.float32), sr, subtype="FLOAT")
    got, _ = analyse_file(path)
    assert got.kind == "loop"
    assert got.bpm == pytest.approx(expected.bpm, rel=0.005)


def test_a_tail_reading_ends_on_a_bar_line_after_the_last_onset() -> None:
    loop = _loop(120.0, 2)  # 4 s
    t = np.arange(SR) / SR
    ringing = (0.3 * np.sin(2 * np.pi * 220.0 * t) * np.exp(-5.0 * t)).astype(np.float32)
    y = np.concatenate([loop, ringing])
    feat = compute_features(y, SR)
    ends = [end for _, end in tail_readings(find_pulse(feat), feat.fps, SR, y.size)]
    assert any(abs(end - loop.size) <= 0.01 * loop.size for end in ends)
    bare = compute_features(loop, SR)
    assert tail_readings(find_pulse(bare), bare.fps, SR, loop.size) == []  # no tail, no reading


def _with_tail(y: np.ndarray, sr: int, rt60_s: float, wet: float) -> np.ndarray:
    """``y`` (n, channels) exported "with tail": a convolution reverb (exponentially decaying
    noise, fixed seed; Moorer, "About this reverberation business", CMJ 1979) over the loop and
    1.4 × ``rt60_s`` after it, kept until it falls 60 dB below the peak, a 20 ms fade, peak 0.9."""
    t = np.arange(int(1.4 * rt60_s * sr)) / sr
    rng = np.random.default_rng(7)
    dry = np.concatenate([y, np.zeros((t.size, y.shape[1]), np.float32)])
    wet_sig = []
    for c in range(y.shape[1]):
        ir = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60_s)
        wet_sig.append(fftconvolve(dry[:, c], ir / np.sqrt(np.sum(ir**2)))[: len(dry)])
    mix = dry + wet * np.stack(wet_sig, axis=1)
    env = np.abs(mix).max(axis=1)
    mix = mix[: max(int(np.flatnonzero(env > 1e-3 * env.max())[-1]) + 1, len(y))]
    fade = min(int(0.02 * sr), len(mix) - len(y))
    if fade > 0:
        mix[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
    return (0.9 * mix / np.abs(mix).max()).astype(np.float32)


def test_inner_onset_leaves_out_the_frames_a_ringing_tail_wraps_onto_the_start() -> None:
    loop = _loop(120.0, 2)
    tail = _with_tail(loop[:, None], SR, 1.5, 0.35)[:, 0]
    onset = compute_features(tail, SR).onset
    inner = inner_onset(onset)
    assert inner.size == onset.size - 2 * ONSET_EDGE_FRAMES
    assert np.shares_memory(inner, onset) and inner[0] == onset[ONSET_EDGE_FRAMES]
    # the circular flux compares the quiet end with the loud start: the strongest onset of all
    assert onset[0] > 1.5 * inner.max()
    assert inner_onset(np.ones(3)).size == 0


def test_the_last_onset_is_the_last_beat_not_a_tail_cut_short() -> None:
    loop = _loop(120.0, 2)  # 4 s, the last hat on beat 8.5
    t = np.arange(SR) / SR
    ring = (0.5 * np.sin(2 * np.pi * 220.0 * t) * np.exp(-2.0 * t)).astype(np.float32)  # cut at −17 dB
    feat = compute_features(np.concatenate([loop, ring]), SR)
    last = last_onset(feat.onset)
    assert last is not None
    assert 3.5 < last / feat.fps < 4.0
    assert last_onset(np.zeros(50)) is None


def test_refine_tempo_makes_a_tempo_one_per_cent_off_precise() -> None:
    feat = compute_features(_loop(123.0, 4), SR)
    for rough in (123.0 * 1.012, 123.0 * 0.988):
        assert refine_tempo(feat.onset, feat.fps, rough) == pytest.approx(123.0, rel=0.002)
    short = compute_features(_loop(123.0, 1)[: SR // 2], SR)
    assert refine_tempo(short.onset, short.fps, 124.0) == 124.0  # two beats do not fit twice


def test_a_real_drone_with_a_long_reverb_tail_gets_no_tempo(sonic_pi: Path, tmp_path: Path) -> None:
    # The tail is a step down in the onset envelope, and a step correlates with itself at every
    # short lag: read over the tail, the drone's envelope "repeats" (periodicity 0.75).
    y, sr = sf.read(sonic_pi / "loop_drone_g_97.flac", dtype="float32", always_2d=True)
    path = tmp_path / "with_tail.wav"
    sf.write(path, _with_tail(y, sr, 1.5, 0.35), sr, subtype="PCM_24")
    got, _ = analyse_file(path, library_root=tmp_path)
    assert got.bpm is None


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("sonic", "loop_amen.flac"),
        ("sonic", "loop_amen_full.flac"),
        ("lmms", "beats/break01.ogg"),
        ("lmms", "beats/break03.ogg"),
        # their pulse runs at another metrical level than their beat (metre_readings)
        ("sonic", "loop_safari.flac"),
        ("lmms", "beats/electro_beat01.ogg"),
    ],
)
def test_a_real_loop_exported_with_a_long_reverb_tail_keeps_kind_and_tempo(
    sonic_pi: Path, lmms: Path, tmp_path: Path, folder: str, name: str
) -> None:
    y, sr = sf.read((sonic_pi if folder == "sonic" else lmms) / name, dtype="float32", always_2d=True)
    bare = tmp_path / "bare.wav"  # no digits, and no folder words: the audio alone decides
    sf.write(bare, y, sr, subtype="FLOAT")
    expected, _ = analyse_file(bare, library_root=tmp_path)
    assert expected.kind == "loop" and expected.bpm is not None
    path = tmp_path / "with_tail.wav"
    sf.write(path, _with_tail(y, sr, 1.5, 0.35), sr, subtype="PCM_24")
    got, _ = analyse_file(path, library_root=tmp_path)
    assert got.kind == "loop"
    assert got.bpm == pytest.approx(expected.bpm, rel=0.005)


def test_a_real_bass_loop_with_a_long_reverb_tail_keeps_its_pulse(lmms: Path, tmp_path: Path) -> None:
    # Its quiet tail wraps onto its loud start as an onset 3× its strongest note: measured
    # against that, no note was a strong onset and the loop had "no pulse", so no tempo.
    y, sr = sf.read(lmms / "bassloops" / "rave_bass01.ogg", dtype="float32", always_2d=True)
    path = tmp_path / "with_tail.wav"
    sf.write(path, _with_tail(y, sr, 1.5, 0.35), sr, subtype="PCM_24")
    audio = decode(path)
    feat = compute_features(audio.y[: sound_end(audio.y)], audio.sr)
    assert has_pulse(feat, harmonic_change(feat))
    got = analyse(path, audio, library_root=tmp_path)
    assert got.kind == "loop" and got.bpm is not None


def test_no_metre_reading_for_a_loop_whose_length_agrees_with_its_pulse() -> None:
    loop = _loop(120.0, 2)
    feat = compute_features(loop, SR)
    assert metre_readings(feat, find_pulse(feat), SR, loop.size, 120.0) == []
    assert metre_readings(feat, find_pulse(feat), SR, loop.size, 90.0) == []  # ¾ of the pulse: still agrees


def test_a_real_one_bar_loop_whose_last_hit_rings_keeps_its_length(sonic_pi: Path, tmp_path: Path) -> None:
    # One bar at 97.0 BPM whose last hit rings for a beat: read at 4/3 of its pulse, the bar
    # line falls after that hit at 130.8 BPM, 4 % better aligned than the whole file; the
    # metre margin keeps the whole file. The name says "loop" and nothing else: from its audio
    # alone the kind model (refitted with effect textures) takes this bar for a one-shot.
    y, sr = sf.read(sonic_pi / "loop_perc1.flac", dtype="float32", always_2d=True)
    path = tmp_path / "perc loop.wav"
    sf.write(path, y, sr, subtype="FLOAT")
    got, _ = analyse_file(path, library_root=tmp_path)
    assert got.bpm == pytest.approx(97.0, rel=0.005)
