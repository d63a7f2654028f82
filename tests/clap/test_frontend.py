"""The numpy CLAP front end against transformers' own ClapFeatureExtractor on real audio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from companion.embedding.clap.audio_io import CLAP_SR, load_audio_48k
from companion.embedding.clap.frontend import ClapFrontend, FrontendConfig
from companion.embedding.clap.random_model import UNFUSED_PREPROCESSOR
from companion.errors import ModelError

# Real Sonic Pi files of different character, rates and lengths (all shorter than 10 s except
# the loops, which are cut to one window before comparing).
FILES = [
    "bd_haus.flac",
    "drum_snare_hard.flac",
    "ambi_choir.flac",
    "bass_hit_c.flac",
    "elec_blip.flac",
    "guit_harmonics.flac",
    "loop_amen.flac",
    "loop_garzul.flac",
    "perc_bell.flac",
    "vinyl_hiss.flac",
]


@pytest.fixture(scope="module")
def reference() -> Any:
    """transformers' extractor configured as laion/clap-htsat-unfused's preprocessor_config.json."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    return transformers.ClapFeatureExtractor(
        **{k: v for k, v in UNFUSED_PREPROCESSOR.items() if k not in ("feature_extractor_type", "processor_class")}
    )


def _window(path: Path) -> np.ndarray:
    y = load_audio_48k(path)
    return y[: 10 * CLAP_SR]


def test_log_mel_matches_transformers_on_real_audio(reference: Any, sonic_pi: Path) -> None:
    fe = ClapFrontend(FrontendConfig.from_dict(UNFUSED_PREPROCESSOR))
    worst = 0.0
    for name in FILES:
        y = _window(sonic_pi / name)
        ref = reference(y, sampling_rate=CLAP_SR, return_tensors="np")["input_features"]
        ours = fe.features([y])
        assert ours.shape == ref.shape == (1, 1, 1001, 64)
        assert ours.dtype == np.float32
        diff = float(np.abs(ours - ref).max())
        worst = max(worst, diff)
        assert diff <= 1e-4, f"{name}: max |Δ| {diff:.2e} dB"
    # Real audio spans a wide dB range, so a 1e-4 dB bound is a strict one.
    assert float(ref.max() - ref.min()) > 40.0
    print(f"front end vs transformers: max |Δ| {worst:.2e} dB over {len(FILES)} files")


def test_batch_of_mixed_lengths_matches_transformers(reference: Any, sonic_pi: Path) -> None:
    fe = ClapFrontend(FrontendConfig.from_dict(UNFUSED_PREPROCESSOR))
    windows = [_window(sonic_pi / n) for n in FILES[:4]]
    windows.append(np.ones(7, dtype=np.float32) * 0.25)  # a 7-sample click, repeat-padded 68 571 times
    windows.append(np.zeros(CLAP_SR, dtype=np.float32))  # digital silence → the −100 dB floor
    ref = reference(windows, sampling_rate=CLAP_SR, return_tensors="np")["input_features"]
    ours = fe.features(windows)
    assert ours.shape == ref.shape == (6, 1, 1001, 64)
    assert float(np.abs(ours - ref).max()) <= 1e-4
    assert np.all(ours[5] == pytest.approx(-100.0))


def test_fusion_front_end_matches_transformers(reference: Any, sonic_pi: Path) -> None:
    """The fused checkpoints' variant: HTK filters, four identical channels for ≤ 10 s."""
    transformers = pytest.importorskip("transformers")
    cfg = {**UNFUSED_PREPROCESSOR, "truncation": "fusion"}
    ref_fe = transformers.ClapFeatureExtractor(
        **{k: v for k, v in cfg.items() if k not in ("feature_extractor_type", "processor_class")}
    )
    fe = ClapFrontend(FrontendConfig.from_dict(cfg))
    y = _window(sonic_pi / "ambi_choir.flac")
    ref = ref_fe(y, sampling_rate=CLAP_SR, return_tensors="np")["input_features"]
    ours = fe.features([y])
    assert ours.shape == ref.shape == (1, 4, 1001, 64)
    assert float(np.abs(ours - ref).max()) <= 1e-4
    # Different filter banks give different features for the same audio.
    unfused = ClapFrontend(FrontendConfig.from_dict(UNFUSED_PREPROCESSOR)).features([y])
    assert float(np.abs(unfused[0, 0] - ours[0, 0]).max()) > 1.0


def test_repeatpad_tiles_then_zero_pads() -> None:
    fe = ClapFrontend()
    y = np.arange(1, 200_001, dtype=np.float32)  # 200 000 samples: tiled twice, then 80 000 zeros
    padded = fe.pad(y)
    assert padded.shape == (480_000,)
    assert np.array_equal(padded[:200_000], y)
    assert np.array_equal(padded[200_000:400_000], y)
    assert not padded[400_000:].any()
    with pytest.raises(ValueError):
        fe.pad(np.zeros(480_001, dtype=np.float32))
    with pytest.raises(ValueError):
        fe.pad(np.zeros(0, dtype=np.float32))


def test_config_from_file_rejects_unsupported_options(tmp_path: Path) -> None:
    path = tmp_path / "preprocessor_config.json"
    path.write_text(json.dumps({**UNFUSED_PREPROCESSOR, "top_db": 80}))
    with pytest.raises(ModelError, match="top_db"):
        FrontendConfig.from_file(path)
    path.write_text(json.dumps({**UNFUSED_PREPROCESSOR, "truncation": "center_crop"}))
    with pytest.raises(ModelError, match="truncation"):
        FrontendConfig.from_file(path)
    with pytest.raises(ModelError, match="cannot read"):
        FrontendConfig.from_file(tmp_path / "missing.json")
    path.write_text(json.dumps(UNFUSED_PREPROCESSOR))
    cfg = FrontendConfig.from_file(path)
    assert (cfg.frequency_min, cfg.truncation, cfg.n_frames, cfg.channels) == (50, "rand_trunc", 1001, 1)


def test_load_audio_resamples_to_48k_mono(tmp_path: Path) -> None:
    sr = 22_050
    t = np.arange(sr) / sr
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1) * 0.5
    sf.write(tmp_path / "tone.wav", stereo.astype(np.float32), sr)
    y = load_audio_48k(tmp_path / "tone.wav")
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.shape[0] - CLAP_SR) <= 2
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * CLAP_SR / y.shape[0] - 440) < 2
    assert 0.2 < np.abs(y).max() < 0.3  # mono = mean of the channels
