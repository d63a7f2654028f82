"""Loading models, the fallback with no model, settings, and embedding files in batches."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from companion.embedding.clap import runtime
from companion.embedding.clap.audio_io import load_audio_48k
from companion.embedding.clap.manifest import AUDIO_INT8, Manifest
from companion.embedding.clap.runtime import ClapEmbedder, load_clap
from companion.embedding.clap.sessions import choose_providers, default_threads
from companion.embedding.clap.store import install, installed
from companion.errors import AudioDecodeError, ModelError
from companion.settings import Settings

FILES = ["bd_haus.flac", "loop_amen.flac", "ambi_choir.flac", "elec_blip.flac", "loop_garzul.flac", "perc_bell.flac"]


@pytest.fixture(autouse=True)
def _fresh_announcements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_announced", set())


def test_no_model_falls_back_and_says_so_once(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="companion.embedding.clap.runtime")
    assert load_clap(settings=settings) is None
    assert load_clap(settings=settings) is None
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["no CLAP model installed — using the fingerprint embedding"]


def test_use_clap_false_and_fallback_none(tiny_model: Path, data_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="companion.embedding.clap.runtime")
    off = Settings(use_clap=False, clap_model_dir=tiny_model)
    assert load_clap(settings=off) is None
    assert "RECS_USE_CLAP=false" in caplog.records[-1].getMessage()
    none = Settings(embedding_fallback="none")
    assert load_clap(settings=none) is None
    assert "RECS_EMBEDDING_FALLBACK=none" in caplog.records[-1].getMessage()


def test_env_settings_are_honoured(tiny_model: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECS_CLAP_MODEL_DIR", str(tiny_model))
    emb = load_clap(settings=Settings(), threads=1)
    assert emb is not None and emb.folder == tiny_model
    monkeypatch.setenv("RECS_USE_CLAP", "false")
    assert load_clap(settings=Settings()) is None


def test_explicit_bad_folder_raises(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(ModelError, match="no manifest.json"):
        load_clap(tmp_path, settings=settings)


def test_dimension_must_match_the_setting(tiny_model: Path, data_home: Path) -> None:
    with pytest.raises(ModelError, match="RECS_EMBEDDING_DIM"):
        load_clap(tiny_model, settings=Settings(embedding_dim=256))


def test_installed_default_model_is_found(tiny_model: Path, settings: Settings) -> None:
    target = install(tiny_model)
    assert target.parent.parent.parent == settings.catalog_path().parent  # <data dir>/models/clap/<name>
    emb = load_clap(settings=settings, threads=1)
    assert emb is not None
    assert emb.folder == target
    assert emb.space == Manifest.read(tiny_model).space
    [m] = installed()
    assert m.default and m.manifest is not None and m.problem is None


def test_broken_installed_model_falls_back(
    tiny_model: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    target = install(tiny_model)
    audio = target / "audio_encoder.onnx"
    audio.write_bytes(audio.read_bytes()[:1000])  # a truncated copy
    assert load_clap(settings=settings) is None
    assert "cannot be used" in caplog.records[-1].getMessage()
    assert "1000 bytes" in caplog.records[-1].getMessage()


def test_install_refuses_altered_files(tiny_model: Path, tmp_path: Path, settings: Settings) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    tok = copy / "tokenizer.json"
    tok.write_text(tok.read_text().replace("<unk>", "<UNK>"))  # same length, other bytes
    with pytest.raises(ModelError, match="sha256"):
        install(copy)
    assert installed() == []


def test_precision_choice(tiny_model: Path, tmp_path: Path) -> None:
    assert ClapEmbedder(tiny_model, threads=1, accelerate=False).precision == "int8"  # checked at 0.99
    assert ClapEmbedder(tiny_model, threads=1, precision="fp32").precision == "fp32"
    # A model whose int8 encoder failed the cosine check never uses it.
    copy = tmp_path / "m"
    shutil.copytree(tiny_model, copy)
    man = Manifest.read(copy)
    man.files[AUDIO_INT8].extra["min_cosine_to_fp32"] = 0.95
    man.write(copy)
    assert ClapEmbedder(copy, threads=1).precision == "fp32"
    with pytest.raises(ModelError, match="failed the cosine"):
        ClapEmbedder(copy, threads=1, precision="int8")


def test_providers_and_threads() -> None:
    assert choose_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(["DmlExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "DmlExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"], accelerate=False) == [
        "CPUExecutionProvider"
    ]
    assert default_threads(1) == 1 and default_threads(2) == 1 and default_threads(8) == 7 and default_threads(64) == 8


def test_embed_files_matches_embed_audio_and_reports_bad_files(
    tiny_model: Path, sonic_pi: Path, tmp_path: Path
) -> None:
    emb = ClapEmbedder(tiny_model, precision="fp32", threads=2, batch_size=4, workers=2)
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    paths = [sonic_pi / n for n in FILES[:3]] + [bad] + [sonic_pi / n for n in FILES[3:]]
    seen: list[tuple[int, int]] = []
    results = dict(emb.embed_files(paths, progress=lambda d, t: seen.append((d, t))))
    assert sorted(results) == list(range(len(paths)))
    assert isinstance(results[3], AudioDecodeError)
    assert "broken.wav" in str(results[3])
    assert seen[-1] == (len(paths), len(paths)) and [d for d, _ in seen] == list(range(1, len(paths) + 1))
    vecs = {i: v for i, v in results.items() if not isinstance(v, Exception)}
    for i, v in vecs.items():
        assert v.shape == (512,) and v.dtype == np.float32
        assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
        # Batching across files (4 windows per call, files mixed) changes nothing.
        assert float(np.dot(v, emb.embed_audio(load_audio_48k(paths[i])))) >= 0.99999
    sims = np.array([[float(np.dot(a, b)) for b in vecs.values()] for a in vecs.values()])
    assert sims[~np.eye(len(vecs), dtype=bool)].max() < 0.9999
    # Two encoder streams of one thread each, small batches: the same vectors.
    two = ClapEmbedder(tiny_model, precision="fp32", threads=2, streams=2, batch_size=2)
    assert two.info()["streams"] == 2
    again = dict(two.embed_files(paths))
    assert isinstance(again[3], AudioDecodeError)
    for i, v in vecs.items():
        assert float(np.dot(v, again[i])) >= 0.99999


def test_long_file_is_pooled_over_windows(tiny_model: Path, sonic_pi: Path, tmp_path: Path) -> None:
    """A 25-s file = 3 windows; its vector is the normalised mean of the window vectors."""
    emb = ClapEmbedder(tiny_model, precision="fp32", threads=2)
    parts = [
        load_audio_48k(sonic_pi / n)[: 48_000 * 8] for n in ("loop_amen.flac", "ambi_choir.flac", "loop_garzul.flac")
    ]
    y = np.concatenate([np.resize(p, 48_000 * 25 // 3 + 1) for p in parts])[: 48_000 * 25].astype(np.float32)
    sf.write(tmp_path / "long.wav", y, 48_000, subtype="FLOAT")
    [(_, v)] = list(emb.embed_files([tmp_path / "long.wav"]))
    starts = [0, 360_000, 720_000]
    w = np.stack([emb.embed_windows(emb.frontend.features([y[s : s + 480_000]]))[0] for s in starts])
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    expected = w.mean(axis=0)
    expected /= np.linalg.norm(expected)
    assert float(np.dot(v, expected)) >= 0.99999
    first = w[0]
    assert float(np.dot(v, first)) < 0.9999  # really more than the first window


def test_embed_text_checks_its_input(tiny_model: Path) -> None:
    emb = ClapEmbedder(tiny_model, threads=1)
    with pytest.raises(ValueError):
        emb.embed_text([])
    v = emb.embed_text(["warm analog bass", "warm analog bass"])
    assert v.shape == (2, 512)
    assert np.allclose(v[0], v[1])
    with pytest.raises(ValueError):
        emb.embed_audio(np.zeros(0, np.float32))
