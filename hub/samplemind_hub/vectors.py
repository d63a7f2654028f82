"""``GET /api/v1/vectors/status`` (coverage per space) and ``POST /api/v1/vectors/search``.

Search is a top-k cosine query among the token's user's vectors of one space, answered by the
space's partial HNSW index (``ORDER BY embedding::vector(dim) <=> q``, pgvector). The user
filter is applied to the index's candidates (pgvector 0.6 has no iterative index scans), so
when the index returns fewer than ``k`` rows while the user holds more, the query is answered
again by an exact scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from psycopg import sql
from psycopg_pool import ConnectionPool

from samplemind_hub.auth import Principal, require_device
from samplemind_hub.db import Space, SpaceRegistry, space_index_name
from samplemind_hub.metrics import HubMetrics
from samplemind_hub.schemas import (
    SearchHit,
    SearchRequest,
    SearchResponse,
    SpaceStatus,
    VectorsStatus,
)
from samplemind_protocol.paths import VECTORS_SEARCH_PATH, VECTORS_STATUS_PATH

router = APIRouter(tags=["vectors"])

_STATUS = """
SELECT s.id, s.name, s.dim, count(*) AS n,
       EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'embeddings_hnsw_space_' || s.id) AS indexed
FROM embeddings e JOIN embedding_spaces s ON s.id = e.space_id
WHERE e.user_id = %s
GROUP BY s.id, s.name, s.dim
ORDER BY s.name
"""


def coverage(conn: Any, principal: Principal) -> VectorsStatus:
    """Embedding coverage of each space the user has vectors in."""
    samples_row = conn.execute("SELECT count(*) FROM samples WHERE user_id = %s", (principal.user_id,)).fetchone()
    samples = int(samples_row[0])
    spaces = []
    for space_id, name, dim, n, indexed in conn.execute(_STATUS, (principal.user_id,)).fetchall():
        space = Space(space_id, name, dim)
        spaces.append(
            SpaceStatus(
                space=name,
                dim=dim,
                embeddings=int(n),
                samples=samples,
                coverage=1.0 if samples == 0 else round(int(n) / samples, 6),
                index=space_index_name(space) if indexed else "missing",
            )
        )
    return VectorsStatus(samples=samples, spaces=spaces)


def _nearest_sql(space: Space) -> sql.Composed:
    dim = sql.Literal(space.dim)
    return sql.SQL(
        "SELECT h.content_hash, h.similarity, s.metadata FROM ("
        " SELECT content_hash, 1 - (embedding::vector({dim}) <=> %(q)s) AS similarity,"
        "        embedding::vector({dim}) <=> %(q)s AS distance"
        " FROM embeddings"
        " WHERE space_id = {space} AND user_id = %(user)s AND NOT (content_hash = ANY(%(exclude)s))"
        " ORDER BY embedding::vector({dim}) <=> %(q)s LIMIT %(k)s) h"
        " JOIN samples s ON s.user_id = %(user)s AND s.content_hash = h.content_hash"
        " WHERE h.distance <> 'NaN'::float8"
        " ORDER BY h.distance"
    ).format(dim=dim, space=sql.Literal(space.id))


def nearest(
    conn: Any,
    space: Space,
    principal: Principal,
    query: np.ndarray,
    k: int,
    *,
    exclude: list[str] | None = None,
    ef_search: int = 64,
) -> tuple[list[tuple[str, float, dict[str, Any]]], bool]:
    """Top-``k`` by cosine similarity; returns ``(hits, exact)``.

    Args:
        query: (dim,) float32 checked by :func:`samplemind_hub.schemas.to_float32` (norm within bounds).
        ef_search: the connection's ``hnsw.ef_search`` (HNSW candidate list size, pgvector
            default 40; the pool sets the hub's setting on every connection). Raised for this
            query when ``k`` exceeds it.

    Returns:
        ``[(content_hash, similarity, metadata), …]`` most similar first (similarity in
        [-1, 1], never NaN: rows whose distance is undefined, zero vectors stored before the hub
        refused them, are left out), and whether an exact scan answered.
    """
    params = {"q": query, "user": principal.user_id, "exclude": list(exclude or []), "k": k}
    statement = _nearest_sql(space)
    if k <= ef_search:  # the common case: one statement, no transaction (autocommit pool)
        rows = conn.execute(statement, params).fetchall()
        if len(rows) >= k:
            return [(r[0], float(r[1]), dict(r[2])) for r in rows], False
    with conn.transaction():
        if k > ef_search:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(k),))
            rows = conn.execute(statement, params).fetchall()
            if len(rows) >= k:
                return [(r[0], float(r[1]), dict(r[2])) for r in rows], False
        available = conn.execute(
            "SELECT count(*) FROM embeddings WHERE space_id = %s AND user_id = %s AND NOT (content_hash = ANY(%s))",
            (space.id, principal.user_id, params["exclude"]),
        ).fetchone()[0]
        if available <= len(rows):
            return [(r[0], float(r[1]), dict(r[2])) for r in rows], False
        conn.execute("SELECT set_config('enable_indexscan', 'off', true)")
        rows = conn.execute(statement, params).fetchall()
    return [(r[0], float(r[1]), dict(r[2])) for r in rows], True


def _has_vectors(conn: Any, principal: Principal, space: Space) -> bool:
    return bool(
        conn.execute(
            "SELECT EXISTS (SELECT 1 FROM embeddings WHERE user_id = %s AND space_id = %s)",
            (principal.user_id, space.id),
        ).fetchone()[0]
    )


@router.get(
    VECTORS_STATUS_PATH,
    response_model=VectorsStatus,
    summary="Embedding coverage per space",
    responses={401: {"description": "Missing, invalid or revoked bearer token."}},
)
def vectors_status(request: Request, principal: Principal = Depends(require_device)) -> VectorsStatus:
    """For each space the user has vectors in: how many of the user's samples have one."""
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        return coverage(conn, principal)


