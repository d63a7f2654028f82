"""The sync bodies both sides agree on: what the desktop sends up and what the hub answers.

The payloads are the desktop outbox formats of ``companion/library/events.py``: an event is
``{"event_id", "type", "sample_content_hash", "session_id", "context", "metadata",
"created_at"}`` and an embedding ``{"content_hash", "space", "dim", "vector", "metadata"}``.
The hub validates every request with these models (they make its OpenAPI document); a value
they refuse is answered with 422 naming the item.

Vectors are checked as PostgreSQL's ``vector`` type will store them, in float32, without numpy:
``array('f')`` converts each value with the same C cast as ``numpy.astype(np.float32)``.
"""

from __future__ import annotations

import json
import math
from array import array
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

#: Event types the desktop records (``companion.library.events.EVENT_TYPES``).
EVENT_TYPES: tuple[str, ...] = (
    "view",
    "preview",
    "accept",
    "skip",
    "pin",
    "unpin",
    "ban",
    "unban",
    "dismiss",
    "undo",
)
EventType = Literal["view", "preview", "accept", "skip", "pin", "unpin", "ban", "unban", "dismiss", "undo"]

CONTENT_HASH_PATTERN = r"^[0-9a-f]{16,128}$"
SPACE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}/[A-Za-z0-9._-]{1,32}$"
MAX_DIM = 2000  # pgvector's HNSW limit for vector(n)

#: Bounds of a vector's L2 norm, computed from its float32 values. pgvector's cosine distance
#: sums squares and products in float32: inside these bounds every sum of squares (≥ 1e-30 for a
#: norm ≥ 1e-15, ≤ 1e30 for a norm ≤ 1e15) and every dot product of two such vectors stays a
#: normal float32 (1.2e-38 … 3.4e38), so the distance is never 0/0 (NaN) or ∞/∞.
MIN_NORM = 1e-15
MAX_NORM = 1e15

#: Most bytes of JSON one ``context`` or ``metadata`` object may take.
MAX_JSON_BYTES = 16 * 1024


def to_float32(values: list[float]) -> array[float]:
    """Convert a JSON vector as PostgreSQL's ``vector`` type will store it, and check it.

    Args:
        values: the vector as parsed from JSON (float64; ``1e39`` and ``1e-50`` are finite).

    Returns:
        (n,) ``array('f')`` (float32; ``numpy.frombuffer(result, dtype=numpy.float32)`` views
        it), every value finite, L2 norm in [:data:`MIN_NORM`, :data:`MAX_NORM`].

    Raises:
        ValueError: NaN; a value infinite in float32 (|x| > 3.4e38, e.g. ``1e39``); all zeros
            in float32 (e.g. every value ``1e-50``); a norm outside the bounds. The message
            names the first offending index where there is one.
    """
    v64 = [float(x) for x in values]
    for i, x in enumerate(v64):
        if math.isnan(x):
            raise ValueError(f"vector holds NaN (index {i})")
    v32 = array("f", v64)  # C float cast: out-of-range values become ±inf, tiny ones 0
    if not all(map(math.isfinite, v32)):
        i = next(j for j, x in enumerate(v32) if not math.isfinite(x))
        raise ValueError(f"vector value {v64[i]!r} at index {i} is infinite as float32 (|x| > 3.4e38)")
    if not any(v32):
        raise ValueError("vector is all zeros as float32 (cosine distance undefined)")
    norm = math.hypot(*v32)  # in float64, without overflow or underflow
    if not MIN_NORM <= norm <= MAX_NORM:
        raise ValueError(
            f"vector norm {norm:.3g} is outside [{MIN_NORM:g}, {MAX_NORM:g}] as float32: too close to "
            "zero or too large for a cosine distance in float32 (normalise it)"
        )
    return v32


