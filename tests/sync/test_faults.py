"""Nothing lost, nothing doubled: injected 500s and timeouts, the hub killed mid-batch and
restarted, the companion killed mid-sync. Afterwards the hub holds every event exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest

from companion.library.db import connect
from companion.sync.backoff import Backoff
from companion.sync.client import PushResult, SyncClient
from samplemind_hub.testing import HubProcess, make_token
from tests.sync.conftest import (
    add_embeddings,
    add_events,
    outbox_size,
    server_embeddings,
    server_events,
)


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture()
def faulty_hub(sync_db: str, tmp_path: Path) -> Iterator[HubProcess]:
    """A hub process the test starts, kills and restarts itself."""
    proc = HubProcess(sync_db, tmp_path / "faulty-hub.log")
    yield proc
    proc.kill()


def injected_faults(hub: HubProcess, database_url: str) -> dict[str, float]:
    token = make_token(database_url, "ops", "prometheus", scope="metrics")
    r = httpx.get(f"{hub.base_url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    text = r.text
    out = {}
    for line in text.splitlines():
        if line.startswith("hub_injected_faults_total{"):
            kind = line.split('kind="')[1].split('"')[0]
            out[kind] = float(line.split()[-1])
    return out


def test_injected_500s_and_timeouts_lose_and_double_nothing(
    faulty_hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    faulty_hub.start(
        env={
            "HUB_FAULTS": "500:0.2,500-after:0.15,timeout:0.1,timeout-after:0.1",
            "HUB_FAULT_DELAY_S": "1.0",
            "HUB_FAULT_SEED": "7",
        }
    )
    ids = add_events(catalog, 400)
    vectors = add_embeddings(catalog, 60, seed=5)
    results: list[PushResult] = []
    with SyncClient(
        catalog,
        faulty_hub.base_url,
        token,
        batch_size=40,
        embedding_batch_size=15,
        retry_budget=4,
        timeout_s=0.5,
        backoff=Backoff(base_s=0.02, cap_s=0.2),
        seed=3,
    ) as client:
        for _ in range(40):
            results.append(client.push_once())
            if results[-1].remaining == 0 and results[-1].error is None:
                break
    assert results[-1].remaining == 0 and results[-1].error is None, results[-1]
    assert sum(r.sent_events for r in results) == 400 and sum(r.sent_embeddings for r in results) == 60
    assert outbox_size(catalog) == 0

    stored = server_events(sync_db, user)
    assert len(stored) == 400 and set(stored) == set(ids)  # every event exactly once
    assert sum(stored.values()) > 400  # ... although some were delivered more than once
    uploaded = server_embeddings(sync_db, user)
    assert set(uploaded) == set(vectors)
    for content_hash, vec in vectors.items():
        np.testing.assert_array_equal(uploaded[content_hash], vec)
    faults = injected_faults(faulty_hub, sync_db)
    assert set(faults) == {"500", "500-after", "timeout", "timeout-after"}, faults


def _push_in_thread(client: SyncClient) -> tuple[threading.Thread, list[PushResult]]:
    out: list[PushResult] = []
    thread = threading.Thread(target=lambda: out.append(client.push_once()))
    thread.start()
    return thread, out


def _hub_transactions(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        )


def test_hub_killed_mid_batch_and_restarted(
    faulty_hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    ids = add_events(catalog, 300)
    client_args = {"batch_size": 100, "retry_budget": 2, "timeout_s": 60.0, "backoff": Backoff(0.05, 0.1)}

    # 1. Killed inside the write transaction: PostgreSQL rolls the batch back.
    faulty_hub.start(env={"HUB_FAULTS": "stall-in-tx:1.0", "HUB_FAULT_DELAY_S": "60"})
    with SyncClient(catalog, faulty_hub.base_url, token, **client_args) as client:
        thread, result = _push_in_thread(client)
        wait_for(lambda: _hub_transactions(sync_db) == 1, 30, "the hub to stall inside its transaction")
        faulty_hub.kill()
        thread.join(timeout=30)
    assert result[0].error and result[0].remaining == 300 and result[0].sent_events == 0
    wait_for(lambda: _hub_transactions(sync_db) == 0, 30, "PostgreSQL to roll back")
    assert server_events(sync_db, user) == {}

    # 2. Killed after commit, before answering: the batch is stored but never acknowledged.
    faulty_hub.start(env={"HUB_FAULTS": "timeout-after:1.0", "HUB_FAULT_DELAY_S": "60"})
    with SyncClient(catalog, faulty_hub.base_url, token, **client_args) as client:
        thread, result = _push_in_thread(client)
        wait_for(lambda: len(server_events(sync_db, user)) == 100, 30, "the first batch to commit")
        faulty_hub.kill()
        thread.join(timeout=30)
    assert result[0].error and result[0].remaining == 300
    assert set(server_events(sync_db, user)) == set(ids[:100])

    # 3. Restarted healthy: everything arrives, the stored-but-unacknowledged batch only once.
    faulty_hub.start(env={})
    with SyncClient(catalog, faulty_hub.base_url, token, **client_args) as client:
        final = client.push_once()
    assert (final.sent_events, final.remaining, final.error) == (300, 0, None)
    stored = server_events(sync_db, user)
    assert len(stored) == 300 and set(stored) == set(ids)
    assert sorted(stored[i] for i in ids) == [1] * 200 + [2] * 100
    conn = connect(catalog)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 300  # local history kept
    conn.close()


def _companion_sync(catalog: Path, hub: HubProcess, token: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECS_")}
    env.update({"RECS_SYNC_URL": hub.base_url, "RECS_SYNC_TOKEN": token})
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from companion.cli.main import main; main()",
            "sync",
            "--once",
            "--library-db",
            str(catalog),
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_companion_killed_mid_sync_then_run_again(
    faulty_hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    ids = add_events(catalog, 1000)
    # Every answer is delayed 0.2 s after commit, so the sync takes long enough to be killed.
    faulty_hub.start(env={"HUB_FAULTS": "timeout-after:1.0", "HUB_FAULT_DELAY_S": "0.2"})
    proc = _companion_sync(catalog, faulty_hub, token, "--batch-size", "50")
    try:
        wait_for(
            lambda: len(server_events(sync_db, user)) >= 150 or proc.poll() is not None,
            60,
            "the companion to send some batches",
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    stored_at_kill = len(server_events(sync_db, user))
    acknowledged = 1000 - outbox_size(catalog)
    assert 150 <= stored_at_kill < 1000
    assert acknowledged <= stored_at_kill <= acknowledged + 50  # at most one batch in flight

    rerun = _companion_sync(catalog, faulty_hub, token, "--batch-size", "50", "--json")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert b'"remaining": 0' in out
    stored = server_events(sync_db, user)
    assert len(stored) == 1000 and set(stored) == set(ids)
    assert outbox_size(catalog) == 0
    conn = connect(catalog)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
