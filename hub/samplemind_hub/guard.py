"""The hub's front door: authenticate a request before anything reads its body, then let the
body in only as a bounded stream.

:class:`RequestGuard` is a pure ASGI middleware in front of every route but the public ones
(health and the OpenAPI schema). For each request it

1. checks the bearer token (signature, issuer, expiry, then the device row in PostgreSQL, on
   the event loop through a small asyncio pool) from the headers alone and answers 401 without reading a byte of the body when it is missing or
   invalid; uvicorn's flow control then stops reading from the socket, so an unauthenticated
   client cannot make the hub buffer anything;
2. refuses an unsupported ``Content-Encoding`` with 415, again before the body;
3. decompresses a ``Content-Encoding: gzip`` body as it arrives, counting the compressed bytes
   (``Content-Length`` first, then each chunk) and the decompressed ones against the route's
   cap, and answers 413 as soon as either passes it — a gzip bomb is stopped after ``cap``
   bytes of output, whatever it would expand to.

The decompressed (or identity) body is capped a second time by Starlette's own
``RequestBodyLimitMiddleware``, which FastAPI puts on each route (``include_router(...,
max_body_size=...)``): it refuses a ``Content-Length`` over the cap before reading and counts
chunked bodies as they arrive. :class:`BodyLimits` holds the caps, sized from ``HUB_MAX_BATCH``.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg
from fastapi import HTTPException
from psycopg_pool import PoolTimeout
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samplemind_hub.auth import check_authorization_async
from samplemind_protocol.paths import EMBEDDINGS_PATH, EVENTS_PATH, HEALTH_PATH

log = logging.getLogger("hub")

#: Paths anyone may call: liveness and the API schema (no data).
PUBLIC_PATHS = frozenset({HEALTH_PATH, "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

#: Bytes of JSON one telemetry event may take in a batch: a desktop event is ≈ 0.4 KiB
#: (context snapshot and ranking metadata); 2 KiB leaves room for larger contexts.
EVENT_BYTES = 2 * 1024
#: Bytes of JSON one embedding item may take: a 512-d float32 vector written by the desktop
#: (``json.dumps(vector.tolist())``) is ≈ 10.5 KiB; 12 KiB holds it with its metadata. Spaces
#: of more dimensions need ``HUB_MAX_BODY_BYTES``.
EMBEDDING_BYTES = 12 * 1024
#: Cap of every other route's body (a search query of 2000 floats and 100 excluded hashes is
#: ≈ 64 KiB).
OTHER_BODY_BYTES = 128 * 1024
#: Most decompressed bytes produced per ASGI message (keeps each step small).
_INFLATE_STEP = 256 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """Request body caps in bytes (after decompression; compressed bytes count against them too).

    Attributes:
        events: ``POST /api/v1/telemetry/recommendations``.
        embeddings: ``PUT /api/v1/embeddings``.
        other: every other route.
    """

    events: int
    embeddings: int
    other: int = OTHER_BODY_BYTES

    @classmethod
    def from_settings(cls, max_batch: int, max_body_bytes: int | None) -> BodyLimits:
        """Caps for a batch of ``max_batch`` items: ``max_body_bytes`` for both write routes when
        set, else what ``max_batch`` real items need (5000 → 9.8 MiB of events, 58.6 MiB of
        512-d embeddings)."""
        if max_body_bytes is not None:
            return cls(events=max_body_bytes, embeddings=max_body_bytes)
        return cls(events=max_batch * EVENT_BYTES, embeddings=max_batch * EMBEDDING_BYTES)

    def for_path(self, path: str) -> int:
        """The cap of one request path."""
        if path == EVENTS_PATH:
            return self.events
        if path == EMBEDDINGS_PATH:
            return self.embeddings
        return self.other


class RequestGuard:
    """Pure ASGI middleware: auth from the headers, then a capped, streaming gzip decoder.

    Stores the authenticated :class:`samplemind_hub.auth.Principal` in ``scope["state"]["principal"]``,
    where the route dependencies (:func:`samplemind_hub.auth.authenticate`) read it.

    Args:
        app: the wrapped application.
        limits: body caps per route.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            principal = await check_authorization_async(scope["app"].state, headers.get("authorization"))
        except HTTPException as exc:
            await _answer(send, exc.status_code, exc.detail, exc.headers)
            return
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.error("database unavailable while checking a token: %s", exc)
            await _answer(send, 503, "database unavailable — retry later", {"Retry-After": "5"})
            return
        scope.setdefault("state", {})["principal"] = principal

        encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",") if e.strip()]
        if not encodings or encodings == ["identity"]:
            await self.app(scope, receive, send)
            return
        if encodings != ["gzip"]:
            await _answer(send, 415, f"unsupported Content-Encoding {encodings}; use gzip")
            return
        cap = self.limits.for_path(scope["path"])
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _answer(send, 413, f"request body over {cap} bytes")
            return
        inflater = _CappedGunzip(receive, cap)
        inner = dict(scope)
        inner["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        started = False

        async def note_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(inner, inflater.receive, note_start)
        except _GzipError as exc:
            if started:
                raise
            await _answer(send, exc.status_code, exc.detail)


class _GzipError(HTTPException):
    """A gzip body over the cap (413) or not gzip at all (400); raised from ``receive``."""


class _CappedGunzip:
    """``receive`` that inflates a gzip body chunk by chunk, refusing more than ``cap`` bytes in
    or out (zlib's ``max_length`` bounds every step's output)."""

    def __init__(self, receive: Receive, cap: int) -> None:
        self._receive = receive
        self._cap = cap
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._compressed = 0
        self._inflated = 0
        self._pending = b""  # compressed input zlib has not consumed yet (max_length reached)
        self._more = True

    def _inflate(self, data: bytes) -> bytes:
        try:
            out = self._zlib.decompress(data, min(_INFLATE_STEP, self._cap - self._inflated + 1))
        except zlib.error as exc:
            raise _GzipError(400, f"Content-Encoding is gzip but the body is not: {exc}") from exc
        self._pending = self._zlib.unconsumed_tail
        self._inflated += len(out)
        if self._inflated > self._cap:
            raise _GzipError(413, f"request body over {self._cap} bytes once decompressed")
        return out

    async def receive(self) -> Message:
        while True:
            if self._pending:
                return {"type": "http.request", "body": self._inflate(self._pending), "more_body": True}
            if not self._more:
                if not self._zlib.eof:
                    out = self._inflate(b"")  # output zlib still holds back
                    if out:
                        return {"type": "http.request", "body": out, "more_body": True}
                    raise _GzipError(400, "truncated gzip body")
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await self._receive()
            if message["type"] != "http.request":
                return message  # http.disconnect
            chunk = message.get("body", b"")
            self._more = bool(message.get("more_body", False))
            self._compressed += len(chunk)
            if self._compressed > self._cap:
                raise _GzipError(413, f"request body over {self._cap} bytes")
            if self._zlib.eof and chunk:
                raise _GzipError(400, "data after the end of the gzip stream")
            out = self._inflate(chunk) if chunk else b""
            if out:
                return {"type": "http.request", "body": out, "more_body": True}


async def _answer(send: Send, status: int, detail: object, headers: Mapping[str, str] | None = None) -> None:
    """Send a JSON ``{"detail": ...}`` answer and close the connection (the body stays unread)."""
    body = json.dumps({"detail": detail}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
