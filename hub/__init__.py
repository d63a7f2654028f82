"""SampleMind hub: the central service the companions sync with.

FastAPI + psycopg 3 + pgvector. Receives telemetry events and embeddings from the desktop
companions and serves the shared fusion rules. Start it with ``samplemind-hub serve``; see
``hub/README.md``.
"""

from __future__ import annotations

from companion.errors import CompanionError

__version__ = "0.1.0"


class HubError(CompanionError):
    """The hub cannot start or run a command (no database, bad configuration, bad rules file)."""
