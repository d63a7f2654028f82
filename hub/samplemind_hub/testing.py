"""Run a real hub for tests and benchmarks: embedded PostgreSQL + ``samplemind-hub serve``.

Everything here is real: a PostgreSQL 16 with pgvector (pgserver) in a temporary folder, and the
hub as a separate ``python -m samplemind_hub.cli serve`` process on a free loopback port, so tests can kill
it with SIGKILL and start it again on the same database and port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx

from samplemind_hub import HubError

if TYPE_CHECKING:
    from samplemind_hub.auth import Scope


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedPostgres:
    """A throw-away PostgreSQL with pgvector in ``folder`` (deleted on :meth:`stop`).

    Attributes:
        url: admin connection URL (Unix socket, user ``postgres``).
    """

    def __init__(self, folder: Path) -> None:
        import pgserver

        folder.mkdir(parents=True, exist_ok=True)
        self._server: Any = pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
        self.url: str = self._server.get_uri()

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; returns its URL."""
        import psycopg

        name = name or f"hub_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self._server.get_uri(name)

    def stop(self) -> None:
        """Stop the server and delete its data."""
        self._server.cleanup()


class HubProcess:
    """``samplemind-hub serve`` in a subprocess on 127.0.0.1.

    Args:
        database_url: PostgreSQL URL the hub uses.
        log_path: file that receives the hub's stdout and stderr.
        env: extra environment, e.g. ``{"HUB_FAULTS": "500:0.3"}``.
        port: listen port (default: a free one, kept across restarts).
    """

    def __init__(
        self, database_url: str, log_path: Path, *, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.env = dict(env or {})
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, env: dict[str, str] | None = None, timeout_s: float = 60.0) -> Self:
        """Start the hub (with ``env`` replacing the extra environment) and wait until healthy.

        Raises:
            HubError: the hub exited or did not answer ``/api/v1/health`` within ``timeout_s``.
        """
        if env is not None:
            self.env = dict(env)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        full_env.update(self.env)
        full_env["HUB_DATABASE_URL"] = self.database_url
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "samplemind_hub.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HubError(f"the hub exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/api/v1/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise HubError(f"the hub did not become healthy in {timeout_s} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the hub (no graceful shutdown) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM the hub and wait for its graceful shutdown (SIGKILL after 10 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def log_tail(self, n: int = 4000) -> str:
        """The end of the hub's log."""
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> Self:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_token(database_url: str, user: str, device: str, *, scope: Scope = "device") -> str:
    """Create the user and device if needed and sign a token (as ``samplemind-hub token create``)."""
    from samplemind_hub import db
    from samplemind_hub.auth import create_device, issue_token, signing_secret

    db.migrate(database_url)
    with db.connect(database_url) as conn:
        secret = signing_secret(conn)
        user_id, device_id = create_device(conn, user, device)
    return issue_token(secret, user_id, device_id, scope=scope)


def register_space(database_url: str, name: str, dim: int) -> None:
    """Register an embedding space (as ``samplemind-hub spaces add NAME --dim N``)."""
    from samplemind_hub import db

    db.migrate(database_url)
    with db.connect(database_url) as conn, conn.transaction():
        db.SpaceRegistry().register(conn, name, dim)
