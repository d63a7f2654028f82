"""Auth against the real hub: no token, wrong token, revoked device, another user's data."""

from __future__ import annotations

import uuid

import httpx
import jwt
import numpy as np
import psycopg

from samplemind_hub.auth import create_device, issue_token, revoke_device
from samplemind_hub.testing import HubProcess
from tests.hub.conftest import Users, auth, hex_hash

EVENT = {"event_id": "0" * 32, "type": "view", "session_id": "s", "created_at": 1.7e9}


def _event(i: int, salt: str) -> dict:
    return {**EVENT, "event_id": uuid.uuid5(uuid.NAMESPACE_OID, f"{salt}{i}").hex}


def _guarded_routes(hub: HubProcess) -> list[tuple[str, str]]:
    spec = httpx.get(f"{hub.base_url}/openapi.json").json()
    routes = [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]
    assert ("GET", "/api/v1/health") in routes
    return [r for r in routes if r[1] != "/api/v1/health"]


def test_every_endpoint_but_health_needs_a_token(hub: HubProcess) -> None:
    routes = _guarded_routes(hub)
    assert {
        ("POST", "/api/v1/telemetry/recommendations"),
        ("PUT", "/api/v1/embeddings"),
        ("GET", "/api/v1/recommendations/rules"),
        ("GET", "/api/v1/vectors/status"),
        ("GET", "/metrics"),
    } <= set(routes)
    for method, path in routes:
        r = httpx.request(method, f"{hub.base_url}{path}", json={})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{hub.base_url}/api/v1/health").status_code == 200


def test_wrong_tokens_are_refused(hub: HubProcess, hub_db: str, users: Users) -> None:
    good = users.token("alice")
    claims = jwt.decode(good, options={"verify_signature": False})
    with psycopg.connect(hub_db) as conn:
        secret = conn.execute("SELECT value FROM hub_secrets").fetchone()[0]
    forged = jwt.encode(claims, "not-the-hub-key-but-a-long-enough-one-for-hs256", algorithm="HS256")
    expired = issue_token(secret, uuid.UUID(claims["sub"]), uuid.UUID(claims["dev"]), expires_in_s=-10)
    other_issuer = jwt.encode({**claims, "iss": "someone-else"}, secret, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for bad in (forged, expired, other_issuer, unsigned, "garbage", good[:-4] + "AAAA"):
        r = httpx.get(f"{hub.base_url}/api/v1/vectors/status", headers=auth(bad))
        assert r.status_code == 401, bad
    r = httpx.get(f"{hub.base_url}/api/v1/vectors/status", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 401
    assert httpx.get(f"{hub.base_url}/api/v1/vectors/status", headers=auth(good)).status_code == 200


def test_revoked_device_is_refused_at_once(hub: HubProcess, hub_db: str, users: Users) -> None:
    token = users.token("bob", "studio")
    url = f"{hub.base_url}/api/v1/vectors/status"
    assert httpx.get(url, headers=auth(token)).status_code == 200
    with psycopg.connect(hub_db) as conn:
        assert revoke_device(conn, f"{users.prefix}-bob", "studio")
    r = httpx.get(url, headers=auth(token))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    # A new token for the same device name works; the old one stays dead.
    fresh = users.token("bob", "studio")
    assert httpx.get(url, headers=auth(fresh)).status_code == 200
    assert httpx.get(url, headers=auth(token)).status_code == 401


def test_token_of_an_unknown_device_is_refused(hub: HubProcess, hub_db: str) -> None:
    with psycopg.connect(hub_db) as conn:
        secret = conn.execute("SELECT value FROM hub_secrets").fetchone()[0]
        user_id, _ = create_device(conn, "ghost-owner", "real-device")
    token = issue_token(secret, user_id, uuid.uuid4())
    r = httpx.get(f"{hub.base_url}/api/v1/vectors/status", headers=auth(token))
    assert r.status_code == 401 and "unknown device" in r.json()["detail"]


def test_metrics_token_reads_metrics_only(hub: HubProcess, users: Users) -> None:
    token = users.token("ops", "prometheus", scope="metrics")
    r = httpx.get(f"{hub.base_url}/metrics", headers=auth(token))
    assert r.status_code == 200 and "hub_http_requests_total" in r.text
    r = httpx.post(
        f"{hub.base_url}/api/v1/telemetry/recommendations", headers=auth(token), json={"events": [_event(0, "ops")]}
    )
    assert r.status_code == 403


def test_a_token_never_sees_another_users_data(hub: HubProcess, hub_db: str, users: Users) -> None:
    alice, bob = users.token("alice"), users.token("bob")
    base = hub.base_url
    events = [_event(i, "shared") for i in range(5)]
    # The same event ids from two users are two users' events, stored apart.
    for token in (alice, bob):
        r = httpx.post(f"{base}/api/v1/telemetry/recommendations", headers=auth(token), json={"events": events})
        assert r.json() == {"received": 5, "accepted": 5, "duplicates": 0}
    rng = np.random.default_rng(0)
    alice_items = [
        {
            "content_hash": hex_hash(i, "alice"),
            "space": "authtest/v1",
            "dim": 8,
            "vector": rng.standard_normal(8).tolist(),
            "metadata": {"kind": "loop"},
        }
        for i in range(6)
    ]
    assert httpx.put(f"{base}/api/v1/embeddings", headers=auth(alice), json={"items": alice_items}).status_code == 200

    status_bob = httpx.get(f"{base}/api/v1/vectors/status", headers=auth(bob)).json()
    assert status_bob["spaces"] == [] and status_bob["samples"] == 0
    status_alice = httpx.get(f"{base}/api/v1/vectors/status", headers=auth(alice)).json()
    assert status_alice["spaces"][0]["embeddings"] == 6

    query = {"space": "authtest/v1", "vector": alice_items[0]["vector"], "k": 5}
    assert httpx.post(f"{base}/api/v1/vectors/search", headers=auth(bob), json=query).status_code == 404
    hits = httpx.post(f"{base}/api/v1/vectors/search", headers=auth(alice), json=query).json()["hits"]
    assert hits[0]["content_hash"] == alice_items[0]["content_hash"]

    # Bob uploading a vector for Alice's sample hash creates Bob's own row, never touches hers.
    bob_item = {**alice_items[0], "vector": rng.standard_normal(8).tolist()}
    r = httpx.put(f"{base}/api/v1/embeddings", headers=auth(bob), json={"items": [bob_item]})
    assert r.json()["upserted"] == 1
    hits = httpx.post(f"{base}/api/v1/vectors/search", headers=auth(alice), json=query).json()["hits"]
    assert hits[0]["similarity"] > 0.9999
    with psycopg.connect(hub_db) as conn:
        per_user = dict(
            conn.execute(
                "SELECT u.name, count(*) FROM telemetry_events t JOIN users u ON u.id = t.user_id"
                " WHERE u.name LIKE %s GROUP BY u.name",
                (f"{users.prefix}-%",),
            ).fetchall()
        )
    assert per_user == {f"{users.prefix}-alice": 5, f"{users.prefix}-bob": 5}
