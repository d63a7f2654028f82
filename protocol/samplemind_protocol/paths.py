"""The hub's endpoint paths: the routes the hub serves and the desktop sync client calls.

Every path is absolute from the hub's base URL (``http://127.0.0.1:8765``).
"""

from __future__ import annotations

#: Version prefix of every API route.
API_PREFIX = "/api/v1"
#: ``GET``: liveness and readiness; the only API route that needs no token.
HEALTH_PATH = f"{API_PREFIX}/health"
#: ``POST`` ``{"events": [...]}`` (:class:`~samplemind_protocol.payloads.TelemetryBatch`).
EVENTS_PATH = f"{API_PREFIX}/telemetry/recommendations"
#: ``PUT`` ``{"items": [...]}`` (:class:`~samplemind_protocol.payloads.EmbeddingBatch`).
EMBEDDINGS_PATH = f"{API_PREFIX}/embeddings"
#: ``GET`` the current fusion rules (:class:`~samplemind_protocol.payloads.RulesResponse`), ETag.
RULES_PATH = f"{API_PREFIX}/recommendations/rules"
#: ``GET`` the token's user's embedding coverage per space.
VECTORS_STATUS_PATH = f"{API_PREFIX}/vectors/status"
#: ``POST`` a top-k cosine query among the token's user's vectors of one space.
VECTORS_SEARCH_PATH = f"{API_PREFIX}/vectors/search"
#: ``GET`` Prometheus metrics (a metrics-scope token); outside the versioned API.
METRICS_PATH = "/metrics"
