"""PUT /api/v1/embeddings, coverage and cosine search against the real hub and pgvector."""

from __future__ import annotations

import json

import httpx
import numpy as np
import psycopg
import pytest

from samplemind_hub.testing import HubProcess
from tests.hub.conftest import Users, auth, hex_hash

PATH = "/api/v1/embeddings"


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """(n, dim) float32, L2-normalised."""
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def items(vectors: np.ndarray, space: str, salt: str) -> list[dict]:
    return [
        {
            "content_hash": hex_hash(i, salt),
            "space": space,
            "dim": int(vectors.shape[1]),
            "vector": [float(x) for x in v],
            "metadata": {"kind": "loop", "bpm": 120.0 + i},
        }
        for i, v in enumerate(vectors)
    ]


def test_upsert_is_idempotent_and_stores_exact_float32(hub: HubProcess, hub_db: str, users: Users) -> None:
    token = users.token("alice")
    vectors = unit_vectors(40, 16, seed=1)
    batch = items(vectors, "upsert-test/v1", "a")
    r = httpx.put(f"{hub.base_url}{PATH}", headers=auth(token), json={"items": batch})
    assert r.json() == {"received": 40, "upserted": 40, "unchanged": 0}
    r = httpx.put(f"{hub.base_url}{PATH}", headers=auth(token), json={"items": batch})
    assert r.json() == {"received": 40, "upserted": 0, "unchanged": 40}
    changed = [dict(batch[3], vector=[float(x) for x in unit_vectors(1, 16, seed=9)[0]])]
    r = httpx.put(f"{hub.base_url}{PATH}", headers=auth(token), json={"items": changed})
    assert r.json() == {"received": 1, "upserted": 1, "unchanged": 0}

    with psycopg.connect(hub_db) as conn:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        rows = dict(
            conn.execute(
                "SELECT e.content_hash, e.embedding FROM embeddings e JOIN embedding_spaces s ON s.id = e.space_id"
                " WHERE s.name = 'upsert-test/v1'"
            ).fetchall()
        )
        meta = conn.execute(
            "SELECT metadata FROM samples WHERE content_hash = %s", (batch[5]["content_hash"],)
        ).fetchone()[0]
    assert len(rows) == 40
    np.testing.assert_array_equal(rows[batch[0]["content_hash"]].to_numpy(), vectors[0])
    np.testing.assert_array_equal(rows[batch[3]["content_hash"]].to_numpy(), unit_vectors(1, 16, seed=9)[0])
    assert meta == {"kind": "loop", "bpm": 125.0}


