"""``companion sync --once`` and ``companion sync status`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from samplemind_hub.testing import HubProcess, free_port
from tests.sync.conftest import add_embeddings, add_events, server_events


def companion(*args: str, url: str | None = None, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECS_")}
    if url:
        env["RECS_SYNC_URL"] = url
    if token:
        env["RECS_SYNC_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-c", "from companion.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def test_sync_once_then_status(hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path) -> None:
    ids = add_events(catalog, 25)
    add_embeddings(catalog, 4, seed=8)
    before = json.loads(companion("sync", "status", "--json", "--library-db", str(catalog)).stdout)
    assert (before["queued_events"], before["queued_embeddings"], before["state"]) == (25, 4, "pending")
    assert before["rules_version"] is None and before["hub"] is None

    out = companion("sync", "--once", "--json", "--library-db", str(catalog), url=hub.base_url, token=token)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert (result["sent_events"], result["sent_embeddings"], result["remaining"]) == (25, 4, 0)
    assert result["rules"]["status"] == "updated"
    assert set(server_events(sync_db, user)) == set(ids)

    status = companion("sync", "status", "--json", "--library-db", str(catalog), url=hub.base_url)
    after = json.loads(status.stdout)
    assert after["state"] == "synced" and after["rules_version"] == result["rules"]["version"]
    assert after["hub"] == hub.base_url and after["queued_events"] == 0

    text = companion("sync", "status", "--library-db", str(catalog)).stderr
    assert "synced just now · 0 queued · rules v" in text


def test_sync_once_reports_errors_with_exit_status_1(token: str, catalog: Path) -> None:
    add_events(catalog, 3)
    dead = f"http://127.0.0.1:{free_port()}"
    out = companion("sync", "--once", "--timeout", "0.5", "--library-db", str(catalog), url=dead, token=token)
    assert out.returncode == 1
    assert "ConnectError" in out.stderr and "3 left" in out.stderr
    missing = companion("sync", "--once", "--library-db", str(catalog))
    assert missing.returncode == 1 and "RECS_SYNC_URL" in missing.stderr
