"""Telemetry events and the sync outbox.

An event (view / preview / accept / skip / pin / unpin / ban / unban / dismiss / undo) is written
to ``events`` and, in the same transaction, to ``outbox`` with its event id as the idempotency
key; an embedding destined for the central service is written to ``outbox`` in the same
transaction as the vector itself. The sync client deletes an outbox row only after the server
has acknowledged it, so nothing is lost whatever the network or the process does.

Outbox payloads (JSON):
- ``event``: ``{"event_id", "type", "sample_content_hash", "session_id", "context",
  "metadata", "created_at"}`` (context: the session context snapshot; metadata: e.g.
  ``{"rank": 2, "score": 0.71, "source": "clap", "time_to_preview_ms": 840}``).
- ``embedding``: ``{"content_hash", "space", "dim", "metadata": {"duration_s", "kind", "bpm",
  "key", "mode"}}``; idempotency key ``"<space>:<content_hash>:<sha1 of the float32 bytes,
  16 hex>"``. The vector itself is *not* copied into the outbox (a 500k-file library would
  queue gigabytes of JSON): the sync client reads it at send time with
  :func:`companion.library.vectors.get_vector` (and drops the row if the vector is gone).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from companion.library.db import Connection, transaction

EVENT_TYPES = frozenset({"view", "preview", "accept", "skip", "pin", "unpin", "ban", "unban", "dismiss", "undo"})


def record_event(
    conn: Connection,
    event_type: str,
    *,
    session_id: str,
    sample_id: int | None = None,
    content_hash: str | None = None,
    context: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    at: float | None = None,
    in_transaction: bool = False,
) -> str:
    """Write one telemetry event and its outbox row atomically.

    Args:
        conn: catalog connection.
        event_type: one of :data:`EVENT_TYPES`.
        session_id: the app session the event belongs to.
        sample_id / content_hash: the sample concerned, if any.
        context: JSON-able session context snapshot.
        metadata: JSON-able extra fields (rank, score, time_to_preview_ms …).
        at: unix time in seconds (default: now).
        in_transaction: the caller already holds a transaction (the action's own), so the
            event commits or rolls back with it.

    Returns:
        The event id (uuid4 hex), also the outbox idempotency key.

    Raises:
        ValueError: unknown ``event_type``.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {sorted(EVENT_TYPES)}")
    event_id = uuid.uuid4().hex
    created = time.time() if at is None else at
    ctx = dict(context or {})
    meta = dict(metadata or {})
    payload = {
        "event_id": event_id,
        "type": event_type,
        "sample_content_hash": content_hash,
        "session_id": session_id,
        "context": ctx,
        "metadata": meta,
        "created_at": created,
    }

    def write() -> None:
        conn.execute(
            "INSERT INTO events (event_id, type, sample_id, content_hash, session_id,"
            " context_json, metadata_json, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (event_id, event_type, sample_id, content_hash, session_id, json.dumps(ctx), json.dumps(meta), created),
        )
        enqueue(conn, "event", event_id, payload, at=created)

    if in_transaction:
        write()
    else:
        with transaction(conn):
            write()
    return event_id


def embedding_payload(
    content_hash: str, space: str, vector: np.ndarray, metadata: Mapping[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """The outbox idempotency key and payload of one embedding upload.

    Args:
        vector: (dim,) float32, L2-normalised; only its hash goes into the key.
    """
    vec = np.asarray(vector, dtype=np.float32)
    digest = hashlib.sha1(vec.tobytes()).hexdigest()[:16]
    key = f"{space}:{content_hash}:{digest}"
    return key, {
        "content_hash": content_hash,
        "space": space,
        "dim": int(vec.shape[0]),
        "metadata": dict(metadata or {}),
    }


def enqueue(
    conn: Connection,
    kind: str,
    idempotency_key: str,
    payload: Mapping[str, Any],
    *,
    at: float | None = None,
) -> None:
    """Add one outbox row (ignored if the idempotency key is already queued).

    Call inside the transaction of the action that caused it.
    """
    conn.execute(
        "INSERT OR IGNORE INTO outbox (kind, idempotency_key, payload_json, created_at) VALUES (?,?,?,?)",
        (kind, idempotency_key, json.dumps(payload), time.time() if at is None else at),
    )
