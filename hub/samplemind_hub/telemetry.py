"""``POST /api/v1/telemetry/recommendations``: batches of telemetry events, idempotent by event id.

The desktop sends each outbox event until the hub acknowledges it (at-least-once); the hub
stores each (user, event id) once and counts re-deliveries in ``deliveries``, so the server
holds every event exactly once whatever the network did.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from psycopg_pool import ConnectionPool

from samplemind_hub.auth import Principal, require_device
from samplemind_hub.faults import stall_in_transaction
from samplemind_hub.metrics import HubMetrics
from samplemind_hub.schemas import TelemetryAck, TelemetryBatch, TelemetryEvent
from samplemind_protocol.paths import EVENTS_PATH

router = APIRouter(tags=["telemetry"])

# ``xmax = 0`` is true for a row this statement inserted and false for one it updated through
# ON CONFLICT DO UPDATE (PostgreSQL MVCC: an updated row version carries the updater's xid).
_INSERT_EVENTS = """
INSERT INTO telemetry_events (user_id, event_id, device_id, type, sample_content_hash,
                              session_id, context, metadata, created_at)
SELECT %(user_id)s, e.event_id, %(device_id)s, e.type, e.hash, e.session_id,
       e.context::jsonb, e.metadata::jsonb, to_timestamp(e.created_at)
FROM unnest(%(ids)s::text[], %(types)s::text[], %(hashes)s::text[], %(sessions)s::text[],
            %(contexts)s::text[], %(metadatas)s::text[], %(created)s::float8[])
     AS e(event_id, type, hash, session_id, context, metadata, created_at)
ON CONFLICT (user_id, event_id) DO UPDATE SET deliveries = telemetry_events.deliveries + 1
RETURNING (xmax = 0) AS inserted
"""

_INSERT_SAMPLES = """
INSERT INTO samples (user_id, content_hash)
SELECT %(user_id)s, h FROM unnest(%(hashes)s::text[]) AS h
ON CONFLICT (user_id, content_hash) DO NOTHING
"""


def store_events(
    conn: Any, principal: Principal, events: list[TelemetryEvent], *, request: Request | None = None
) -> TelemetryAck:
    """Insert a batch of events for the principal's user in one transaction.

    Events already stored (same user and event id), and repeats inside the batch, count as
    duplicates and change nothing but ``deliveries``.
    """
    unique: dict[str, TelemetryEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    batch = [unique[key] for key in sorted(unique)]  # one lock order: no deadlocks
    hashes = sorted({e.sample_content_hash for e in batch if e.sample_content_hash})
    params = {
        "user_id": principal.user_id,
        "device_id": principal.device_id,
        "ids": [e.event_id for e in batch],
        "types": [e.type for e in batch],
        "hashes": [e.sample_content_hash for e in batch],
        "sessions": [e.session_id for e in batch],
        "contexts": [json.dumps(e.context, allow_nan=False) for e in batch],
        "metadatas": [json.dumps(e.metadata, allow_nan=False) for e in batch],
        "created": [e.created_at for e in batch],
    }
    with conn.transaction():
        if hashes:
            conn.execute(_INSERT_SAMPLES, {"user_id": principal.user_id, "hashes": hashes})
        rows = conn.execute(_INSERT_EVENTS, params).fetchall()
        if request is not None:
            stall_in_transaction(request)
    accepted = sum(1 for (inserted,) in rows if inserted)
    return TelemetryAck(received=len(events), accepted=accepted, duplicates=len(events) - accepted)


@router.post(
    EVENTS_PATH,
    response_model=TelemetryAck,
    summary="Store a batch of recommendation telemetry events",
    responses={
        401: {"description": "Missing, invalid or revoked bearer token."},
        413: {"description": "Too many events in one batch, or body too large."},
        422: {"description": "An event is malformed; `detail[].loc` names it (`body.events.<i>`)."},
    },
)
def post_recommendation_events(
    batch: TelemetryBatch, request: Request, principal: Principal = Depends(require_device)
) -> TelemetryAck:
    """Store the events of the token's user; idempotent by event id.

    Send the same batch twice and the second answer has ``accepted = 0``. The body may be
    gzip-compressed (``Content-Encoding: gzip``).
    """
    max_batch: int = request.app.state.settings.max_batch
    if len(batch.events) > max_batch:
        raise HTTPException(status_code=413, detail=f"{len(batch.events)} events in one batch; at most {max_batch}")
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        ack = store_events(conn, principal, batch.events, request=request)
    metrics: HubMetrics = request.app.state.metrics
    metrics.events.labels(outcome="accepted").inc(ack.accepted)
    metrics.events.labels(outcome="duplicate").inc(ack.duplicates)
    return ack
