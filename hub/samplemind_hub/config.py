"""The hub's settings: one typed object read from ``HUB_*`` environment variables.

Command-line options of ``samplemind-hub serve`` override the environment.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data: the user's data dir for ``samplemind-hub``."""
    return Path(platformdirs.user_data_dir("samplemind-hub", "SampleMind"))


class HubSettings(BaseSettings):
    """Hub settings; every field can be set from the environment as ``HUB_<NAME>``.

    Attributes:
        database_url: PostgreSQL URL (``postgresql://user:pw@host:5432/db``) of a server with the
            pgvector extension (>= 0.5.0 for HNSW). Empty: run an embedded PostgreSQL (pgserver)
            in ``data_dir``.
        data_dir: folder of the embedded PostgreSQL's data (only without ``database_url``).
        host / port: where ``serve`` listens (default ``127.0.0.1:8765``).
        jwt_secret: HS256 signing key for bearer tokens; empty: a random key generated once and
            kept in the database (table ``hub_secrets``), shared by every replica.
        pool_min / pool_max: PostgreSQL connection pool bounds.
        max_body_bytes: largest body of ``POST /api/v1/telemetry/recommendations`` and
            ``PUT /api/v1/embeddings`` (bytes, compressed and after gzip decompression). Empty:
            sized from ``max_batch`` (2 KiB an event, 12 KiB a 512-d embedding: 9.8 MiB and
            58.6 MiB at 5000); see :class:`samplemind_hub.guard.BodyLimits`.
        max_batch: most events or embeddings in one request.
        metrics_device_tokens: let device tokens read ``/metrics`` too (hub-wide counters
            across users); by default only ``--scope metrics`` tokens may.
        hnsw_m / hnsw_ef_construction: HNSW build parameters of new spaces' indexes (pgvector
            defaults 16 / 64).
        hnsw_ef_search: HNSW candidate list size for queries (pgvector default 40).
        faults: TEST ONLY fault injection, e.g. ``"500:0.3,timeout:0.1"``; see :mod:`samplemind_hub.faults`.
        fault_delay_s: how long a ``timeout``/``stall`` fault stalls (s).
        fault_seed: seed of the fault injector's random generator.
    """

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = 8765
    jwt_secret: SecretStr | None = None
    pool_min: int = 1
    pool_max: int = 10
    max_body_bytes: int | None = Field(default=None, gt=0)
    max_batch: int = Field(default=5000, ge=1)
    metrics_device_tokens: bool = False
    hnsw_m: int = 16
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 64
    faults: str = ""
    fault_delay_s: float = 5.0
    fault_seed: int | None = None