def check_json(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON object PostgreSQL's jsonb can store: no NaN/Infinity, no NUL, at most 16 KiB.

    Raises:
        ValueError: NaN or an infinity, a NUL character, or more than :data:`MAX_JSON_BYTES`.
    """
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"not storable as JSON: {exc}") from exc
    if "\\u0000" in text:
        raise ValueError("holds a NUL character, which jsonb cannot store")
    if len(text) > MAX_JSON_BYTES:
        raise ValueError(f"is {len(text)} bytes of JSON; at most {MAX_JSON_BYTES}")
    return value


class TelemetryEvent(BaseModel):
    """One recommendation telemetry event (view, preview, accept, skip, pin, ban …)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="uuid4 hex; the idempotency key.")
    type: EventType
    sample_content_hash: str | None = Field(default=None, pattern=CONTENT_HASH_PATTERN)
    session_id: str = Field(min_length=1, max_length=128)
    context: dict[str, Any] = Field(default_factory=dict, description="Session context snapshot.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="rank, score, source, time_to_preview_ms …")
    created_at: float = Field(gt=0, lt=1e11, description="Unix time (s) on the desktop.")

    @field_validator("session_id")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("session_id holds a NUL character")
        return value

    @field_validator("context", "metadata")
    @classmethod
    def _storable_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json(value)


class TelemetryBatch(BaseModel):
    """A batch of events, sent gzip-compressed (``Content-Encoding: gzip``) or plain."""

    model_config = ConfigDict(extra="forbid")

    events: list[TelemetryEvent] = Field(min_length=1)


class TelemetryAck(BaseModel):
    """What the hub did with a batch; every event of a 200 answer is stored exactly once."""

    received: int = Field(description="Events in the batch.")
    accepted: int = Field(description="Events stored for the first time.")
    duplicates: int = Field(description="Events the hub already held (re-deliveries), ignored.")


class EmbeddingItem(BaseModel):
    """One vector of one sample in one embedding space."""

    model_config = ConfigDict(extra="forbid")

    content_hash: str = Field(pattern=CONTENT_HASH_PATTERN)
    space: str = Field(pattern=SPACE_PATTERN, description="Model id and version, e.g. 'fingerprint/v1'.")
    dim: int = Field(ge=1, le=MAX_DIM)
    vector: list[float] = Field(
        min_length=1,
        max_length=MAX_DIM,
        description=f"(dim,) values, stored as float32: finite as float32, L2 norm in [{MIN_NORM:g}, {MAX_NORM:g}].",
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="duration_s, kind, bpm, key, mode.")
    _vector32: array[float] = PrivateAttr()

    @field_validator("metadata")
    @classmethod
    def _storable_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json(value)

    @field_validator("vector")
    @classmethod
    def _storable_vector(cls, vector: list[float]) -> list[float]:
        to_float32(vector)
        return vector

    @model_validator(mode="after")
    def _dim_matches(self) -> EmbeddingItem:
        if len(self.vector) != self.dim:
            raise ValueError(f"vector has {len(self.vector)} values but dim is {self.dim}")
        self._vector32 = to_float32(self.vector)
        return self

    @property
    def vector32(self) -> array[float]:
        """The vector as stored: (dim,) ``array('f')``, checked by :func:`to_float32`."""
        return self._vector32


class EmbeddingBatch(BaseModel):
    """A batch upsert of embeddings."""

    model_config = ConfigDict(extra="forbid")

    items: list[EmbeddingItem] = Field(min_length=1)


class EmbeddingAck(BaseModel):
    """What the hub did with an embeddings batch."""

    received: int
    upserted: int = Field(description="Vectors inserted or changed.")
    unchanged: int = Field(description="Vectors the hub already held, bit for bit.")


class RulesResponse(BaseModel):
    """The current shared fusion rules document and its version."""

    version: int = Field(ge=1)
    etag: str
    published_at: str = Field(description="ISO 8601 time the version was published.")
    rules: dict[str, Any] = Field(description="The fusion rules document (docs/architecture.md §3).")
