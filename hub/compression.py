"""Gzip-compressed request bodies (``Content-Encoding: gzip``) with a size cap.

Starlette decompresses nothing on the way in; this route class does, following FastAPI's
"Custom Request and APIRoute class" recipe (GzipRequest). Decompression stops at the app's
``max_body_bytes`` so a small gzip bomb cannot take the hub's memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data``, refusing more than ``limit`` bytes of output.

    Raises:
        HTTPException: 413 when the output would exceed ``limit``; 400 when ``data`` is not gzip.
    """
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, limit + 1)
        if len(out) > limit or decompressor.unconsumed_tail:
            raise HTTPException(status_code=413, detail=f"request body over {limit} bytes once decompressed")
        out += decompressor.flush()
    except zlib.error as exc:
        raise HTTPException(status_code=400, detail=f"Content-Encoding is gzip but the body is not: {exc}") from exc
    if not decompressor.eof:
        raise HTTPException(status_code=400, detail="truncated gzip body")
    return out


class GzipRequest(Request):
    """A request whose :meth:`body` is decompressed when sent with ``Content-Encoding: gzip``."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            limit: int = self.app.state.settings.max_body_bytes
            raw = await super().body()
            if len(raw) > limit:
                raise HTTPException(status_code=413, detail=f"request body over {limit} bytes")
            encodings = [e.strip().lower() for e in self.headers.get("content-encoding", "").split(",") if e.strip()]
            if encodings == ["gzip"]:
                raw = gunzip_capped(raw, limit)
            elif encodings and encodings != ["identity"]:
                raise HTTPException(status_code=415, detail=f"unsupported Content-Encoding {encodings}; use gzip")
            self._body = raw
        return self._body


class GzipRoute(APIRoute):
    """API route that hands its endpoint a :class:`GzipRequest`."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await original(GzipRequest(request.scope, request.receive))

        return handler
