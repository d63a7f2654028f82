"""``companion models fetch`` against a real HTTP server that speaks the Hub's file protocol.

The server answers ``HEAD``/``GET /<repo>/resolve/<revision>/<path>`` with the headers
huggingface_hub reads (``X-Repo-Commit``, ``ETag`` = sha256 for large files and the git blob
sha1 for small ones, ``Content-Length``) and 404 + ``X-Error-Code`` for missing entries.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from companion.embedding.clap.fetch import fetch
from companion.embedding.clap.manifest import Manifest
from companion.embedding.clap.runtime import load_clap
from companion.embedding.clap.store import installed
from companion.errors import ModelError
from companion.settings import Settings

pytest.importorskip("huggingface_hub")
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Repositories as ``{repo_id: {path: bytes}}``, served over HTTP on localhost."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.requests: list[str] = []
        self.corrupt: set[tuple[str, str]] = set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _lookup(self) -> tuple[bytes | None, str | None]:
                hub.requests.append(f"{self.command} {self.path}")
                path = self.path.split("?")[0].lstrip("/")
                if "/resolve/" not in path:
                    return None, "EntryNotFound"
                repo_id, rest = path.split("/resolve/", 1)
                _rev, filename = rest.split("/", 1)
                if repo_id not in hub.repos:
                    return None, "RepoNotFound"
                data = hub.repos[repo_id].get(filename)
                if data is None:
                    return None, "EntryNotFound"
                etag = _etag(data)
                if (repo_id, filename) in hub.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                return data, etag

            def _answer(self, body: bool) -> None:
                data, etag = self._lookup()
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", etag or "EntryNotFound")
                    self.send_header("X-Error-Message", "not found")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _etag(data: bytes) -> str:
    """The Hub's ETag: sha256 for LFS-sized files, the git blob sha1 for small ones."""
    if len(data) > 100_000:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    server = FakeHub()
    yield server
    server.close()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_fetch_repo_with_our_manifest(hub: FakeHub, tiny_model: Path, settings: Settings) -> None:
    hub.repos["samplemind/clap-tiny-onnx"] = _files(tiny_model)
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
    src = _files(tiny_model)
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
    hub.repos["samplemind/clap-tiny-onnx"] = _files(tiny_model)
    hub.corrupt.add(("samplemind/clap-tiny-onnx", "audio_encoder.onnx"))
    with pytest.raises(ModelError, match="sha256"):
        fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    assert installed() == []
    src = _files(tiny_model)
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
    hub.repos["samplemind/clap-tiny-onnx"] = _files(tiny_model)
    first = fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    (first / "stale.txt").write_text("left over")
    second = fetch("samplemind/clap-tiny-onnx", endpoint=hub.url, log_line=lambda _l: None)
    assert first == second and not (second / "stale.txt").exists()
    assert [m.name for m in installed()] == [Manifest.read(tiny_model).name]
    shutil.rmtree(second)
    assert installed() == []
