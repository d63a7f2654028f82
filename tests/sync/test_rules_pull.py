"""Pulling the shared fusion rules: cache, 304, refusal of an invalid version, offline."""

from __future__ import annotations

import json
import threading
import time
from importlib import resources
from pathlib import Path

import psycopg

from companion.library.db import connect
from companion.ranking.rules import load_default_rules, parse_rules
from companion.sync import rules_cache
from companion.sync.client import SyncClient
from companion.sync.status import SyncStatus
from samplemind_hub.rules import publish_rules
from samplemind_hub.testing import HubProcess, free_port
from tests.sync.conftest import add_events, server_events


def packaged() -> dict:
    return json.loads(resources.files("samplemind_protocol").joinpath("rules_v1.json").read_text())


def hub_version(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return int(conn.execute("SELECT max(version) FROM rules_versions").fetchone()[0])


def test_pull_cache_304_update_and_refusal(hub: HubProcess, sync_db: str, token: str, catalog: Path) -> None:
    with SyncClient(catalog, hub.base_url, token) as client:
        first = client.pull_rules()
        current = hub_version(sync_db)
        assert (first.status, first.version, first.error) == ("updated", current, None)
        conn = connect(catalog)
        assert rules_cache.cached_rules(conn) is not None
        assert client.pull_rules().status == "unchanged"  # If-None-Match → 304

        tuned = packaged()
        tuned["mmr"]["lambda"] = 0.42
        with psycopg.connect(sync_db) as pg:
            good_version, _ = publish_rules(pg, tuned, source="test")
        updated = client.pull_rules()
        assert (updated.status, updated.version) == ("updated", good_version)
        assert rules_cache.cached_rules(conn) == parse_rules(tuned)

        broken = packaged()
        broken["score"]["tempo"]["boost"] = "lots"
        broken["version"] = 99
        with psycopg.connect(sync_db) as pg:
            bad_version, _ = publish_rules(pg, broken, source="test", validate=False)
        refused = client.pull_rules()
        assert refused.status == "refused" and refused.version == good_version
        assert "score.tempo.boost" in (refused.error or "") and "version" in (refused.error or "")
        assert rules_cache.cached_rules(conn) == parse_rules(tuned)  # the last good one stays
        assert rules_cache.refused(conn)["version"] == bad_version
        status = client.status()
        assert status.rules_version == good_version and "score.tempo.boost" in (status.rules_error or "")
        conn.close()

        # A valid version after the bad one is taken again.
        tuned["mmr"]["lambda"] = 0.5
        with psycopg.connect(sync_db) as pg:
            fixed_version, _ = publish_rules(pg, tuned, source="test")
        assert client.pull_rules().status == "updated"
        conn = connect(catalog)
        assert rules_cache.cached_version(conn) == fixed_version and rules_cache.refused(conn) is None
        conn.close()


def test_offline_keeps_the_cache(hub: HubProcess, token: str, catalog: Path) -> None:
    with SyncClient(catalog, hub.base_url, token) as client:
        version = client.pull_rules().version
    dead = f"http://127.0.0.1:{free_port()}"
    with SyncClient(catalog, dead, token, retry_budget=1) as client:
        offline = client.pull_rules()
    assert offline.status == "offline" and offline.version == version and "ConnectError" in (offline.error or "")
    conn = connect(catalog)
    assert rules_cache.cached_rules(conn) is not None
    conn.close()
    with SyncClient(catalog, hub.base_url, "wrong-token") as client:
        refused_token = client.pull_rules()
    assert refused_token.status == "offline" and "401" in (refused_token.error or "")


def test_a_corrupt_cache_falls_back_to_the_packaged_rules(catalog: Path) -> None:
    conn = connect(catalog)
    rules_cache.kv_set(conn, {rules_cache.KEY_DOCUMENT: {"version": 1, "name": "half"}, rules_cache.KEY_VERSION: 7})
    assert rules_cache.cached_rules(conn) is None and rules_cache.cached_version(conn) is None
    assert rules_cache.cached_etag(conn) is None  # so the next pull downloads a full copy
    assert load_default_rules().version == 2  # the packaged default is format 2 (rules_v2.json)
    conn.close()


def test_run_loop_pushes_new_events_and_pulls_rules(
    hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    seen: list[SyncStatus] = []
    stop = threading.Event()
    client = SyncClient(catalog, hub.base_url, token, rules_interval_s=0.5)
    thread = threading.Thread(target=client.run, args=(stop,), kwargs={"on_status": seen.append, "poll_s": 0.1})
    thread.start()
    try:
        ids = add_events(catalog, 50)
        deadline = time.monotonic() + 30
        while len(server_events(sync_db, user)) < 50 and time.monotonic() < deadline:
            time.sleep(0.1)
        ids += add_events(catalog, 25)
        while len(server_events(sync_db, user)) < 75 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert set(server_events(sync_db, user)) == set(ids)
        first_check = seen[0].rules_checked_at
        while time.monotonic() < deadline and (seen[-1].rules_checked_at or 0) <= (first_check or 0):
            time.sleep(0.1)  # the rules are pulled again after rules_interval_s
    finally:
        stop.set()
        thread.join(timeout=10)
        client.close()
    assert not thread.is_alive()
    assert seen[-1].rules_checked_at > first_check
    assert seen[-1].state == "synced" and seen[-1].rules_version == hub_version(sync_db)
