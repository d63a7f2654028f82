"""``companion models fetch`` against a real HTTP server that speaks the Hub's file protocol
(:class:`tests.clap.fakehub.FakeHub`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from companion.embedding.clap.fetch import FetchProgress, fetch, staging_dir
from companion.embedding.clap.manifest import Manifest
from companion.embedding.clap.runtime import load_clap
from companion.embedding.clap.store import default_name, installed, models_root
from companion.errors import ModelError
from companion.settings import Settings
from tests.clap.fakehub import FakeHub, folder_files, published_layout
from tests.conftest import invoke_cli

pytest.importorskip("huggingface_hub")


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    server = FakeHub()
    yield server
    server.close()


def test_fetch_repo_with_our_manifest(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    hub.repos["samplemind/clap-tiny-onnx"] = folder_files(tiny_model)
    target = fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    man = Manifest.read(target)
    assert man.space == Manifest.read(tiny_model).space
    assert man.source == "hub:samplemind/clap-tiny-onnx@main"
    man.check(target, hashes=True)
    assert not list(target.glob(".cache"))  # only the model's own files are installed
    emb = load_clap(settings=settings, threads=1)
    assert emb is not None and emb.folder == target
    assert emb.embed_text(["kick"]).shape == (1, 512)


def test_fetch_published_layout_without_manifest(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    """transformers.js layout: onnx/audio_model.onnx, onnx/text_model.onnx, tokenizer, preprocessor."""
    src = folder_files(tiny_model)
    hub.repos["Xenova/clap-htsat-unfused"] = {
        "onnx/audio_model.onnx": src["audio_encoder.onnx"],
        "onnx/text_model.onnx": src["text_encoder.onnx"],
        "tokenizer.json": src["tokenizer.json"],
        "preprocessor_config.json": src["preprocessor_config.json"],
        "config.json": b"{}",
    }
    target = fetch(endpoint=hub.url, log_line=lambda _l: None)  # the default repository
    man = Manifest.read(target)
    assert (man.name, man.space, man.checkpoint) == (
        "clap-htsat-unfused",
        "clap-htsat-unfused/v1",
        "laion/clap-htsat-unfused",
    )
    assert man.files["audio"].path == "onnx/audio_model.onnx"
    assert man.files["audio"].outputs[0].name == "audio_embeds"
    assert man.text["pad_token_id"] == 1
    emb = load_clap(settings=settings, threads=1, precision="fp32")
    assert emb is not None and emb.space == "clap-htsat-unfused/v1"
    reference = load_clap(tiny_model, settings=settings, threads=1, precision="fp32")
    assert reference is not None
    y = (0.1 * np.random.default_rng(0).standard_normal(48_000 * 3)).astype(np.float32)
    assert float(np.dot(emb.embed_audio(y), reference.embed_audio(y))) >= 0.99999


def test_corrupt_download_is_not_installed(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    hub.repos["samplemind/clap-tiny-onnx"] = folder_files(tiny_model)
    hub.corrupt.add(("samplemind/clap-tiny-onnx", "audio_encoder.onnx"))
    with pytest.raises(ModelError, match="sha256"):
        fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    assert installed() == []
    src = folder_files(tiny_model)
    hub.repos["Xenova/clap-htsat-unfused"] = {
        "onnx/audio_model.onnx": src["audio_encoder.onnx"],
        "onnx/text_model.onnx": src["text_encoder.onnx"],
        "tokenizer.json": src["tokenizer.json"],
        "preprocessor_config.json": src["preprocessor_config.json"],
    }
    hub.corrupt.add(("Xenova/clap-htsat-unfused", "tokenizer.json"))  # a small file: git sha1 check
    with pytest.raises(ModelError, match="checksum"):
        fetch(endpoint=hub.url, log_line=lambda _l: None)
    assert installed() == []


def test_unknown_repo_missing_files_and_offline(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    with pytest.raises(ModelError, match="no model repository"):
        fetch("nobody/nothing", endpoint=hub.url, log_line=lambda _l: None)
    hub.repos["someone/not-clap"] = {"README.md": b"hello"}
    with pytest.raises(ModelError, match="not an ONNX CLAP repository"):
        fetch("someone/not-clap", endpoint=hub.url, log_line=lambda _l: None)
    dead = hub.url
    hub.close()
    with pytest.raises(ModelError, match="offline"):
        fetch("samplemind/clap-tiny-onnx", endpoint=dead, log_line=lambda _l: None)
    assert installed() == []
    # …and the app keeps running on the fallback.
    assert load_clap(settings=settings) is None


def test_refetch_replaces_the_installed_copy(
    hub: FakeHub, tiny_model: Path, tmp_path: Path, settings: Settings
) -> None:
    hub.repos["samplemind/clap-tiny-onnx"] = folder_files(tiny_model)
    first = fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    (first / "stale.txt").write_text("left over")
    second = fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    assert first == second and not (second / "stale.txt").exists()
    assert [m.name for m in installed()] == [Manifest.read(tiny_model).name]
    shutil.rmtree(second)
    assert installed() == []


def test_progress_in_bytes_with_the_total_known_first(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    files = folder_files(tiny_model)
    hub.repos["samplemind/clap-tiny-onnx"] = files
    hub.repos["Xenova/clap-htsat-unfused"] = published_layout(tiny_model)
    for repo, expected in (
        ("samplemind/clap-tiny-onnx", {f.path: f.bytes for f in Manifest.read(tiny_model).files.values()}),
        ("Xenova/clap-htsat-unfused", {p: len(b) for p, b in published_layout(tiny_model).items()}),
    ):
        seen: list[FetchProgress] = []
        fetch(repo, endpoint=hub.url, log_line=lambda _l: None, progress=seen.append)
        plan = seen[0]
        assert plan.stage == "plan" and dict(plan.files) == expected and plan.done_bytes == 0
        assert plan.total_bytes == sum(expected.values())
        downloads = [p for p in seen if p.stage == "download"]
        done = [p.done_bytes for p in downloads]
        assert done == sorted(done) and done[-1] == plan.total_bytes
        assert {p.current for p in downloads} == set(expected)
        assert any(0 < d < plan.total_bytes for d in done)  # bytes, not just "file n of m"
        assert seen[-1].stage == "install"
        assert not staging_dir().exists()


def test_staging_lives_under_the_models_root_and_is_cleared(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    """A killed fetch leaves its part files in one known folder; the next fetch removes them,
    and no model is ever taken from there."""
    hub.repos["samplemind/clap-tiny-onnx"] = folder_files(tiny_model)
    left = staging_dir()
    assert left.parent == models_root()
    (left / ".cache").mkdir(parents=True)
    (left / "audio_encoder.onnx.incomplete").write_bytes(b"half a file")
    shutil.copy2(tiny_model / "manifest.json", left / "manifest.json")  # killed just before installing
    assert installed() == [] and default_name() is None and load_clap(settings=settings) is None
    lines: list[str] = []
    target = fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lines.append)
    assert any("interrupted" in line for line in lines)
    assert not left.exists() and [m.path for m in installed()] == [target]
    hub.corrupt.add(("samplemind/clap-tiny-onnx", "text_encoder.onnx"))
    with pytest.raises(ModelError, match="corrupt"):
        fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    assert not left.exists()  # a failed fetch removes its own staging


def _fetch_lines(*args: str) -> tuple[int, list[dict]]:
    """Run ``companion models fetch --progress-json ARGS`` in process; its JSON lines."""
    code, out, _ = invoke_cli("models", "fetch", "--progress-json", *args)
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_cli_progress_json_lines(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    """What the window reads: plan (files, sizes, total), progress in bytes, install, done;
    a failure is one error line whose kind says offline or corrupt."""
    hub.repos["samplemind/clap-tiny-onnx"] = folder_files(tiny_model)
    code, lines = _fetch_lines("samplemind/clap-tiny-onnx", "--endpoint", hub.url)
    assert code == 0
    events = [line["event"] for line in lines]
    assert events[0] == "plan" and events[-2:] == ["install", "done"] and set(events[1:-2]) == {"progress"}
    total = lines[0]["total"]
    assert total == sum(size for _path, size in lines[0]["files"]) > 0
    assert lines[-3]["done"] == total and lines[-1]["name"] == Manifest.read(tiny_model).name
    assert Path(lines[-1]["folder"]) == installed()[0].path

    hub.corrupt.add(("samplemind/clap-tiny-onnx", "tokenizer.json"))
    code, lines = _fetch_lines("samplemind/clap-tiny-onnx", "--endpoint", hub.url)
    assert code == 1 and lines[-1]["event"] == "error" and lines[-1]["kind"] == "corrupt"

    dead = hub.url
    hub.close()
    code, lines = _fetch_lines("samplemind/clap-tiny-onnx", "--endpoint", dead)
    assert code == 1 and lines == [lines[-1]] and lines[-1]["kind"] == "offline"
    assert "offline" in lines[-1]["message"]
