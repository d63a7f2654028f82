"""Sync state kept in the catalog's ``kv`` table, and the status the CLI and GUI show.

Keys (JSON values): ``sync.last_success_at`` / ``sync.last_error_at`` (unix s),
``sync.last_error`` (text), ``sync.failures`` (consecutive failed passes),
``sync.next_attempt_at`` (unix s before which :meth:`SyncClient.run` does not push again),
``sync.rules_error`` and ``sync.rules_checked_at`` (last rules pull). Being in the catalog, the
state survives restarts: a companion restarted during a backoff waits it out.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any

from companion.library.db import Connection
from companion.sync import outbox, rules_cache
from companion.sync.backoff import Backoff


@dataclass(frozen=True)
class SyncStatus:
    """Where sync stands, from the catalog alone (no network).

    Attributes:
        queued_events / queued_embeddings: rows waiting in the outbox.
        parked: rows the hub refused (422), kept until ``companion sync --retry-parked``.
        last_success_at / last_error_at: unix s of the last good / failed pass, or None.
        last_error: message of the last failed pass (None once a later pass succeeded).
        consecutive_failures: failed passes since the last good one.
        next_attempt_at: unix s before which the sync loop will not push again, or None.
        rules_version: hub version of the cached shared fusion rules (None: packaged default).
        rules_checked_at: unix s of the last rules pull attempt.
        rules_error: why the last pull did not update (offline, refused), or None.
    """

    queued_events: int
    queued_embeddings: int
    parked: int
    last_success_at: float | None
    last_error: str | None
    last_error_at: float | None
    consecutive_failures: int
    next_attempt_at: float | None
    rules_version: int | None
    rules_checked_at: float | None
    rules_error: str | None

    @property
    def state(self) -> str:
        """One word for a status bar: ``synced``, ``pending``, ``retrying`` or ``never``."""
        queued = self.queued_events + self.queued_embeddings
        if self.consecutive_failures > 0:
            return "retrying"
        if queued > 0:
            return "pending"
        return "synced" if self.last_success_at is not None else "never"

    def summary(self, now: float | None = None) -> str:
        """A one-line human summary, e.g. ``synced 2 min ago · 0 queued · rules v3``."""
        now = time.time() if now is None else now
        parts = [self.state]
        if self.last_success_at is not None:
            parts[0] += f" {_ago(now - self.last_success_at)}"
        parts.append(f"{self.queued_events + self.queued_embeddings} queued")
        if self.parked:
            parts.append(f"{self.parked} refused")
        parts.append(f"rules v{self.rules_version}" if self.rules_version else "default rules")
        if self.consecutive_failures and self.last_error:
            parts.append(f"last error: {self.last_error[:80]}")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict with ``state`` added."""
        return {**asdict(self), "state": self.state}


def sync_status(conn: Connection) -> SyncStatus:
    """Read the sync status of a catalog."""
    counts = outbox.counts(conn)
    failures = outbox.kv_get_json(conn, "sync.failures", 0)
    next_at = outbox.kv_get_json(conn, "sync.next_attempt_at")
    return SyncStatus(
        queued_events=counts.events,
        queued_embeddings=counts.embeddings,
        parked=counts.parked,
        last_success_at=outbox.kv_get_json(conn, "sync.last_success_at"),
        last_error=outbox.kv_get_json(conn, "sync.last_error") if failures else None,
        last_error_at=outbox.kv_get_json(conn, "sync.last_error_at"),
        consecutive_failures=int(failures or 0),
        next_attempt_at=float(next_at) if next_at else None,
        rules_version=rules_cache.cached_version(conn),
        rules_checked_at=outbox.kv_get_json(conn, "sync.rules_checked_at"),
        rules_error=outbox.kv_get_json(conn, "sync.rules_error"),
    )


def record_pass(conn: Connection, error: str | None, backoff: Backoff, rng: random.Random) -> None:
    """Record a push pass: success resets the backoff; failure schedules the next pass."""
    now = time.time()
    if error is None:
        outbox.kv_set(conn, {"sync.last_success_at": now, "sync.failures": 0, "sync.next_attempt_at": None})
        return
    failures = int(outbox.kv_get_json(conn, "sync.failures", 0) or 0) + 1
    outbox.kv_set(
        conn,
        {
            "sync.failures": failures,
            "sync.last_error": error,
            "sync.last_error_at": now,
            "sync.next_attempt_at": now + backoff.delay(failures, rng),
        },
    )


def _ago(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"
