from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from companion.music.keys import parse_key
from companion.preview.audition import Auditioner, AuditionItem
from companion.preview.player import Player
from companion.preview.waveform import PeaksCache, peaks


@pytest.fixture()
def auditioner(tmp_path: Path):
    a = Auditioner(Player(), export_dir=tmp_path / "renders")
    yield a
    a.close()


def test_second_preview_is_a_cache_hit_and_starts_at_once(auditioner: Auditioner, sonic_pi: Path):
    item = AuditionItem(str(sonic_pi / "loop_mika.flac"), "loop", 120.0, "F# minor")
    t0 = time.perf_counter()
    first = auditioner.prepare(item, 126.0, parse_key("Am"))
    first_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    second = auditioner.prepare(item, 126.0, parse_key("Am"))
    second_s = time.perf_counter() - t1
    assert not first.cache_hit and second.cache_hit
    assert second.rendered is first.rendered
    assert second_s < first_s / 10
    assert first.rendered.sample_rate == auditioner.sample_rate
    assert first.rendered.plan.semitones == -2 and first.rendered.plan.target_bpm == 126.0
    # another context is another render
    assert not auditioner.prepare(item, 124.0, parse_key("Am")).cache_hit


def test_preview_plays_through_the_device(auditioner: Auditioner, sonic_pi: Path):
    done = threading.Event()
    states: list[str] = []
    auditioner.player.on_state = lambda s: (states.append(s), s == "stopped" and done.set())
    prepared = auditioner.prepare(AuditionItem(str(sonic_pi / "bd_haus.flac"), "one-shot"), 120.0, None)
    auditioner.play(prepared)
    assert done.wait(5.0)
    assert states == ["playing", "stopped"]
    assert auditioner.player.frames_out >= prepared.rendered.frames.shape[0]


def test_prefetch_fills_the_cache_and_skips_bad_files(auditioner: Auditioner, sonic_pi: Path, tmp_path: Path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    items = [
        AuditionItem(str(sonic_pi / "loop_amen.flac"), "loop", 136.9),
        AuditionItem(str(bad), "loop", 120.0),
        AuditionItem(str(sonic_pi / "bd_haus.flac"), "one-shot"),
    ]
    assert auditioner.prefetch(items, 140.0, None) == 2
    assert auditioner.prepare(items[0], 140.0, None).cache_hit


def test_prefetch_renders_in_order_and_stops_when_cancelled(auditioner: Auditioner, sonic_pi: Path):
    items = [
        AuditionItem(str(sonic_pi / "loop_amen.flac"), "loop", 136.9),
        AuditionItem(str(sonic_pi / "loop_garzul.flac"), "loop", 120.0),
        AuditionItem(str(sonic_pi / "loop_mika.flac"), "loop", 120.0),
    ]
    asked: list[int] = []

    def cancelled() -> bool:  # the list changes while the first render runs
        asked.append(len(auditioner.cache))
        return len(asked) > 1

    assert auditioner.prefetch(items, 126.0, None, cancelled=cancelled) == 1
    assert asked == [0, 1]  # asked before each item, stopped before the second
    assert auditioner.is_cached(items[0], 126.0, None)
    assert not auditioner.is_cached(items[1], 126.0, None) and not auditioner.is_cached(items[2], 126.0, None)


def test_export_writes_the_stretched_render_and_a_region(auditioner: Auditioner, sonic_pi: Path):
    item = AuditionItem(str(sonic_pi / "loop_garzul.flac"), "loop", 120.0)
    whole = auditioner.export(item, 128.0, None)
    assert whole.name == "loop_garzul 128bpm.wav" and whole.parent.parent == auditioner.export_dir
    data, sr = sf.read(whole, always_2d=True)
    assert sr == auditioner.sample_rate
    assert data.shape[0] == round(8.0 * sr * 120 / 128)
    part = auditioner.export(item, 128.0, None, start_s=1.0, end_s=2.5)
    assert "1.00-2.50s" in part.name
    assert sf.info(part).frames == int(2.5 * sr) - int(1.0 * sr)


def test_export_names_the_key_the_render_sounds_in(auditioner: Auditioner, sonic_pi: Path):
    item = AuditionItem(str(sonic_pi / "ambi_piano.flac"), "one-shot", None, "F# minor")
    # F# minor in C minor: −1 st onto F minor (4A, next to 5A), not onto C minor
    shifted = auditioner.export(item, None, parse_key("C minor"))
    assert shifted.name == "ambi_piano Fm.wav"
    # compatible already (B minor, 10A next to 11A): nothing to name, nothing shifted
    assert auditioner.export(item, None, parse_key("B minor")).name == "ambi_piano.wav"


def test_waveform_peaks_follow_the_envelope(tmp_path: Path):
    sr = 8000
    t = np.arange(sr) / sr
    y = np.sin(2 * np.pi * 200 * t) * np.linspace(1.0, 0.0, sr)  # decays to silence
    sf.write(tmp_path / "decay.wav", y.astype(np.float32), sr)
    p = peaks(tmp_path / "decay.wav", bins=10)
    assert p.shape == (10, 2) and p.dtype == np.float32
    assert p[0, 1] > 0.85 and p[0, 0] < -0.85
    assert np.all(np.diff(p[:, 1]) < 0)  # the maxima decay bin after bin
    cache = PeaksCache(capacity=1)
    assert cache.load(str(tmp_path / "decay.wav"), 10) is cache.load(str(tmp_path / "decay.wav"), 10)
    short = tmp_path / "short.wav"
    sf.write(short, np.array([0.5, -0.5, 0.25], np.float32), sr)
    assert peaks(short, bins=6).shape == (6, 2)
