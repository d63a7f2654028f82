"""Request and response bodies of the hub API (pydantic; they make the OpenAPI document).

The sync bodies the desktop sends and reads (events, embeddings, their acknowledgements, the
rules response) are the shared protocol's (:mod:`samplemind_protocol.payloads`), re-exported
here; the hub's own routes (vector search, coverage, health) add theirs below.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from samplemind_protocol import payloads
from samplemind_protocol.payloads import (
    CONTENT_HASH_PATTERN,
    EVENT_TYPES,
    MAX_DIM,
    MAX_JSON_BYTES,
    MAX_NORM,
    MIN_NORM,
    SPACE_PATTERN,
    EmbeddingAck,
    EmbeddingBatch,
    EmbeddingItem,
    EventType,
    RulesResponse,
    TelemetryAck,
    TelemetryBatch,
    TelemetryEvent,
)

__all__ = [
    "CONTENT_HASH_PATTERN",
    "EVENT_TYPES",
    "MAX_DIM",
    "MAX_JSON_BYTES",
    "MAX_NORM",
    "MIN_NORM",
    "SPACE_PATTERN",
    "EmbeddingAck",
    "EmbeddingBatch",
    "EmbeddingItem",
    "EventType",
    "Health",
    "RulesResponse",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
    "SpaceStatus",
    "TelemetryAck",
    "TelemetryBatch",
    "TelemetryEvent",
    "VectorsStatus",
    "to_float32",
]


def to_float32(values: list[float]) -> np.ndarray:
    """:func:`samplemind_protocol.payloads.to_float32` as a numpy array (what pgvector stores).

    Args:
        values: the vector as parsed from JSON.

    Returns:
        (n,) float32, every value finite, L2 norm in [:data:`MIN_NORM`, :data:`MAX_NORM`].

    Raises:
        ValueError: NaN, a value infinite in float32, all zeros in float32, a norm outside the
            bounds (see the protocol's function).
    """
    return np.frombuffer(payloads.to_float32(values), dtype=np.float32)


class SpaceStatus(BaseModel):
    """Embedding coverage of one space for the token's user."""

    space: str
    dim: int
    embeddings: int = Field(description="This user's samples with a vector in this space.")
    samples: int = Field(description="This user's samples known to the hub.")
    coverage: float = Field(description="embeddings / samples, 0–1 (1 when no samples).")
    index: str = Field(description="Name of the space's HNSW index, or 'missing'.")


class VectorsStatus(BaseModel):
    """Embedding coverage per space."""

    samples: int
    spaces: list[SpaceStatus]


class SearchRequest(BaseModel):
    """A top-k cosine query among the token's user's vectors of one space."""

    model_config = ConfigDict(extra="forbid")

    space: str = Field(pattern=SPACE_PATTERN)
    vector: list[float] = Field(min_length=1, max_length=MAX_DIM)
    k: int = Field(default=10, ge=1, le=100)
    exclude: list[str] = Field(default_factory=list, max_length=100, description="Content hashes to leave out.")

    _vector32: np.ndarray = PrivateAttr()

    @field_validator("vector")
    @classmethod
    def _searchable(cls, vector: list[float]) -> list[float]:
        to_float32(vector)
        return vector

    @model_validator(mode="after")
    def _keep_float32(self) -> SearchRequest:
        self._vector32 = to_float32(self.vector)
        return self

    @property
    def vector32(self) -> np.ndarray:
        """The query as compared: (dim,) float32, checked by :func:`to_float32`."""
        return self._vector32


class SearchHit(BaseModel):
    """One neighbour: cosine similarity = 1 − cosine distance."""

    content_hash: str
    similarity: float
    metadata: dict[str, Any]


class SearchResponse(BaseModel):
    """Nearest neighbours, most similar first."""

    space: str
    exact: bool = Field(description="True when answered by an exact scan instead of the HNSW index.")
    hits: list[SearchHit]


class Health(BaseModel):
    """Liveness and readiness."""

    status: Literal["ok", "unavailable"]
    database: str
    pgvector: str | None = None
    schema_version: int | None = None
    rules_version: int | None = None
    version: str
