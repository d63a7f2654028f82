"""POST /api/v1/telemetry/recommendations against the real hub and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import uuid

import httpx
import psycopg
import pytest

from samplemind_hub.testing import HubProcess
from tests.hub.conftest import Users, auth, hex_hash

PATH = "/api/v1/telemetry/recommendations"


def make_events(n: int, *, types: tuple[str, ...] = ("view", "preview", "accept", "skip")) -> list[dict]:
    return [
        {
            "event_id": uuid.uuid4().hex,
            "type": types[i % len(types)],
            "sample_content_hash": hex_hash(i % 7),
            "session_id": "session-1",
            "context": {"bpm": 120 + i % 5, "key": "A minor"},
            "metadata": {"rank": i % 10, "score": 0.5 + (i % 10) / 100, "source": "fingerprint"},
            "created_at": 1.76e9 + i,
        }
        for i in range(n)
    ]


def stored(hub_db: str, user: str) -> dict[str, tuple[str, int]]:
    """event_id -> (type, deliveries) of one user's stored events."""
    with psycopg.connect(hub_db) as conn:
        rows = conn.execute(
            "SELECT t.event_id, t.type, t.deliveries FROM telemetry_events t JOIN users u"
            " ON u.id = t.user_id WHERE u.name = %s",
            (user,),
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_batch_round_trip_and_the_same_batch_twice(hub: HubProcess, hub_db: str, users: Users) -> None:
    token = users.token("alice")
    events = make_events(300)
    body = gzip.compress(json.dumps({"events": events}).encode())
    headers = {**auth(token), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    first = httpx.post(f"{hub.base_url}{PATH}", headers=headers, content=body)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 300, "accepted": 300, "duplicates": 0}
    second = httpx.post(f"{hub.base_url}{PATH}", headers=headers, content=body)
    assert second.json() == {"received": 300, "accepted": 0, "duplicates": 300}

    rows = stored(hub_db, f"{users.prefix}-alice")
    assert set(rows) == {e["event_id"] for e in events}
    assert all(deliveries == 2 for _, deliveries in rows.values())
    assert {rows[e["event_id"]][0] for e in events} == {"view", "preview", "accept", "skip"}


def test_stored_fields_match_what_was_sent(hub: HubProcess, hub_db: str, users: Users) -> None:
    token = users.token("carol")
    event = make_events(1)[0]
    r = httpx.post(f"{hub.base_url}{PATH}", headers=auth(token), json={"events": [event]})
    assert r.status_code == 200
    with psycopg.connect(hub_db) as conn:
        row = conn.execute(
            "SELECT type, sample_content_hash, session_id, context, metadata,"
            " extract(epoch FROM created_at), device_id IS NOT NULL FROM telemetry_events"
            " WHERE event_id = %s",
            (event["event_id"],),
        ).fetchone()
        sample = conn.execute(
            "SELECT count(*) FROM samples WHERE content_hash = %s", (event["sample_content_hash"],)
        ).fetchone()[0]
    assert row[:5] == (
        event["type"],
        event["sample_content_hash"],
        event["session_id"],
        event["context"],
        event["metadata"],
    )
    assert float(row[5]) == pytest.approx(event["created_at"])
    assert row[6] is True and sample >= 1


def test_partial_overlap_and_repeats_inside_one_batch(hub: HubProcess, hub_db: str, users: Users) -> None:
    token = users.token("dave")
    events = make_events(10)
    assert httpx.post(f"{hub.base_url}{PATH}", headers=auth(token), json={"events": events[:4]}).status_code == 200
    batch = events[2:] + events[5:7]  # 2 already stored, 2 repeated inside the batch
    r = httpx.post(f"{hub.base_url}{PATH}", headers=auth(token), json={"events": batch})
    assert r.json() == {"received": 10, "accepted": 6, "duplicates": 4}
    assert len(stored(hub_db, f"{users.prefix}-dave")) == 10


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"type": "teleport"}, "type"),
        ({"event_id": "short"}, "event_id"),
        ({"session_id": ""}, "session_id"),
        ({"sample_content_hash": "not-hex!"}, "sample_content_hash"),
        ({"created_at": -5}, "created_at"),
        ({"context": {"bpm": float("nan")}}, "context"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"session_id": "a\x00b"}, "session_id"),
    ],
)
def test_bad_events_are_refused_with_422_naming_them(
    hub: HubProcess, hub_db: str, users: Users, change: dict, where: str
) -> None:
    token = users.token("erin")
    events = make_events(3)
    events[1] = {**events[1], **change}
    body = json.dumps({"events": events})  # allow_nan: NaN reaches the hub as the literal NaN
    r = httpx.post(f"{hub.base_url}{PATH}", headers={**auth(token), "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
    locs = [err["loc"] for err in r.json()["detail"]]
    assert any(loc[:3] == ["body", "events", 1] and where in loc for loc in locs), locs
    assert stored(hub_db, f"{users.prefix}-erin") == {}  # nothing of a refused batch is stored


def test_bad_bodies(hub: HubProcess, users: Users) -> None:
    token = users.token("frank")
    url = f"{hub.base_url}{PATH}"
    assert httpx.post(url, headers=auth(token), json={"events": []}).status_code == 422
    assert httpx.post(url, headers=auth(token), json={"nope": 1}).status_code == 422
    r = httpx.post(url, headers={**auth(token), "Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 422
    r = httpx.post(
        url,
        headers={**auth(token), "Content-Encoding": "gzip", "Content-Type": "application/json"},
        content=b"plainly not gzip",
    )
    assert r.status_code == 400
    r = httpx.post(
        url, headers={**auth(token), "Content-Encoding": "br", "Content-Type": "application/json"}, content=b"{}"
    )
    assert r.status_code == 415


def test_limits_batch_size_and_gzip_bomb(hub: HubProcess, users: Users) -> None:
    token = users.token("gina")
    url = f"{hub.base_url}{PATH}"
    r = httpx.post(url, headers=auth(token), json={"events": make_events(1001)})  # HUB_MAX_BATCH=1000
    assert r.status_code == 413
    bomb = gzip.compress(b'{"events": [' + b" " * (5 * 1024 * 1024) + b"]}")  # 5 MiB > 4 MiB limit
    assert len(bomb) < 20_000
    r = httpx.post(
        url, headers={**auth(token), "Content-Encoding": "gzip", "Content-Type": "application/json"}, content=bomb
    )
    assert r.status_code == 413


def test_metrics_count_accepted_and_duplicate_events(hub: HubProcess, users: Users) -> None:
    token = users.token("hank")
    metrics_token = users.token("ops", "prometheus", scope="metrics")

    def counter(outcome: str) -> float:
        text = httpx.get(f"{hub.base_url}/metrics", headers=auth(metrics_token)).text
        line = next(
            ln for ln in text.splitlines() if ln.startswith(f'hub_telemetry_events_total{{outcome="{outcome}"}}')
        )
        return float(line.split()[-1])

    events = make_events(7)
    httpx.post(f"{hub.base_url}{PATH}", headers=auth(token), json={"events": events})
    before = counter("accepted"), counter("duplicate")
    httpx.post(f"{hub.base_url}{PATH}", headers=auth(token), json={"events": events + make_events(2)})
    after = counter("accepted"), counter("duplicate")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 7)
