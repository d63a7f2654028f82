"""Embedding vectors in the catalog, one sqlite-vec ``vec0`` table per embedding space.

An embedding space is a model id plus its front-end/pooling version (``fingerprint/v1``,
``clap-htsat-unfused/v1``; docs/architecture.md §1). Vectors are keyed by content hash, so copies and moved
files share one vector; vectors of different spaces are never compared.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, overload

import numpy as np

from companion.errors import CatalogError
from companion.library.db import Connection, vec_table
from companion.library.events import embedding_payload, enqueue


@overload
def space_id(conn: Connection, space: str, dim: int) -> int: ...


@overload
def space_id(conn: Connection, space: str, dim: int | None = None) -> int | None: ...


def space_id(conn: Connection, space: str, dim: int | None = None) -> int | None:
    """Row id of an embedding space; created (with its ``vec0`` table) when ``dim`` is given.

    Raises:
        CatalogError: the space exists with another dimension.
    """
    row = conn.execute("SELECT id, dim FROM embedding_spaces WHERE space = ?", (space,)).fetchone()
    if row is not None:
        if dim is not None and row[1] != dim:
            raise CatalogError(
                f"embedding space {space!r} holds {row[1]}-d vectors, got {dim}-d — a changed "
                "model must use a new space id"
            )
        return int(row[0])
    if dim is None:
        return None
    cur = conn.execute(
        "INSERT INTO embedding_spaces (space, dim, created_at) VALUES (?,?,?)",
        (space, int(dim), time.time()),
    )
    sid = int(cur.lastrowid)
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {vec_table(sid)} "
        f"USING vec0(embedding float[{int(dim)}] distance_metric=cosine)"
    )
    return sid


def put_vectors(
    conn: Connection,
    space: str,
    items: Iterable[tuple[str, np.ndarray]],
    *,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    enqueue_sync: bool = True,
) -> int:
    """Store vectors of one space, replacing older ones of the same content.

    Call inside a transaction. Each stored vector also queues an ``embedding`` outbox row
    (idempotency key by space, content hash and vector bytes) unless ``enqueue_sync`` is False.

    Args:
        items: ``(content_hash, vector)`` pairs; vector (dim,) float32, L2-normalised.
        metadata: optional per-content-hash metadata for the upload (duration_s, kind, bpm …).

    Returns:
        The number of vectors written.

    Raises:
        CatalogError: a vector has the wrong dimension or non-finite values.
    """
    count = 0
    sid: int | None = None
    table = ""
    now = time.time()
    for content_hash, vector in items:
        vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if sid is None:
            sid = space_id(conn, space, vec.shape[0])
            table = vec_table(sid)
            dim = vec.shape[0]
        if vec.shape[0] != dim or not np.all(np.isfinite(vec)):
            raise CatalogError(f"refusing a bad {space} vector for {content_hash}: wrong size or NaN")
        row = conn.execute(
            "SELECT id FROM embeddings WHERE space_id = ? AND content_hash = ?", (sid, content_hash)
        ).fetchone()
        if row is None:
            emb_id = conn.execute(
                "INSERT INTO embeddings (space_id, content_hash, created_at) VALUES (?,?,?)",
                (sid, content_hash, now),
            ).lastrowid
        else:
            emb_id = row[0]
            conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (emb_id,))
        conn.execute(f"INSERT INTO {table} (rowid, embedding) VALUES (?, ?)", (emb_id, vec.tobytes()))
        if enqueue_sync:
            key, payload = embedding_payload(content_hash, space, vec, (metadata or {}).get(content_hash))
            enqueue(conn, "embedding", key, payload, at=now)
        count += 1
    return count


def get_vector(conn: Connection, space: str, content_hash: str) -> np.ndarray | None:
    """The stored vector of one content in one space: (dim,) float32, or None."""
    sid = space_id(conn, space)
    if sid is None:
        return None
    row = conn.execute(
        f"SELECT v.embedding FROM embeddings e JOIN {vec_table(sid)} v ON v.rowid = e.id "
        "WHERE e.space_id = ? AND e.content_hash = ?",
        (sid, content_hash),
    ).fetchone()
    return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()


def load_space(conn: Connection, space: str) -> tuple[np.ndarray, np.ndarray]:
    """All vectors of one space for the samples currently in the library.

    Returns:
        ``(sample_ids, vectors)``: (m,) int64 sample ids (status ``analysed``), and their
        vectors (m, dim) float32. Copies of one content each get a row.
    """
    sid = space_id(conn, space)
    if sid is None:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    dim = conn.execute("SELECT dim FROM embedding_spaces WHERE id = ?", (sid,)).fetchone()[0]
    rows = conn.execute(
        f"SELECT s.id, v.embedding FROM samples s "
        f"JOIN embeddings e ON e.content_hash = s.content_hash AND e.space_id = ? "
        f"JOIN {vec_table(sid)} v ON v.rowid = e.id "
        "WHERE s.status = 'analysed' ORDER BY s.id",
        (sid,),
    ).fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
    return ids, vectors.copy()


def spaces(conn: Connection) -> list[tuple[str, int]]:
    """``(space, dim)`` of every embedding space in the catalog."""
    return [(r[0], int(r[1])) for r in conn.execute("SELECT space, dim FROM embedding_spaces ORDER BY id")]


def missing(conn: Connection, space: str) -> list[tuple[int, str, str]]:
    """Analysed samples with no vector in ``space``: ``(sample_id, path, content_hash)``."""
    sid = space_id(conn, space)
    return [
        (int(r[0]), r[1], r[2])
        for r in conn.execute(
            "SELECT s.id, s.path, s.content_hash FROM samples s WHERE s.status = 'analysed' "
            "AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.space_id = ? "
            "AND e.content_hash = s.content_hash) ORDER BY s.id",
            (-1 if sid is None else sid,),
        )
    ]


def coverage(conn: Connection) -> dict[str, tuple[int, int]]:
    """Embedding coverage per space: ``space -> (samples with a vector, analysed samples)``."""
    total = conn.execute("SELECT COUNT(*) FROM samples WHERE status = 'analysed'").fetchone()[0]
    out: dict[str, tuple[int, int]] = {}
    for sid, space in conn.execute("SELECT id, space FROM embedding_spaces ORDER BY id").fetchall():
        have = conn.execute(
            "SELECT COUNT(*) FROM samples s WHERE s.status = 'analysed' AND EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.space_id = ? AND e.content_hash = s.content_hash)",
            (sid,),
        ).fetchone()[0]
        out[space] = (int(have), int(total))
    return out
