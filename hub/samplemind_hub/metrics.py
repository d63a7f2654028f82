"""Prometheus metrics of the hub (prometheus_client), one registry per app instance.

Exposed at ``GET /metrics`` (text format 0.0.4) to metrics-scope tokens (device tokens too when
``HUB_METRICS_DEVICE_TOKENS`` is set); create one with ``samplemind-hub token create --user ops --device prometheus --scope metrics``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("hub")


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
            "hub_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "hub_http_request_duration_seconds",
            "Request latency by route template (s).",
            ["route"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        ),
        events=Counter(
            "hub_telemetry_events",
            "Telemetry events received, by outcome (accepted, duplicate).",
            ["outcome"],
            registry=registry,
        ),
        embeddings=Counter(
            "hub_embeddings",
            "Embeddings received, by outcome (upserted, unchanged).",
            ["outcome"],
            registry=registry,
        ),
        faults=Counter(
            "hub_injected_faults",
            "TEST ONLY: faults injected by HUB_FAULTS, by kind.",
            ["kind"],
            registry=registry,
        ),
        searches=Counter(
            "hub_vector_searches",
            "Top-k cosine searches, by method (hnsw, exact).",
            ["method"],
            registry=registry,
        ),
    )


class MetricsMiddleware:
    """Pure ASGI middleware: count every HTTP request and time it, labelled by its route
    template (bounded cardinality). Pure ASGI rather than ``BaseHTTPMiddleware``, which costs
    about a millisecond a request.

    An unhandled exception becomes a logged JSON 500 (``{"detail": "internal error …"}``) here
    instead of propagating to the server, which would close the connection after answering and
    reset a client's next request on it (a keep-alive race).
    """

    def __init__(self, app: ASGIApp, metrics: HubMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = False

        async def send_and_track(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_and_note_status(message)

        try:
            await self.app(scope, receive, send_and_track)
        except Exception as exc:
            if started:
                raise
            log.exception("unhandled error during %s %s", scope["method"], scope["path"])
            status = 500
            body = json.dumps(
                {"detail": f"internal error ({type(exc).__name__}) — the hub's log has the details"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route=template, method=scope["method"], status=str(status)).inc()
            self.metrics.latency.labels(route=template).observe(time.perf_counter() - start)
