"""The hub against hostile input: huge and gzip-bomb bodies with and without a token (peak RSS of
the hub process), values at the float32 edges, tenants probing each other through space names,
and device tokens reading /metrics. Real hub processes on a real PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samplemind_hub.guard import EMBEDDING_BYTES, EVENT_BYTES
from samplemind_hub.schemas import MAX_NORM, MIN_NORM
from samplemind_hub.testing import HubProcess
from tests.hub.conftest import Users, auth, hex_hash

MiB = 1024 * 1024
HOSTILE_BYTES = 256 * MiB
EVENTS = "/api/v1/telemetry/recommendations"
EMBEDDINGS = "/api/v1/embeddings"
SEARCH = "/api/v1/vectors/search"


@pytest.fixture(scope="module")
def default_hub(hub_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub with the default body caps (HUB_MAX_BATCH 5000) and /metrics open to device tokens."""
    proc = HubProcess(
        hub_db, tmp_path_factory.mktemp("default-hub") / "hub.log", env={"HUB_METRICS_DEVICE_TOKENS": "true"}
    )
    proc.start()
    yield proc
    proc.stop()


def peak_rss(pid: int) -> int:
    """Peak resident set size of a process so far (VmHWM, bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def zeros(total: int, piece: int = MiB) -> Iterator[bytes]:
    block = b"0" * piece
    for _ in range(total // piece):
        yield block


def chunked(total: int) -> Iterator[bytes]:
    for block in zeros(total):
        yield b"%x\r\n" % len(block) + block + b"\r\n"
    yield b"0\r\n\r\n"


def gzip_bomb(total: int) -> bytes:
    """A gzip stream that inflates to ``total`` bytes of spaces (≈ 1/1000 of that compressed)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [z.compress(b" " * MiB) for _ in range(total // MiB)]
    return b"".join(out) + z.flush()


def send_raw(
    port: int, path: str, headers: dict[str, str], body: Iterator[bytes] | bytes, timeout_s: float = 60.0
) -> tuple[int | None, int]:
    """Send a request over a plain socket, body streamed, while a thread reads the answer.

    Returns:
        (HTTP status or None when the hub closed without one, body bytes written before the
        answer came or the hub closed the connection).
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    method = "PUT" if path == EMBEDDINGS else "POST"
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    answer: dict[str, int | None] = {}

    def read() -> None:
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        answer["status"] = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None

    reader = threading.Thread(target=read)
    sent = 0
    try:
        sock.sendall(head.encode())
        reader.start()
        for piece in [body] if isinstance(body, bytes) else body:
            if "status" in answer:
                break
            sock.sendall(piece)
            sent += len(piece)
    except OSError:
        pass  # the hub answered and closed while we were still sending
    reader.join(timeout_s)
    sock.close()
    return answer.get("status"), sent


def hostile_bodies() -> list[tuple[str, dict[str, str], object]]:
    bomb = gzip_bomb(HOSTILE_BYTES)
    return [  # gzip before chunked, so that the peak RSS shows each one's own growth
        ("plain", {"Content-Length": str(HOSTILE_BYTES)}, lambda: zeros(HOSTILE_BYTES)),
        ("gzip-bomb", {"Content-Length": str(len(bomb)), "Content-Encoding": "gzip"}, lambda: bomb),
        ("chunked", {"Transfer-Encoding": "chunked"}, lambda: chunked(HOSTILE_BYTES)),
    ]


def test_hostile_bodies_keep_the_hubs_memory_bounded(default_hub: HubProcess, users: Users) -> None:
    token = users.token("rss")
    pid = default_hub.proc.pid  # type: ignore[union-attr]
    # Warm up every code path once (thread pool, gzip, JSON, the database) before the baseline.
    good = {
        "events": [
            {"event_id": f"{i:032x}", "type": "view", "session_id": "s", "created_at": 1.7e9} for i in range(100)
        ]
    }
    for _ in range(3):
        r = httpx.post(
            f"{default_hub.base_url}{EVENTS}",
            headers={**auth(token), "Content-Encoding": "gzip", "Content-Type": "application/json"},
            content=zlib.compress(json.dumps(good).encode(), wbits=31),
        )
        assert r.status_code == 200, r.text
    bodies = hostile_bodies()
    baseline = peak_rss(pid)
    report = [f"hub baseline peak RSS {baseline / MiB:.1f} MiB"]

    for path in (EVENTS, EMBEDDINGS):  # no token: 401 before a byte of the body is read
        for kind, headers, body in bodies:
            status, sent = send_raw(default_hub.port, path, headers, body())
            assert status == 401, (path, kind, status)
            report.append(
                f"no token  {path} {kind}: {status} after {sent / MiB:.1f} MiB sent, "
                f"peak RSS +{(peak_rss(pid) - baseline) / MiB:.1f} MiB"
            )
    assert peak_rss(pid) - baseline < 8 * MiB, report

    for path, cap in ((EVENTS, 5000 * EVENT_BYTES), (EMBEDDINGS, 5000 * EMBEDDING_BYTES)):
        for kind, headers, body in bodies:
            status, sent = send_raw(default_hub.port, path, {**headers, **auth(token)}, body())
            assert status == 413, (path, kind, status)
            if kind == "plain":  # Content-Length over the cap: refused before reading
                assert sent < 32 * MiB
            report.append(
                f"token     {path} {kind}: {status} after {sent / MiB:.1f} MiB sent, "
                f"peak RSS +{(peak_rss(pid) - baseline) / MiB:.1f} MiB (cap {cap / MiB:.1f} MiB)"
            )
        assert peak_rss(pid) - baseline < 1.25 * cap + 16 * MiB, report
    print("\n".join(report))
    r = httpx.post(f"{default_hub.base_url}{EVENTS}", headers=auth(token), json=good)
    assert r.status_code == 200 and r.json()["duplicates"] == 100  # the hub is fine afterwards


def test_unsupported_encodings_and_truncated_gzip(hub: HubProcess, users: Users) -> None:
    token = users.token("enc")
    url = f"{hub.base_url}{EVENTS}"
    r = httpx.post(url, headers={**auth(token), "Content-Encoding": "br"}, content=b"{}")
    assert r.status_code == 415
    body = zlib.compress(b'{"events": []}', wbits=31)
    r = httpx.post(url, headers={**auth(token), "Content-Encoding": "gzip"}, content=body[:-6])
    assert r.status_code == 400 and "truncated" in r.text
    r = httpx.post(url, headers={**auth(token), "Content-Encoding": "gzip"}, content=b"not gzip at all")
    assert r.status_code == 400
    r = httpx.post(url, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all")
    assert r.status_code == 401  # the token first, whatever the body


# -- float32 edges -------------------------------------------------------------------------------


def storable(values: list[float]) -> bool:
    """What the hub must accept: finite as float32, norm (of the float32 values) within bounds."""
    v64 = np.asarray(values, dtype=np.float64)
    if np.isnan(v64).any():
        return False
    with np.errstate(over="ignore"):
        v32 = v64.astype(np.float32)
    if not np.isfinite(v32).all():
        return False
    norm = float(np.linalg.norm(v32.astype(np.float64)))
    return MIN_NORM <= norm <= MAX_NORM


def put_one(base: str, token: str, content_hash: str, values: list[float], space: str = "fuzz/v1") -> httpx.Response:
    item = {"content_hash": content_hash, "space": space, "dim": len(values), "vector": values}
    return httpx.put(
        f"{base}{EMBEDDINGS}",
        headers={**auth(token), "Content-Type": "application/json"},
        content=json.dumps({"items": [item]}),
    )  # json.dumps writes NaN/Infinity as JSON does not


def search(base: str, token: str, values: list[float], space: str = "fuzz/v1", k: int = 5) -> httpx.Response:
    return httpx.post(
        f"{base}{SEARCH}",
        headers={**auth(token), "Content-Type": "application/json"},
        content=json.dumps({"space": space, "vector": values, "k": k}),
    )


def test_the_probes_at_the_float32_edges(hub: HubProcess, users: Users) -> None:
    token = users.token("edges")
    base = hub.base_url
    assert put_one(base, token, hex_hash(0, "edges"), [1.0, 0.5, 0.25, 0.125]).status_code == 200
    for values, why in (
        ([1e39, 1.0, 1.0, 1.0], "infinite as float32"),
        ([1e-50] * 4, "all zeros as float32"),
        ([1e-30] * 4, "norm"),
        ([1e20] * 4, "norm"),
        ([float("nan"), 1.0, 1.0, 1.0], "NaN"),
    ):
        r = put_one(base, token, hex_hash(1, "edges"), values)
        assert r.status_code == 422, (values, r.status_code, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "items", 0, "vector"] and why in r.text, r.text
        r = search(base, token, values)
        assert r.status_code == 422, (values, r.status_code, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "vector"] and why in r.text
    r = search(base, token, [-1e126, 1.0, 1.0, 1.0])
    assert r.status_code == 422 and "infinite as float32" in r.text


EDGES = st.sampled_from(
    [
        0.0,
        -0.0,
        1e-50,
        -1e-50,
        1.4e-45,
        1e-40,
        1.1754942e-38,
        1e-30,
        1e-20,
        1e-16,
        1e-15,
        1e-8,
        1.0,
        -1.0,
        1e15,
        1e19,
        1e20,
        3.4028234e38,
        3.4028235e38,
        3.5e38,
        1e39,
        -1e126,
        1.7976931348623157e308,
        float("inf"),
        float("-inf"),
        float("nan"),
    ]
)
VALUES = st.one_of(EDGES, st.floats(width=64), st.floats(min_value=-10.0, max_value=10.0))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(VALUES, min_size=4, max_size=4))
def test_fuzz_vectors_are_stored_or_refused_never_a_500(hub: HubProcess, users: Users, values: list[float]) -> None:
    token = users.token("fuzz")
    content_hash = hex_hash(abs(hash(tuple(map(repr, values)))) % 10**9, "fuzz")
    r = put_one(hub.base_url, token, content_hash, values)
    if not storable(values):
        assert r.status_code == 422, (values, r.status_code, r.text)
        assert r.json()["detail"][0]["loc"][:3] == ["body", "items", 0]
        r = search(hub.base_url, token, values)
        assert r.status_code == 422, (values, r.status_code, r.text)
        return
    assert r.status_code == 200, (values, r.text)
    r = search(hub.base_url, token, values, k=100)
    assert r.status_code == 200, (values, r.text)
    hits = r.json()["hits"]
    assert all(isinstance(h["similarity"], float) and -1.0 <= h["similarity"] <= 1.0 for h in hits), hits
    mine = {h["content_hash"]: h["similarity"] for h in hits}
    assert mine[content_hash] == pytest.approx(1.0, abs=1e-5)


# -- tenants ---------------------------------------------------------------------------------------


def test_tenants_cannot_learn_of_or_block_each_other_through_names(hub: HubProcess, hub_db: str, users: Users) -> None:
    alice, bob = users.token("alice"), users.token("bob")
    base = hub.base_url
    rng = np.random.default_rng(3)

    def item(i: int, space: str = "tenants/v1", dim: int = 8) -> dict:
        return {
            "content_hash": hex_hash(i, "tenants"),
            "space": space,
            "dim": dim,
            "vector": rng.standard_normal(dim).tolist(),
            "metadata": {"kind": "loop"},
        }

    def bobs_view() -> list[tuple[int, str]]:
        """Every answer Bob can get about names Alice may or may not use."""
        answers = []
        for body in ({"items": [item(0, dim=12)]}, {"items": [item(0, space="squat/v1", dim=8)]}):
            r = httpx.put(f"{base}{EMBEDDINGS}", headers=auth(bob), json=body)
            answers.append((r.status_code, json.dumps([{k: e[k] for k in ("loc", "msg")} for e in r.json()["detail"]])))
        for space, dim in (("tenants/v1", 8), ("squat/v1", 8), ("tenants/v1", 3)):
            r = httpx.post(
                f"{base}{SEARCH}", headers=auth(bob), json={"space": space, "vector": rng.standard_normal(dim).tolist()}
            )
            answers.append((r.status_code, r.text))
        r = httpx.get(f"{base}/api/v1/vectors/status", headers=auth(bob))
        answers.append((r.status_code, r.text))
        return answers

    before = bobs_view()
    # Alice fills the registered space and tries (and fails) to create another one.
    alice_items = [item(i) for i in range(5)]
    assert httpx.put(f"{base}{EMBEDDINGS}", headers=auth(alice), json={"items": alice_items}).status_code == 200
    r = httpx.put(f"{base}{EMBEDDINGS}", headers=auth(alice), json={"items": [item(9, space="squat/v1", dim=3)]})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "unknown_space"
    events = [
        {
            "event_id": f"{i:032x}",
            "type": "view",
            "session_id": "s",
            "created_at": 1.7e9,
            "sample_content_hash": hex_hash(i, "tenants"),
        }
        for i in range(3)
    ]
    assert httpx.post(f"{base}{EVENTS}", headers=auth(alice), json={"events": events}).json()["accepted"] == 3
    assert bobs_view() == before  # nothing Bob can ask tells him what Alice did
    assert [s for s, _ in before] == [422, 422, 404, 404, 422, 200]

    # Neither can squat a name for the other: the operator's registry decides the dimension.
    r = httpx.put(
        f"{base}{EMBEDDINGS}", headers=auth(bob), json={"items": [item(0, space="clap-htsat-unfused/v2", dim=3)]}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "items", 0, "space"]
    with psycopg.connect(hub_db) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM embedding_spaces WHERE name IN ('squat/v1', 'clap-htsat-unfused/v2')"
            ).fetchone()[0]
            == 0
        )
        dims = dict(
            conn.execute(
                "SELECT name, dim FROM embedding_spaces WHERE name IN ('fingerprint/v1', 'clap-htsat-unfused/v1')"
            ).fetchall()
        )
    assert dims == {"fingerprint/v1": 512, "clap-htsat-unfused/v1": 512}

    # The same event ids and content hashes from Bob are Bob's own rows; Alice's stay as they were.
    assert httpx.post(f"{base}{EVENTS}", headers=auth(bob), json={"events": events}).json()["accepted"] == 3
    bob_items = [item(i) for i in range(5)]
    assert httpx.put(f"{base}{EMBEDDINGS}", headers=auth(bob), json={"items": bob_items}).json()["upserted"] == 5
    for token, mine in ((alice, alice_items), (bob, bob_items)):
        hits = httpx.post(
            f"{base}{SEARCH}", headers=auth(token), json={"space": "tenants/v1", "vector": mine[2]["vector"], "k": 10}
        ).json()["hits"]
        assert len(hits) == 5 and hits[0]["content_hash"] == mine[2]["content_hash"]
        assert hits[0]["similarity"] == pytest.approx(1.0, abs=1e-5)


# -- metrics ---------------------------------------------------------------------------------------


def test_metrics_need_the_metrics_scope_unless_opened(hub: HubProcess, default_hub: HubProcess, users: Users) -> None:
    device, metrics = users.token("dev"), users.token("ops", "prometheus", scope="metrics")
    assert httpx.get(f"{hub.base_url}/metrics", headers=auth(device)).status_code == 403
    assert httpx.get(f"{hub.base_url}/metrics", headers=auth(metrics)).status_code == 200
    assert httpx.get(f"{hub.base_url}/metrics").status_code == 401
    # HUB_METRICS_DEVICE_TOKENS=true opens them to device tokens.
    assert httpx.get(f"{default_hub.base_url}/metrics", headers=auth(device)).status_code == 200
