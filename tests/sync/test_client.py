"""SyncClient against a real hub: round trips, gzip batches, auth, refused rows, status."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from companion.library.db import connect
from companion.library.events import enqueue
from companion.sync.client import SyncClient, SyncError
from companion.sync.outbox import PARKED_AT
from companion.sync.status import sync_status
from samplemind_hub.testing import HubProcess, free_port
from tests.sync.conftest import (
    add_embeddings,
    add_events,
    outbox_size,
    server_embeddings,
    server_events,
)


class RecordingTransport(httpx.HTTPTransport):
    """The real HTTP transport, remembering what each request carried."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path, dict(request.headers), request.read()))
        return super().handle_request(request)


def test_push_round_trip_in_gzip_batches(hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path) -> None:
    event_ids = add_events(catalog, 1200)
    vectors = add_embeddings(catalog, 150)
    transport = RecordingTransport()
    with SyncClient(
        catalog, hub.base_url, token, batch_size=500, embedding_batch_size=100, transport=transport
    ) as client:
        result = client.push_once()
        assert (result.sent_events, result.sent_embeddings, result.remaining, result.error) == (1200, 150, 0, None)
        assert outbox_size(catalog) == 0

        sizes = []
        for method, path, headers, body in transport.requests:
            assert headers["content-encoding"] == "gzip" and headers["authorization"] == f"Bearer {token}"
            doc = json.loads(gzip.decompress(body))
            sizes.append((method, path, len(doc.get("events", doc.get("items", [])))))
            assert len(body) < len(gzip.decompress(body))
        assert sizes == [("POST", "/api/v1/telemetry/recommendations", 500)] * 2 + [
            ("POST", "/api/v1/telemetry/recommendations", 200),
            ("PUT", "/api/v1/embeddings", 100),
            ("PUT", "/api/v1/embeddings", 50),
        ]

        stored = server_events(sync_db, user)
        assert set(stored) == set(event_ids) and set(stored.values()) == {1}
        uploaded = server_embeddings(sync_db, user)
        assert set(uploaded) == set(vectors)
        for content_hash, vec in vectors.items():
            np.testing.assert_array_equal(uploaded[content_hash], vec)

        transport.requests.clear()
        again = client.push_once()
        assert (again.sent_events, again.sent_embeddings, again.remaining) == (0, 0, 0)
        assert transport.requests == []
        status = client.status()
        assert status.state == "synced" and status.last_success_at is not None
        assert status.queued_events == 0 and status.consecutive_failures == 0


def test_a_refused_token_leaves_the_outbox_alone(hub: HubProcess, catalog: Path) -> None:
    add_events(catalog, 20)
    with SyncClient(catalog, hub.base_url, "not-a-token", retry_budget=3) as client:
        result = client.push_once()
    assert result.sent_events == 0 and result.remaining == 20
    assert "refused the token (401)" in (result.error or "")
    conn = connect(catalog)
    assert conn.execute("SELECT max(attempts) FROM outbox").fetchone()[0] == 0
    status = sync_status(conn)
    assert status.consecutive_failures == 1 and "RECS_SYNC_TOKEN" in (status.last_error or "")
    conn.close()


def test_missing_configuration_is_a_clear_error(catalog: Path) -> None:
    with pytest.raises(SyncError, match="RECS_SYNC_URL"):
        SyncClient(catalog, "", "token")
    with pytest.raises(SyncError, match="RECS_SYNC_TOKEN"):
        SyncClient(catalog, "http://127.0.0.1:9", "")


def test_rows_the_hub_refuses_are_parked_not_lost(
    hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    good = add_events(catalog, 6)
    conn = connect(catalog)
    bad_event = {
        "event_id": "f" * 32,
        "type": "teleport",
        "sample_content_hash": None,
        "session_id": "s",
        "context": {},
        "metadata": {},
        "created_at": time.time(),
    }
    enqueue(conn, "event", bad_event["event_id"], bad_event)
    good += add_events(catalog, 4)
    bad_vector = {
        "content_hash": "a" * 32,
        "space": "fingerprint/v1",
        "dim": 3,
        "vector": [float("nan"), 1.0, 0.0],
        "metadata": {},
    }
    enqueue(conn, "embedding", "fingerprint/v1:" + "a" * 32 + ":nan", bad_vector)
    conn.execute(
        "INSERT INTO outbox (kind, idempotency_key, payload_json, created_at) VALUES"
        " ('event', 'corrupt-row', '{not json', 0)"
    )
    conn.close()

    with SyncClient(catalog, hub.base_url, token) as client:
        result = client.push_once()
        assert (result.sent_events, result.sent_embeddings, result.remaining, result.parked) == (10, 0, 0, 2)
        assert result.error is None
        assert set(server_events(sync_db, user)) == set(good)
        status = client.status()
        assert status.parked == 3 and status.state == "synced"
        conn = connect(catalog)
        errors = dict(
            conn.execute(
                "SELECT idempotency_key, last_error FROM outbox WHERE next_attempt_at >= ?", (PARKED_AT,)
            ).fetchall()
        )
        conn.close()
        assert "type" in errors["f" * 32] and "422" in errors["f" * 32]
        assert "NaN" in errors["fingerprint/v1:" + "a" * 32 + ":nan"]
        assert errors["corrupt-row"].startswith("corrupt payload JSON")
        assert client.retry_parked() == 3
        assert client.status().queued_events == 2 and client.status().parked == 0


def test_failures_schedule_a_backoff_that_survives_a_restart(
    hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    ids = add_events(catalog, 30)
    dead = f"http://127.0.0.1:{free_port()}"
    start = time.time()
    with SyncClient(catalog, dead, token, retry_budget=2, batch_size=10, seed=1) as client:
        result = client.push_once()
    assert result.remaining == 30 and "ConnectError" in (result.error or "") and "budget of 2" in result.error
    conn = connect(catalog)
    attempts = [r[0] for r in conn.execute("SELECT attempts FROM outbox ORDER BY id").fetchall()]
    conn.close()
    assert attempts == [1] * 10 + [0] * 20  # the first batch carries the failed attempt

    with SyncClient(catalog, dead, token) as restarted:  # a new process reads the same state
        status = restarted.status()
    assert status.state == "retrying" and status.consecutive_failures == 1
    assert status.next_attempt_at is not None and status.next_attempt_at >= start
    assert status.last_error_at is not None and status.last_error_at >= start

    with SyncClient(catalog, hub.base_url, token) as client:
        assert client.push_once().sent_events == 30
        status = client.status()
    assert status.consecutive_failures == 0 and status.next_attempt_at is None and status.state == "synced"
    assert set(server_events(sync_db, user)) == set(ids)


def test_vectors_are_read_at_send_time_and_gone_ones_dropped(
    hub: HubProcess, sync_db: str, token: str, user: str, catalog: Path
) -> None:
    vectors = add_embeddings(catalog, 5, seed=3)
    conn = connect(catalog)
    outbox_vector = conn.execute("SELECT payload_json FROM outbox LIMIT 1").fetchone()[0]
    assert "vector" not in json.loads(outbox_vector)  # the outbox holds no copy of the vector
    gone = min(vectors)
    conn.execute("DELETE FROM embeddings WHERE content_hash = ?", (gone,))
    conn.close()
    with SyncClient(catalog, hub.base_url, token) as client:
        result = client.push_once()
    assert (result.sent_embeddings, result.remaining, result.parked) == (4, 0, 0)
    assert outbox_size(catalog) == 0
    assert set(server_embeddings(sync_db, user)) == set(vectors) - {gone}