@router.post(
    VECTORS_SEARCH_PATH,
    response_model=SearchResponse,
    summary="Top-k cosine neighbours among the user's vectors of one space",
    responses={
        401: {"description": "Missing, invalid or revoked bearer token."},
        404: {"description": "The user has no vector in this space."},
        422: {
            "description": "Query vector of the wrong dimension, infinite as float32, NaN, "
            "zero or near-zero; `detail[].loc` is `body.vector`."
        },
    },
)
def vectors_search(
    body: SearchRequest, request: Request, principal: Principal = Depends(require_device)
) -> SearchResponse:
    """Nearest samples of the token's user by cosine similarity (HNSW index)."""
    pool: ConnectionPool = request.app.state.pool
    registry: SpaceRegistry = request.app.state.spaces
    with pool.connection() as conn:
        space = registry.get(conn, body.space)
        # An unknown space and one only other users fill answer alike: nothing leaks.
        missing = HTTPException(status_code=404, detail=f"you have no vectors in space {body.space!r}")
        if space is None:
            raise missing
        if len(body.vector) != space.dim:  # the registry's dimension is the operator's, not a user's
            raise HTTPException(
                status_code=422,
                detail=[
                    {
                        "type": "dimension_mismatch",
                        "loc": ["body", "vector"],
                        "msg": f"space {body.space!r} is registered with {space.dim} dimensions; the query has {len(body.vector)}",
                        "input": len(body.vector),
                    }
                ],
            )
        hits, exact = nearest(
            conn,
            space,
            principal,
            body.vector32,
            body.k,
            exclude=body.exclude,
            ef_search=request.app.state.settings.hnsw_ef_search,
        )
        if not hits and not _has_vectors(conn, principal, space):
            raise missing
    metrics: HubMetrics = request.app.state.metrics
    metrics.searches.labels(method="exact" if exact else "hnsw").inc()
    return SearchResponse(
        space=space.name,
        exact=exact,
        hits=[SearchHit(content_hash=h, similarity=s, metadata=m) for h, s, m in hits],
    )
