"""The hub's FastAPI application: wiring of routers, auth, metrics, faults and the database.

``create_app(settings, database_url)`` returns the ASGI app; its lifespan migrates the database,
seeds the packaged fusion rules as version 1 when none exists, loads the JWT key and opens the
connection pool. OpenAPI: ``/openapi.json`` and ``/docs`` (schema only, no data).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg_pool
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from samplemind_hub import __version__, db
from samplemind_hub.auth import Principal, require_metrics, signing_secret
from samplemind_hub.config import HubSettings
from samplemind_hub.embeddings import router as embeddings_router
from samplemind_hub.faults import fault_middleware, parse_faults
from samplemind_hub.guard import BodyLimits, RequestGuard
from samplemind_hub.health import router as health_router
from samplemind_hub.metrics import MetricsMiddleware, create_metrics
from samplemind_hub.rules import router as rules_router
from samplemind_hub.rules import seed_default_rules
from samplemind_hub.telemetry import router as telemetry_router
from samplemind_hub.vectors import router as vectors_router
from samplemind_protocol.paths import METRICS_PATH

log = logging.getLogger("hub")


def create_app(settings: HubSettings, database_url: str) -> FastAPI:
    """Build the hub application.

    Args:
        settings: hub settings (limits, HNSW parameters, JWT key override, test faults).
        database_url: PostgreSQL URL of a server with pgvector >= 0.5.0.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        applied = db.migrate(database_url)
        if applied:
            log.info("applied %d hub migration(s)", applied)
        with db.connect(database_url) as conn:
            override = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
            app.state.jwt_secret = signing_secret(conn, override)
            seeded = seed_default_rules(conn)
            if seeded:
                log.info("published the packaged fusion rules as version %d", seeded)
        app.state.pool = db.open_pool(
            database_url,
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            hnsw_ef_search=settings.hnsw_ef_search,
        )
        app.state.auth_pool = await db.open_auth_pool(database_url)
        try:
            yield
        finally:
            await app.state.auth_pool.close()
            app.state.pool.close()

    app = FastAPI(
        title="SampleMind hub",
        version=__version__,
        summary="Telemetry and embeddings up from the companions, shared fusion rules down.",
        description=(
            "Every endpoint but `/api/v1/health` needs `Authorization: Bearer <token>` "
            "(`samplemind-hub token create`). A token reads and writes only its own user's data. "
            "Write endpoints accept `Content-Encoding: gzip` bodies and are idempotent."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = create_metrics()
    app.state.spaces = db.SpaceRegistry(hnsw_m=settings.hnsw_m, hnsw_ef_construction=settings.hnsw_ef_construction)
    app.state.faults = parse_faults(settings.faults, delay_s=settings.fault_delay_s, seed=settings.fault_seed)
    app.state.fault_counter = app.state.metrics.faults
    if app.state.faults is not None:
        log.warning("TEST FAULT INJECTION ENABLED: HUB_FAULTS=%r — never in production", settings.faults)

    # Starlette runs the last-added middleware first: metrics see every answer, the guard
    # authenticates before anything reads a body, faults hit authenticated requests only.
    limits = BodyLimits.from_settings(settings.max_batch, settings.max_body_bytes)
    app.state.body_limits = limits
    if app.state.faults is not None:
        app.middleware("http")(fault_middleware)
    app.add_middleware(RequestGuard, limits=limits)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)

    # Starlette's RequestBodyLimitMiddleware on every route caps the (decompressed) body.
    app.include_router(telemetry_router, max_body_size=limits.events)
    app.include_router(embeddings_router, max_body_size=limits.embeddings)
    for router in (health_router, rules_router, vectors_router):
        app.include_router(router, max_body_size=limits.other)

    @app.get(
        METRICS_PATH,
        tags=["metrics"],
        summary="Prometheus metrics (metrics-scope token)",
        response_class=Response,
        max_body_size=limits.other,
        responses={
            401: {"description": "Missing or invalid token."},
            403: {"description": "A device token, unless HUB_METRICS_DEVICE_TOKENS is set."},
        },
    )
    def metrics(request: Request, principal: Principal = Depends(require_metrics)) -> Response:
        """Counters and latency histograms in the Prometheus text format."""
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad input, and NaN/Infinity inputs cannot be JSON.
        return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(psycopg_pool.PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable during %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "database unavailable — retry later"}, status_code=503, headers={"Retry-After": "5"}
        )

    return app


def _json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value
