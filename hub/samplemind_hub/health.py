"""``GET /api/v1/health``: the one endpoint that needs no token (load balancers, uptime checks)."""

from __future__ import annotations

import psycopg
import psycopg_pool
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from samplemind_hub import __version__
from samplemind_hub.db import pgvector_version
from samplemind_hub.schemas import Health
from samplemind_protocol.paths import HEALTH_PATH

router = APIRouter(tags=["health"])


@router.get(
    HEALTH_PATH,
    response_model=Health,
    summary="Liveness and database readiness (no token needed)",
    responses={503: {"model": Health, "description": "The database is unreachable."}},
)
def health(request: Request) -> Health | JSONResponse:
    """200 with the pgvector, schema and rules versions when the database answers; else 503."""
    try:
        with request.app.state.pool.connection(timeout=5.0) as conn:
            conn.execute("SELECT 1")
            vector = pgvector_version(conn)
            schema = conn.execute("SELECT max(version) FROM hub_schema_migrations").fetchone()[0]
            rules = conn.execute("SELECT max(version) FROM rules_versions").fetchone()[0]
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        body = Health(status="unavailable", database=f"error: {type(exc).__name__}", version=__version__)
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    return Health(
        status="ok",
        database="ok",
        pgvector=vector,
        schema_version=schema,
        rules_version=rules,
        version=__version__,
    )
