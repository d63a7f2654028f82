"""A real HTTP server on localhost that speaks the Hugging Face Hub's file protocol.

It answers ``HEAD``/``GET /<repo>/resolve/<revision>/<path>`` with the headers huggingface_hub
reads (``X-Repo-Commit``, ``ETag`` = sha256 for large files and the git blob sha1 for small
ones, ``Content-Length``) and 404 + ``X-Error-Code`` for missing entries. Used by the CLAP fetch
tests (tests/clap) and the window's "Get the model…" tests (tests/ui).
"""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
#: Bytes per write when a file is served slowly (:attr:`FakeHub.slow`).
SLOW_CHUNK = 16 * 1024


class FakeHub:
    """Repositories as ``{repo_id: {path: bytes}}``, served over HTTP on localhost.

    Attributes:
        repos: the files of each repository.
        requests: ``"GET /path"`` of every request, in order.
        corrupt: ``(repo_id, path)`` served with one byte flipped (the ETag stays right).
        slow: ``(repo_id, path) -> seconds`` to sleep after each :data:`SLOW_CHUNK` bytes.
        url: the server's base URL (``HF_ENDPOINT``).
    """

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.requests: list[str] = []
        self.corrupt: set[tuple[str, str]] = set()
        self.slow: dict[tuple[str, str], float] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _lookup(self) -> tuple[bytes | None, str | None, float]:
                hub.requests.append(f"{self.command} {self.path}")
                path = self.path.split("?")[0].lstrip("/")
                if "/resolve/" not in path:
                    return None, "EntryNotFound", 0.0
                repo_id, rest = path.split("/resolve/", 1)
                _rev, filename = rest.split("/", 1)
                if repo_id not in hub.repos:
                    return None, "RepoNotFound", 0.0
                data = hub.repos[repo_id].get(filename)
                if data is None:
                    return None, "EntryNotFound", 0.0
                etag = etag_of(data)
                if (repo_id, filename) in hub.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                return data, etag, hub.slow.get((repo_id, filename), 0.0)

            def _answer(self, body: bool) -> None:
                data, etag, delay = self._lookup()
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
                if not body:
                    return
                if not delay:
                    self.wfile.write(data)
                    return
                try:
                    for i in range(0, len(data), SLOW_CHUNK):
                        self.wfile.write(data[i : i + SLOW_CHUNK])
                        self.wfile.flush()
                        time.sleep(delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (a cancelled download)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving (the port is closed: a client gets "connection refused")."""
        self.server.shutdown()
        self.server.server_close()


def etag_of(data: bytes) -> str:
    """The Hub's ETag: sha256 for LFS-sized files, the git blob sha1 for small ones."""
    if len(data) > 100_000:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` as ``{posix relative path: bytes}`` (a repository's files)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def published_layout(model: Path) -> dict[str, bytes]:
    """An exported model folder laid out as transformers.js publishes CLAP (no manifest)."""
    src = folder_files(model)
    return {
        "onnx/audio_model.onnx": src["audio_encoder.onnx"],
        "onnx/text_model.onnx": src["text_encoder.onnx"],
        "tokenizer.json": src["tokenizer.json"],
        "preprocessor_config.json": src["preprocessor_config.json"],
    }
