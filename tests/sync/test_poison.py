"""One row the hub fails on (a real 500 from a real PostgreSQL error) never blocks the outbox:
the client narrows the batch down to it, parks it with the hub's answer and sends the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from companion.sync.backoff import Backoff
from companion.sync.client import SyncClient
from samplemind_hub.testing import HubProcess
from tests.sync.conftest import add_events, outbox_size, server_events


class CountingTransport(httpx.HTTPTransport):
    """The real HTTP transport, counting requests and answers by status."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.statuses.append(response.status_code)
        return response


@contextmanager
def failing_inserts(database_url: str, condition: str) -> Iterator[None]:
    """A trigger that makes PostgreSQL raise on inserted telemetry rows matching ``condition``
    (SQL over ``NEW``): the hub's insert fails and it answers 500, as with any bug on one row."""
    name = f"poison_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF {condition} THEN RAISE EXCEPTION 'poison row %', NEW.event_id; END IF;"
            " RETURN NEW; END $$"
        )
        conn.execute(f"CREATE TRIGGER {name} BEFORE INSERT ON telemetry_events FOR EACH ROW EXECUTE FUNCTION {name}()")
        try:
            yield
        finally:
            conn.execute(f"DROP TRIGGER {name} ON telemetry_events")
            conn.execute(f"DROP FUNCTION {name}()")


def test_poison_rows_are_parked_and_the_rest_is_sent(
    hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    ids = add_events(catalog, 60)
    poison = {ids[7], ids[44]}
    transport = CountingTransport()
    with failing_inserts(sync_db, "NEW.event_id IN (" + ", ".join(f"'{i}'" for i in sorted(poison)) + ")"):
        with SyncClient(
            catalog,
            hub.base_url,
            token,
            batch_size=20,
            retry_budget=2,
            poison_tries=3,
            backoff=Backoff(0.01, 0.05),
            transport=transport,
            seed=1,
        ) as client:
            result = client.push_once()
            status = client.status()
    assert (result.sent_events, result.parked, result.remaining, result.error) == (58, 2, 0, None)
    assert set(server_events(sync_db, user)) == set(ids) - poison  # the rest arrived, once
    assert status.parked == 2 and status.state == "synced"
    assert transport.statuses.count(500) <= 2 * (2 * 5 + 3)  # bounded: two bisections of 20 rows
    assert outbox_size(catalog) == 2

    env = {k: v for k, v in os.environ.items() if not k.startswith("RECS_")}
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from companion.cli.main import main; main()",
            "sync",
            "status",
            "--json",
            "--library-db",
            str(catalog),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    parked = {row["key"]: row["error"] for row in json.loads(shown.stdout)["parked_rows"]}
    assert set(parked) == poison
    assert all("HTTP 500" in why and "3 times for this row alone" in why for why in parked.values()), parked

    # Fixed on the hub's side, --retry-parked sends them.
    with SyncClient(catalog, hub.base_url, token) as client:
        assert client.retry_parked() == 2
        assert client.push_once().sent_events == 2
    assert set(server_events(sync_db, user)) == set(ids)


def test_a_hub_failing_on_everything_parks_nothing(
    hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    ids = add_events(catalog, 40)
    transport = CountingTransport()
    with psycopg.connect(sync_db) as conn:
        user_id = conn.execute("SELECT id FROM users WHERE name = %s", (user,)).fetchone()[0]
    with failing_inserts(sync_db, f"NEW.user_id = '{user_id}'"):
        with SyncClient(
            catalog,
            hub.base_url,
            token,
            batch_size=20,
            poison_tries=3,
            backoff=Backoff(0.01, 0.05),
            transport=transport,
            seed=2,
        ) as client:
            result = client.push_once()
    assert result.parked == 0 and result.sent_events == 0 and result.remaining == 40
    assert "fails on everything" in (result.error or "")
    assert len(transport.statuses) <= 2 * 5 + 2 * 3  # the batch and its halves twice, two rows alone
    with SyncClient(catalog, hub.base_url, token) as client:  # the hub works again: all of it goes
        assert client.push_once().sent_events == 40
    assert set(server_events(sync_db, user)) == set(ids)
