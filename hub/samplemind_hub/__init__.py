"""SampleMind hub: the central service the companions sync with.

FastAPI + psycopg 3 + pgvector. Receives telemetry events and embeddings from the desktop
companions and serves the shared fusion rules. Start it with ``samplemind-hub serve``; see
``hub/README.md``. Its own distribution (``pip install ./hub``): it shares only the protocol
package ``samplemind_protocol`` with the desktop and never imports ``companion``.
"""

from __future__ import annotations

__version__ = "0.1.0"


class HubError(Exception):
    """The hub cannot start or run a command (no database, bad configuration, bad rules file)."""
