"""Fixtures: a real hub on a real PostgreSQL (pgserver), real catalogs with filled outboxes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

from companion.library.db import connect, transaction
from companion.library.events import record_event
from companion.library.vectors import put_vectors
from samplemind_hub.testing import EmbeddedPostgres, HubProcess, make_token

SPACE = "fingerprint/v1"
DIM = 512  # as registered by the hub's migration 002


@pytest.fixture(scope="session")
def sync_db(postgres: EmbeddedPostgres) -> str:
    """The hub database shared by every sync test (each test has its own user)."""
    return postgres.create_database("hub_sync")


@pytest.fixture(scope="session")
def hub(sync_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A healthy hub, no faults."""
    proc = HubProcess(sync_db, tmp_path_factory.mktemp("hub") / "hub.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture()
def user(request: pytest.FixtureRequest) -> str:
    """A user name unique to the test."""
    return f"u-{request.node.name}"[:60]


@pytest.fixture()
def token(sync_db: str, user: str) -> str:
    """A device token of the test's user."""
    return make_token(sync_db, user, "laptop")


@pytest.fixture()
def catalog(tmp_path: Path) -> Path:
    """A fresh catalog file (real SQLite, WAL, sqlite-vec)."""
    path = tmp_path / "library.db"
    connect(path).close()
    return path


def add_events(db_path: Path, n: int, *, session: str = "session-1") -> list[str]:
    """Record ``n`` telemetry events through the desktop's own API; returns their ids."""
    conn = connect(db_path)
    types = ("view", "preview", "accept", "skip", "pin", "dismiss")
    ids = [
        record_event(
            conn,
            types[i % len(types)],
            session_id=session,
            content_hash=f"{i % 50:032x}",
            context={"bpm": 124, "key": "A minor"},
            metadata={"rank": i % 10, "score": 0.5, "source": "fingerprint"},
        )
        for i in range(n)
    ]
    conn.close()
    return ids


def add_embeddings(
    db_path: Path, n: int, *, seed: int = 0, space: str = SPACE, dim: int = DIM
) -> dict[str, np.ndarray]:
    """Store ``n`` vectors in the catalog, which queues their uploads in the same transaction."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = {f"{seed:08x}{i:024x}": vec for i, vec in enumerate(vectors)}
    conn = connect(db_path)
    with transaction(conn):
        put_vectors(conn, space, out.items(), metadata={h: {"kind": "loop", "bpm": 120.0} for h in out})
    conn.close()
    return out


def server_events(database_url: str, user: str) -> dict[str, int]:
    """event_id -> deliveries of one user's events on the hub."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT t.event_id, t.deliveries FROM telemetry_events t JOIN users u ON u.id = t.user_id"
            " WHERE u.name = %s",
            (user,),
        ).fetchall()
    return dict(rows)


def server_embeddings(database_url: str, user: str) -> dict[str, np.ndarray]:
    """content_hash -> vector of one user's embeddings on the hub."""
    from pgvector.psycopg import register_vector

    with psycopg.connect(database_url) as conn:
        register_vector(conn)
        rows = conn.execute(
            "SELECT e.content_hash, e.embedding FROM embeddings e JOIN users u ON u.id = e.user_id WHERE u.name = %s",
            (user,),
        ).fetchall()
    return {h: v.to_numpy() for h, v in rows}


def outbox_size(db_path: Path) -> int:
    conn = connect(db_path)
    try:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
    finally:
        conn.close()
