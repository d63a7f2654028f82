"""The sync client's view of the catalog's persistent outbox and its ``kv`` state.

Outbox rows (``companion/library/events.py`` writes them in the same transaction as the action)
are read in id order, deleted only once the hub has acknowledged them, and otherwise kept with
their ``attempts``, ``last_error`` and ``next_attempt_at``. A row the hub refuses for good (422:
malformed), or on which the hub keeps failing (500) while it takes other rows, is *parked*: kept, never lost, but not sent again until ``companion sync
--retry-parked``; a parked row has ``next_attempt_at`` = :data:`PARKED_AT`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from companion.library.db import Connection, transaction

log = logging.getLogger(__name__)

PARKED_AT = 1e15  # unix s, year ~31.7 million: "never", marks a parked outbox row
KINDS = ("event", "embedding")


@dataclass(frozen=True)
class OutboxRow:
    """One queued upload.

    Attributes:
        id: outbox row id (send order).
        kind: ``event`` or ``embedding``.
        key: the idempotency key (event id, or ``space:hash:sha1``).
        payload_json: the JSON text sent to the hub as is.
        attempts: failed sends so far.
    """

    id: int
    kind: str
    key: str
    payload_json: str
    attempts: int


@dataclass(frozen=True)
class OutboxCounts:
    """Rows waiting in the outbox (parked rows are counted apart)."""

    events: int
    embeddings: int
    parked: int


def next_batch(conn: Connection, kind: str, limit: int, exclude: Collection[int] = ()) -> list[OutboxRow]:
    """The oldest unparked rows of one kind (at most ``limit``), leaving out the ids in
    ``exclude`` (rows a sync pass has set aside until its next pass).

    Rows whose payload is not valid JSON (a corrupt row) are parked on the way and skipped.
    """
    skip = sorted(exclude)
    rows = conn.execute(
        "SELECT id, kind, idempotency_key, payload_json, attempts FROM outbox"
        " WHERE kind = ? AND next_attempt_at < ?"
        " AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?",
        (kind, PARKED_AT, json.dumps(skip), limit),
    ).fetchall()
    good: list[OutboxRow] = []
    corrupt: list[tuple[int, str]] = []
    for row in rows:
        try:
            json.loads(row[3])
        except ValueError as exc:
            corrupt.append((row[0], f"corrupt payload JSON: {exc}"))
            continue
        good.append(OutboxRow(*row))
    if corrupt:
        park(conn, corrupt)
    return good


def acknowledge(conn: Connection, ids: Iterable[int]) -> int:
    """Delete rows the hub acknowledged; returns how many were deleted."""
    id_list = list(ids)
    if not id_list:
        return 0
    with transaction(conn):
        deleted = 0
        for chunk in _chunks(id_list, 500):
            cur = conn.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            deleted += cur.rowcount
    return deleted


def record_failure(conn: Connection, ids: Iterable[int], error: str, retry_at: float) -> None:
    """Count a failed attempt on rows that stay queued (``retry_at``: unix s)."""
    id_list = list(ids)
    with transaction(conn):
        for chunk in _chunks(id_list, 500):
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
                f" WHERE id IN ({','.join('?' * len(chunk))}) AND next_attempt_at < ?",
                (error[:1000], retry_at, *chunk, PARKED_AT),
            )


def park(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    """Park rows the hub refused for good, keeping why (``(id, error)`` pairs)."""
    if not rows:
        return
    with transaction(conn):
        for row_id, error in rows:
            log.warning("outbox row %d parked: %s", row_id, error)
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                (error[:1000], PARKED_AT, row_id),
            )


def unpark(conn: Connection) -> int:
    """Queue every parked row again (after a hub or client fix); returns how many."""
    with transaction(conn):
        cur = conn.execute("UPDATE outbox SET next_attempt_at = 0 WHERE next_attempt_at >= ?", (PARKED_AT,))
        return int(cur.rowcount)


def counts(conn: Connection) -> OutboxCounts:
    """How many events and embeddings wait, and how many rows are parked."""
    queued = dict.fromkeys(KINDS, 0)
    parked = 0
    for kind, is_parked, n in conn.execute(
        "SELECT kind, next_attempt_at >= ?, count(*) FROM outbox GROUP BY kind, next_attempt_at >= ?",
        (PARKED_AT, PARKED_AT),
    ).fetchall():
        if is_parked:
            parked += n
        else:
            queued[kind] = queued.get(kind, 0) + n
    return OutboxCounts(events=queued["event"], embeddings=queued["embedding"], parked=parked)


def parked_rows(conn: Connection, limit: int = 20) -> list[tuple[int, str, str, str]]:
    """``(id, kind, key, last_error)`` of the oldest parked rows."""
    return [
        tuple(r)
        for r in conn.execute(
            "SELECT id, kind, idempotency_key, coalesce(last_error, '') FROM outbox"
            " WHERE next_attempt_at >= ? ORDER BY id LIMIT ?",
            (PARKED_AT, limit),
        ).fetchall()
    ]


def kv_get(conn: Connection, key: str) -> str | None:
    """One value of the catalog's ``kv`` table."""
    row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def kv_get_json(conn: Connection, key: str, default: Any = None) -> Any:
    """A JSON value of ``kv``; ``default`` when absent or unreadable (logged)."""
    text = kv_get(conn, key)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError as exc:
        log.warning("kv %s holds unreadable JSON (%s); ignoring it", key, exc)
        return default


def kv_set(conn: Connection, values: dict[str, Any]) -> None:
    """Set several ``kv`` keys atomically; values are stored as JSON (None deletes the key)."""
    with transaction(conn):
        for key, value in values.items():
            if value is None:
                conn.execute("DELETE FROM kv WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value)),
                )


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
