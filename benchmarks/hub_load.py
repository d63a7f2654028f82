"""The hub under load: concurrent companions syncing through one hub while searches run.

Real PostgreSQL 16 + pgvector (pgserver) in a temporary folder and a ``samplemind-hub serve``
process on 127.0.0.1 (loopback only: the benchmark refuses any other address). Each companion
is a thread with its own catalog (real SQLite), its own user and token and the real
:class:`companion.sync.client.SyncClient`: it records telemetry events and stores embeddings
(512-d, ``fingerprint/v1``) through the desktop's own API, which queues them in the outbox,
and pushes the outbox about once a second. A search thread sends ``POST
/api/v1/vectors/search`` at a fixed rate with a random companion's token.

Afterwards every companion drains its outbox and the hub's rows are compared with what the
companions recorded: no event may be lost or stored twice.

Run: ``python benchmarks/hub_load.py [--companions 50] [--seconds 60] [--search-rate 20]``.
Prints p50/p99/max latency per route (client side, HTTP round trip), the 5xx count and the
delivery check; the last line holds the figures as ``name=value`` pairs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
import psycopg

from companion.library.db import connect, transaction
from companion.library.events import record_event
from companion.library.vectors import put_vectors
from companion.sync.backoff import Backoff
from companion.sync.client import SyncClient
from samplemind_hub.testing import EmbeddedPostgres, HubProcess, make_token

SPACE, DIM = "fingerprint/v1", 512


class Timings(httpx.HTTPTransport):
    """The real HTTP transport, recording (method, path, status, seconds) of each request."""

    def __init__(self, log: list[tuple[str, str, int, float]]) -> None:
        super().__init__()
        self.log = log

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        response = super().handle_request(request)
        response.read()
        self.log.append((request.method, request.url.path, response.status_code, time.perf_counter() - start))
        return response


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Companion(threading.Thread):
    """One desktop: records events and embeddings, pushes its outbox about once a second."""

    def __init__(
        self,
        i: int,
        folder: Path,
        url: str,
        token: str,
        log: list,
        stop: threading.Event,
        events_per_s: float,
        embeddings_per_s: float,
    ) -> None:
        super().__init__(name=f"companion-{i}", daemon=True)
        self.i, self.url, self.token, self.log, self.stop_event = i, url, token, log, stop
        self.db = folder / f"companion-{i}.db"
        connect(self.db).close()
        self.rng = np.random.default_rng(i)
        self.events_per_s, self.embeddings_per_s = events_per_s, embeddings_per_s
        self.event_ids: list[str] = []
        self.vectors: dict[str, np.ndarray] = {}
        self.errors: list[str] = []

    def add_embeddings(self, n: int) -> None:
        new = {f"{self.i:08x}{len(self.vectors) + j:024x}": v for j, v in enumerate(unit(self.rng, n))}
        conn = connect(self.db)
        with transaction(conn):
            put_vectors(conn, SPACE, new.items(), metadata={h: {"kind": "loop"} for h in new})
        conn.close()
        self.vectors.update(new)

    def add_events(self, n: int) -> None:
        conn = connect(self.db)
        for _ in range(n):
            self.event_ids.append(
                record_event(
                    conn,
                    random.choice(("view", "preview", "accept", "skip")),
                    session_id=f"s{self.i}",
                    content_hash=random.choice(list(self.vectors)),
                    context={"bpm": 124, "key": "A minor"},
                    metadata={"rank": 1, "score": 0.5, "source": "fingerprint"},
                )
            )
        conn.close()

    def client(self) -> SyncClient:
        return SyncClient(
            self.db,
            self.url,
            self.token,
            backoff=Backoff(0.2, 2.0),
            timeout_s=30.0,
            transport=Timings(self.log),
            seed=self.i,
        )

    def run(self) -> None:
        with self.client() as client:
            last = time.monotonic()
            event_debt = embedding_debt = 0.0
            while not self.stop_event.wait(random.uniform(0.8, 1.2)):
                now = time.monotonic()
                event_debt += (now - last) * self.events_per_s
                embedding_debt += (now - last) * self.embeddings_per_s
                last = now
                if int(embedding_debt):
                    self.add_embeddings(int(embedding_debt))
                    embedding_debt -= int(embedding_debt)
                if int(event_debt):
                    self.add_events(int(event_debt))
                    event_debt -= int(event_debt)
                result = client.push_once()
                if result.error:
                    self.errors.append(result.error)


def percentiles_ms(values: list[float]) -> tuple[float, float, float]:
    a = np.asarray(values) * 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), float(a.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--search-rate", type=float, default=20.0, help="searches per second")
    parser.add_argument("--events-per-s", type=float, default=2.0, help="per companion")
    parser.add_argument("--embeddings-per-s", type=float, default=0.2, help="per companion")
    parser.add_argument("--initial-embeddings", type=int, default=20, help="per companion, before the clock")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="samplemind-hub-load-"))
    pg = EmbeddedPostgres(folder / "pg")
    hub: HubProcess | None = None
    log: list[tuple[str, str, int, float]] = []
    try:
        url = pg.create_database("load")
        hub = HubProcess(url, folder / "hub.log", env={"HUB_POOL_MAX": "10"})
        assert hub.base_url.startswith("http://127.0.0.1:"), "loopback only"
        hub.start()
        stop = threading.Event()
        companions = []
        for i in range(args.companions):
            c = Companion(
                i,
                folder,
                hub.base_url,
                make_token(url, f"load-{i}", "laptop"),
                log,
                stop,
                args.events_per_s,
                args.embeddings_per_s,
            )
            c.add_embeddings(args.initial_embeddings)
            c.add_events(5)
            companions.append(c)
        t = time.perf_counter()
        for c in companions:  # initial upload, not timed
            with c.client() as client:
                client.push_once()
        print(
            f"{args.companions} companions, {args.companions * args.initial_embeddings} initial vectors uploaded "
            f"in {time.perf_counter() - t:.1f} s; load average {os.getloadavg()[0]:.2f}"
        )
        log.clear()

        searches: list[tuple[str, str, int, float]] = []

        def search_loop() -> None:
            clients = {
                c.i: httpx.Client(
                    base_url=hub.base_url,
                    headers={"Authorization": f"Bearer {c.token}"},
                    transport=Timings(searches),
                    timeout=30.0,
                )
                for c in companions
            }
            rng = np.random.default_rng(99)
            period, next_at = 1.0 / args.search_rate, time.monotonic()
            while not stop.is_set():
                c = companions[int(rng.integers(len(companions)))]
                base = c.vectors[random.choice(list(c.vectors)[: args.initial_embeddings])]
                q = base + 0.1 * unit(rng, 1)[0]
                clients[c.i].post("/api/v1/vectors/search", json={"space": SPACE, "vector": q.tolist(), "k": 10})
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))
            for client in clients.values():
                client.close()

        searcher = threading.Thread(target=search_loop, daemon=True)
        start = time.perf_counter()
        for c in companions:
            c.start()
        searcher.start()
        time.sleep(args.seconds)
        stop.set()
        for c in companions:
            c.join()
        searcher.join()
        elapsed = time.perf_counter() - start
        load = os.getloadavg()[0]
        timed = log + searches
        for c in companions:  # drain what the last round queued
            with c.client() as client:
                client.push_once()

        by_route: dict[str, list[float]] = defaultdict(list)
        statuses: dict[int, int] = defaultdict(int)
        for method, path, status, seconds in timed:
            by_route[f"{method} {path}"].append(seconds)
            statuses[status] += 1
        print(
            f"\n{elapsed:.1f} s, {len(timed)} requests ({len(timed) / elapsed:.0f}/s), statuses {dict(statuses)}, "
            f"load average {load:.2f} (2-core box)"
        )
        figures: dict[str, float] = {}
        for route, values in sorted(by_route.items()):
            p50, p99, worst = percentiles_ms(values)
            print(f"  {route:45s} n={len(values):6d}  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  max {worst:7.1f} ms")
            key = route.split()[1].rsplit("/", 1)[-1]
            figures[f"{key}_p99_ms"] = p99
        figures["http_5xx"] = float(sum(n for s, n in statuses.items() if s >= 500))

        with psycopg.connect(url) as conn:
            stored = conn.execute(
                "SELECT u.name, t.event_id, t.deliveries FROM telemetry_events t JOIN users u ON u.id = t.user_id"
            ).fetchall()
            vectors = dict(
                conn.execute(
                    "SELECT u.name, count(*) FROM embeddings e JOIN users u ON u.id = e.user_id GROUP BY u.name"
                ).fetchall()
            )
        per_user: dict[str, list[str]] = defaultdict(list)
        redelivered = 0
        for name, event_id, deliveries in stored:
            per_user[name].append(event_id)
            redelivered += deliveries > 1
        lost = sum(len(set(c.event_ids) - set(per_user[f"load-{c.i}"])) for c in companions)
        extra = sum(len(set(per_user[f"load-{c.i}"]) - set(c.event_ids)) for c in companions)
        twice = sum(len(per_user[f"load-{c.i}"]) - len(set(per_user[f"load-{c.i}"])) for c in companions)
        recorded = sum(len(c.event_ids) for c in companions)
        missing_vectors = sum(len(c.vectors) - vectors.get(f"load-{c.i}", 0) for c in companions)
        pass_errors = sum(len(c.errors) for c in companions)
        print(
            f"events recorded {recorded}, stored {len(stored)}: lost {lost}, stored twice {twice}, unknown {extra}, "
            f"re-delivered (deliveries > 1) {redelivered}; embeddings stored {sum(vectors.values())} "
            f"(missing {missing_vectors}); sync passes with an error {pass_errors}"
        )
        figures.update(lost=lost, stored_twice=twice, events=recorded, pass_errors=pass_errors)
        print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    finally:
        if hub is not None:
            hub.stop()
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
