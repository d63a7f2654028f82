"""The embedded PostgreSQL: a real server with pgvector from a local data dir (pgserver).

For one person or a small team trying the hub; production points ``--database-url`` at any
PostgreSQL with pgvector. pgserver (https://github.com/orm011/pgserver) bundles PostgreSQL 16
and pgvector 0.6.2, runs ``initdb`` on first use and listens on a Unix socket in the data dir
only (no TCP port). Run as root it starts the server as the system user ``pgserver``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from samplemind_hub import HubError

log = logging.getLogger("hub")


def start_embedded(data_dir: Path, *, stop_on_exit: bool = True) -> tuple[str, Any]:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir / "pgdata"``.

    Args:
        data_dir: the hub's data folder; created if missing.
        stop_on_exit: stop the server when this process exits (pgserver's ``cleanup_mode``).

    Returns:
        ``(database_url, server handle)``; keep the handle alive while the server is used.

    Raises:
        HubError: pgserver is not installed or PostgreSQL failed to start.
    """
    try:
        import pgserver
    except ImportError as exc:
        raise HubError(
            "no --database-url given and the embedded PostgreSQL is not installed: "
            "pip install 'samplemind-hub[embedded]' (pgserver), or pass --database-url"
        ) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgserver, data_dir / "pgdata")
    try:
        server = pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop" if stop_on_exit else None)
    except Exception as exc:  # pgserver raises CalledProcessError/TimeoutExpired/AssertionError
        raise HubError(
            f"the embedded PostgreSQL in {data_dir / 'pgdata'} did not start: {exc} — see {data_dir / 'pgdata' / 'log'}"
        ) from exc
    url = server.get_uri()
    log.info("embedded PostgreSQL running at %s", url)
    return url, server


def _forget_dead_handles(pgserver: Any, pgdata: Path) -> None:
    """Drop the pids of dead processes from pgserver's handle list.

    pgserver stops the server when its last handle's process exits, and counts handles in
    ``pgdata/.handle_pids.json``; a hub killed with SIGKILL never removes its pid, so the
    server would outlive every later hub. Done under pgserver's own inter-process lock.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with pgserver.PostgresServer._lock:
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); leaving it", handles, exc)
            return
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
