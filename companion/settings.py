"""The one typed settings object, read once at start-up (pydantic-settings).

Environment names are the ones the product documents: ``RECS_USE_CLAP``,
``RECS_RECOMMENDATION_MODE``, ``RECS_EMBEDDING_DIM``, ``RECS_EMBEDDING_FALLBACK``,
``RECS_CLAP_MODEL_DIR``, plus ``COMPANION_LIBRARY_DB`` for the catalog path.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "samplemind-companion"
APP_AUTHOR = "SampleMind"


def data_dir() -> Path:
    """The user's data directory for the app (platformdirs), e.g. ``~/.local/share/samplemind-companion``."""
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    """The user's log directory for the app (platformdirs)."""
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


class Settings(BaseSettings):
    """Companion settings; every field can be set from the environment.

    Attributes:
        library_db: catalog SQLite file (``COMPANION_LIBRARY_DB``); default under the data dir.
        use_clap: embed with CLAP when a model is installed (``RECS_USE_CLAP``).
        clap_model_dir: folder of an exported ONNX CLAP model (``RECS_CLAP_MODEL_DIR``).
        recommendation_mode: default ranking mode, ``fusion`` or ``rules``.
        embedding_dim: vector dimension of every embedding space (512).
        embedding_fallback: embedding used when CLAP is off or missing (``fingerprint``).
        scan_workers: analysis worker processes for scans (default: CPU count).
        osc_port: UDP port of the OSC listener (9137).
        sync_url: base URL of the central service, e.g. ``http://localhost:8765``.
        sync_token: bearer token for the central service.
    """

    model_config = SettingsConfigDict(env_prefix="RECS_", extra="ignore")

    library_db: Path | None = Field(
        default=None, validation_alias=AliasChoices("COMPANION_LIBRARY_DB", "RECS_LIBRARY_DB")
    )
    use_clap: bool = True
    clap_model_dir: Path | None = None
    recommendation_mode: Literal["fusion", "rules"] = "fusion"
    embedding_dim: int = 512
    embedding_fallback: Literal["fingerprint", "none"] = "fingerprint"
    scan_workers: int | None = None
    osc_port: int = 9137
    sync_url: str | None = None
    sync_token: str | None = None

    def catalog_path(self) -> Path:
        """The catalog file to open: ``library_db`` or ``<data dir>/library.db``."""
        return self.library_db if self.library_db is not None else data_dir() / "library.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
