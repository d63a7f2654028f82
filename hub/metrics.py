"""Prometheus metrics of the hub (prometheus_client), one registry per app instance.

Exposed at ``GET /metrics`` (text format 0.0.4) to any valid bearer token; create a
metrics-only one with ``samplemind-hub token create --user ops --device prometheus --scope metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response


@dataclass
class HubMetrics:
    """The hub's counters and histograms."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    events: Counter
    embeddings: Counter
    faults: Counter
    searches: Counter


def create_metrics() -> HubMetrics:
    """A fresh registry with the hub's metrics (names follow Prometheus naming practice)."""
    registry = CollectorRegistry(auto_describe=True)
    return HubMetrics(
        registry=registry,
        requests=Counter(
            "hub_http_requests", "HTTP requests by route template, method and status.",
            ["route", "method", "status"], registry=registry,
        ),
        latency=Histogram(
            "hub_http_request_duration_seconds", "Request latency by route template (s).",
            ["route"], registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        ),
        events=Counter(
            "hub_telemetry_events", "Telemetry events received, by outcome (accepted, duplicate).",
            ["outcome"], registry=registry,
        ),
        embeddings=Counter(
            "hub_embeddings", "Embeddings received, by outcome (upserted, unchanged).",
            ["outcome"], registry=registry,
        ),
        faults=Counter(
            "hub_injected_faults", "TEST ONLY: faults injected by HUB_FAULTS, by kind.",
            ["kind"], registry=registry,
        ),
        searches=Counter(
            "hub_vector_searches", "Top-k cosine searches, by method (hnsw, exact).",
            ["method"], registry=registry,
        ),
    )


async def metrics_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Count every request and time it, labelled by its route template (bounded cardinality)."""
    metrics: HubMetrics = request.app.state.metrics
    start = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.requests.labels(route=template, method=request.method, status=str(status)).inc()
        metrics.latency.labels(route=template).observe(time.perf_counter() - start)