def test_a_space_keeps_its_dimension(hub: HubProcess, hub_db: str, users: Users) -> None:
    token = users.token("bob")
    url = f"{hub.base_url}{PATH}"
    assert (
        httpx.put(url, headers=auth(token), json={"items": items(unit_vectors(2, 8, 2), "dims/v1", "b")}).status_code
        == 200
    )
    good = items(unit_vectors(3, 8, 3), "dims/v1", "c")
    wrong = items(unit_vectors(1, 12, 4), "dims/v1", "d")
    r = httpx.put(url, headers=auth(token), json={"items": good[:2] + wrong + good[2:]})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "items", 2, "dim"]]
    with psycopg.connect(hub_db) as conn:  # all or nothing: the good items were not stored either
        n = conn.execute(
            "SELECT count(*) FROM embeddings e JOIN embedding_spaces s ON s.id = e.space_id WHERE s.name = 'dims/v1'"
        ).fetchone()[0]
    assert n == 2
    # Uploads never create spaces: an unknown one is refused, item by item, and stays unknown.
    unknown = items(unit_vectors(1, 4, 5), "newspace/v1", "e")
    r = httpx.put(url, headers=auth(token), json={"items": good[:1] + unknown})
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [["body", "items", 1, "space"]]
    assert "samplemind-hub spaces add" in r.json()["detail"][0]["msg"]
    with psycopg.connect(hub_db) as conn:
        assert conn.execute("SELECT count(*) FROM embedding_spaces WHERE name = 'newspace/v1'").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("vector", "dim", "why"),
    [
        ("NaN", 3, "NaN"),
        ("Infinity", 3, "infinite"),
        (0.0, 3, "zeros"),
        (1.0, 4, "dim is 4"),
    ],
)
def test_non_finite_zero_and_mislabelled_vectors_get_422(
    hub: HubProcess, users: Users, vector: object, dim: int, why: str
) -> None:
    token = users.token("carol")
    values = f"[{vector}, {vector}, {vector}]"
    body = (
        f'{{"items": [{{"content_hash": "{hex_hash(1, "x")}", "space": "bad/v1", "dim": {dim}, "vector": {values}}}]}}'
    )
    r = httpx.put(f"{hub.base_url}{PATH}", headers={**auth(token), "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"][:3] == ["body", "items", 0]
    assert why in json.dumps(detail)


def test_bad_space_names_and_hashes(hub: HubProcess, users: Users) -> None:
    token = users.token("dora")
    base = items(unit_vectors(1, 4, 7), "fine/v1", "g")[0]
    for change in ({"space": "no-version"}, {"space": "a/b/c"}, {"content_hash": "XYZ"}, {"dim": 0}):
        r = httpx.put(f"{hub.base_url}{PATH}", headers=auth(token), json={"items": [{**base, **change}]})
        assert r.status_code == 422, change


def test_coverage_per_space(hub: HubProcess, users: Users) -> None:
    token = users.token("erin")
    url = f"{hub.base_url}{PATH}"
    httpx.put(url, headers=auth(token), json={"items": items(unit_vectors(6, 8, 8), "cov-a/v1", "cov")})
    httpx.put(url, headers=auth(token), json={"items": items(unit_vectors(3, 4, 9), "cov-b/v1", "cov")})
    events = [
        {
            "event_id": f"{i:032x}",
            "type": "view",
            "session_id": "s",
            "created_at": 1.7e9,
            "sample_content_hash": hex_hash(100 + i, "cov"),
        }
        for i in range(2)
    ]
    httpx.post(f"{hub.base_url}/api/v1/telemetry/recommendations", headers=auth(token), json={"events": events})
    status = httpx.get(f"{hub.base_url}/api/v1/vectors/status", headers=auth(token)).json()
    assert status["samples"] == 8
    by_space = {s["space"]: s for s in status["spaces"]}
    assert by_space["cov-a/v1"]["embeddings"] == 6 and by_space["cov-a/v1"]["coverage"] == 0.75
    assert by_space["cov-b/v1"]["embeddings"] == 3 and by_space["cov-b/v1"]["coverage"] == 0.375
    assert by_space["cov-a/v1"]["index"].startswith("embeddings_hnsw_space_")


def test_search_matches_brute_force_and_falls_back_to_exact(hub: HubProcess, hub_db: str, users: Users) -> None:
    """A user's 150 vectors among another user's 3000: the HNSW candidates (ef_search 64) are
    mostly the other user's, so the hub answers again exactly: the brute-force top 10."""
    crowd, mine = users.token("crowd"), users.token("me")
    url = f"{hub.base_url}{PATH}"
    crowd_vectors = unit_vectors(3000, 32, seed=10)
    for start in range(0, 3000, 1000):
        r = httpx.put(
            url,
            headers=auth(crowd),
            json={"items": items(crowd_vectors[start : start + 1000], "search/v1", f"crowd{start}")},
        )
        assert r.status_code == 200
    my_vectors = unit_vectors(150, 32, seed=11)
    my_items = items(my_vectors, "search/v1", "mine")
    assert httpx.put(url, headers=auth(mine), json={"items": my_items}).status_code == 200
    with psycopg.connect(hub_db, autocommit=True) as conn:
        conn.execute("ANALYZE embeddings")  # as autovacuum would: the planner then picks HNSW

    query = unit_vectors(1, 32, seed=12)[0]
    expected = np.argsort(-(my_vectors @ query))[:10]
    r = httpx.post(
        f"{hub.base_url}/api/v1/vectors/search",
        headers=auth(mine),
        json={"space": "search/v1", "vector": query.tolist(), "k": 10},
    )
    body = r.json()
    assert [h["content_hash"] for h in body["hits"]] == [my_items[i]["content_hash"] for i in expected]
    assert body["exact"] is True
    np.testing.assert_allclose([h["similarity"] for h in body["hits"]], (my_vectors @ query)[expected], atol=1e-5)
    assert body["hits"][0]["metadata"]["kind"] == "loop"

    # The crowd's own query is answered by the index (its rows fill the candidate list).
    r = httpx.post(
        f"{hub.base_url}/api/v1/vectors/search",
        headers=auth(crowd),
        json={"space": "search/v1", "vector": crowd_vectors[5].tolist(), "k": 10, "exclude": [hex_hash(0, "crowd0")]},
    )
    body = r.json()
    assert body["exact"] is False and len(body["hits"]) == 10
    assert body["hits"][0]["content_hash"] == hex_hash(5, "crowd0")
    assert hex_hash(0, "crowd0") not in {h["content_hash"] for h in body["hits"]}

    # The plan really uses the space's HNSW index.
    with psycopg.connect(hub_db) as conn:
        space_id = conn.execute("SELECT id FROM embedding_spaces WHERE name = 'search/v1'").fetchone()[0]
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                f"EXPLAIN SELECT content_hash FROM embeddings WHERE space_id = {space_id}"
                f" ORDER BY embedding::vector(32) <=> '{json.dumps(query.tolist())}' LIMIT 10"
            ).fetchall()
        )
    assert f"embeddings_hnsw_space_{space_id}" in plan

    r = httpx.post(
        f"{hub.base_url}/api/v1/vectors/search",
        headers=auth(mine),
        json={"space": "search/v1", "vector": [1.0, 0.0], "k": 10},
    )
    assert r.status_code == 422
