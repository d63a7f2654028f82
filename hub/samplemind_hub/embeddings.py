"""``PUT /api/v1/embeddings``: batch upsert of (content hash, space, vector, metadata).

Idempotent: a vector the hub already holds bit for bit (same sha1 of its float32 bytes) is left
alone and counted as ``unchanged``. Spaces belong to the operator (``samplemind-hub spaces add``):
a vector of an unknown space or of another dimension than its space's is refused with 422 and
nothing of the batch is stored. Users never create spaces, so no user can squat a name or learn
from an answer that another user uploaded anything.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from psycopg_pool import ConnectionPool

from samplemind_hub.auth import Principal, require_device
from samplemind_hub.db import Space, SpaceRegistry
from samplemind_hub.faults import stall_in_transaction
from samplemind_hub.metrics import HubMetrics
from samplemind_hub.schemas import EmbeddingAck, EmbeddingBatch, EmbeddingItem
from samplemind_protocol.paths import EMBEDDINGS_PATH

router = APIRouter(tags=["embeddings"])

_UPSERT_SAMPLE = """
INSERT INTO samples (user_id, content_hash, metadata) VALUES (%s, %s, %s::jsonb)
ON CONFLICT (user_id, content_hash) DO UPDATE
    SET metadata = samples.metadata || excluded.metadata, updated_at = now()
    WHERE NOT samples.metadata @> excluded.metadata
"""

_UPSERT_EMBEDDING = """
INSERT INTO embeddings (user_id, space_id, content_hash, embedding, vector_sha, device_id)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (user_id, space_id, content_hash) DO UPDATE
    SET embedding = excluded.embedding, vector_sha = excluded.vector_sha,
        device_id = excluded.device_id, updated_at = now()
    WHERE embeddings.vector_sha <> excluded.vector_sha
RETURNING 1
"""


def vector_sha(vector: np.ndarray) -> str:
    """sha1 of the float32 bytes, 16 hex: the same digest as the desktop's idempotency key."""
    return hashlib.sha1(np.ascontiguousarray(vector, dtype=np.float32).tobytes()).hexdigest()[:16]


def _check_spaces(
    conn: Any, registry: SpaceRegistry, items: list[EmbeddingItem]
) -> tuple[dict[str, Space], list[dict[str, Any]]]:
    """Each item's registered space, and a 422 error for every item whose space is unknown or
    has another dimension. Only the operator's registry is consulted, never another user's data."""
    spaces: dict[str, Space | None] = {}
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if item.space not in spaces:
            spaces[item.space] = registry.get(conn, item.space)
        space = spaces[item.space]
        if space is None:
            errors.append(
                {
                    "type": "unknown_space",
                    "loc": ["body", "items", i, "space"],
                    "msg": f"unknown embedding space {item.space!r}: the hub's operator registers spaces "
                    "('samplemind-hub spaces add NAME --dim N')",
                    "input": item.space,
                }
            )
        elif item.dim != space.dim:
            errors.append(
                {
                    "type": "dimension_mismatch",
                    "loc": ["body", "items", i, "dim"],
                    "msg": f"space {item.space!r} is registered with {space.dim} dimensions; this vector has {item.dim}",
                    "input": item.dim,
                }
            )
    return {name: space for name, space in spaces.items() if space is not None}, errors


def store_embeddings(
    conn: Any,
    registry: SpaceRegistry,
    principal: Principal,
    items: list[EmbeddingItem],
    *,
    request: Request | None = None,
) -> EmbeddingAck:
    """Upsert a batch for the principal's user in one transaction (all or nothing).

    Raises:
        HTTPException: 422 listing every item whose dimension disagrees with its space.
    """
    latest: dict[tuple[str, str], EmbeddingItem] = {}
    for item in items:  # the last vector of a (space, sample) in the batch wins
        latest[(item.space, item.content_hash)] = item
    batch = [latest[key] for key in sorted(latest)]  # one lock order: no deadlocks
    with conn.transaction():
        resolved, errors = _check_spaces(conn, registry, items)
        if errors:
            raise HTTPException(status_code=422, detail=errors)
        sample_meta: dict[str, dict[str, Any]] = {}
        for item in batch:
            sample_meta.setdefault(item.content_hash, {}).update(item.metadata)
        with conn.cursor() as cur:
            cur.executemany(
                _UPSERT_SAMPLE,
                [(principal.user_id, h, json.dumps(meta)) for h, meta in sorted(sample_meta.items())],
            )
            rows = []
            for item in batch:
                vec = np.frombuffer(item.vector32, dtype=np.float32)  # checked float32, (dim,)
                rows.append(
                    (
                        principal.user_id,
                        resolved[item.space].id,
                        item.content_hash,
                        vec,
                        vector_sha(vec),
                        principal.device_id,
                    )
                )
            cur.executemany(_UPSERT_EMBEDDING, rows, returning=True)
            upserted = 0
            while True:
                upserted += len(cur.fetchall())
                if not cur.nextset():
                    break
        if request is not None:
            stall_in_transaction(request)
    return EmbeddingAck(received=len(items), upserted=upserted, unchanged=len(items) - upserted)


@router.put(
    EMBEDDINGS_PATH,
    response_model=EmbeddingAck,
    summary="Upsert a batch of sample embeddings",
    responses={
        401: {"description": "Missing, invalid or revoked bearer token."},
        413: {"description": "Too many items in one batch, or body too large."},
        422: {
            "description": "Unknown space, wrong dimension for the space, a value infinite as float32, "
            "NaN, or a zero or near-zero vector; "
            "`detail[].loc` names the item (`body.items.<i>`)."
        },
    },
)
def put_embeddings(
    batch: EmbeddingBatch, request: Request, principal: Principal = Depends(require_device)
) -> EmbeddingAck:
    """Store the vectors of the token's user's samples, one per (sample, space); idempotent."""
    max_batch: int = request.app.state.settings.max_batch
    if len(batch.items) > max_batch:
        raise HTTPException(status_code=413, detail=f"{len(batch.items)} items in one batch; at most {max_batch}")
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        ack = store_embeddings(conn, request.app.state.spaces, principal, batch.items, request=request)
    metrics: HubMetrics = request.app.state.metrics
    metrics.embeddings.labels(outcome="upserted").inc(ack.upserted)
    metrics.embeddings.labels(outcome="unchanged").inc(ack.unchanged)
    return ack
