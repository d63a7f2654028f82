"""Events/s and embeddings/s through sync: catalog outbox → SyncClient → hub → PostgreSQL.

Real everything: a catalog (SQLite, WAL) filled through the desktop's own API
(``record_event``, ``put_vectors``), the hub as a ``samplemind-hub serve`` process on loopback,
PostgreSQL 16 + pgvector 0.6.2 (pgserver) with the space's HNSW index maintained on insert.
Timed: one ``SyncClient.push_once`` that drains the outbox (read rows, gzip, POST/PUT, hub
validation and upsert, ack and delete), events and embeddings separately.

Run: ``python benchmarks/sync_throughput.py [--events 20000] [--embeddings 5000] [--dim 512]``.
The last line holds the figures as ``name=value`` pairs.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psycopg

from companion.library.db import connect, transaction
from companion.library.events import record_event
from companion.library.vectors import put_vectors
from companion.sync.client import SyncClient
from samplemind_hub.testing import EmbeddedPostgres, HubProcess, make_token


class CountingTransport(httpx.HTTPTransport):
    """The real HTTP transport, adding up request bodies (gzip) sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self.bytes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.bytes += len(request.read())
        return super().handle_request(request)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--embeddings", type=int, default=5_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--embedding-batch-size", type=int, default=100)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="samplemind-sync-bench-"))
    pg = EmbeddedPostgres(folder / "pg")
    hub: HubProcess | None = None
    figures: dict[str, float] = {}
    try:
        url = pg.create_database("bench")
        token = make_token(url, "bench", "laptop")
        hub = HubProcess(url, folder / "hub.log").start()
        catalog = folder / "library.db"
        conn = connect(catalog)

        t = time.perf_counter()
        for i in range(args.events):
            record_event(
                conn,
                ("view", "preview", "accept", "skip")[i % 4],
                session_id="bench",
                content_hash=f"{i % 997:032x}",
                context={"bpm": 124.0, "key": "A minor", "mode": "minor"},
                metadata={"rank": i % 10, "score": 0.61, "source": "fingerprint", "time_to_preview_ms": 840},
            )
        print(f"recorded {args.events} events in {time.perf_counter() - t:.1f} s (one transaction each)")

        transport = CountingTransport()
        with SyncClient(
            catalog,
            hub.base_url,
            token,
            batch_size=args.batch_size,
            embedding_batch_size=args.embedding_batch_size,
            transport=transport,
        ) as client:
            t = time.perf_counter()
            result = client.push_once()
            events_s = time.perf_counter() - t
            assert result.error is None and result.sent_events == args.events, result
            print(
                f"events:     {args.events} in {events_s:.2f} s = {args.events / events_s:,.0f}/s, "
                f"{transport.requests} requests of {args.batch_size}, {transport.bytes / args.events:.0f} B/event gzip"
            )
            figures["events_per_s"] = args.events / events_s

            rng = np.random.default_rng(0)
            vectors = rng.standard_normal((args.embeddings, args.dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            with transaction(conn):
                put_vectors(
                    conn,
                    "bench/v1",
                    ((f"{i:032x}", v) for i, v in enumerate(vectors)),
                    metadata={f"{i:032x}": {"kind": "loop", "bpm": 120.0} for i in range(args.embeddings)},
                )
            transport.requests = transport.bytes = 0
            t = time.perf_counter()
            result = client.push_once()
            emb_s = time.perf_counter() - t
            assert result.error is None and result.sent_embeddings == args.embeddings, result
            print(
                f"embeddings: {args.embeddings} x {args.dim}-d in {emb_s:.2f} s = {args.embeddings / emb_s:,.0f}/s, "
                f"{transport.requests} requests of {args.embedding_batch_size}, "
                f"{transport.bytes / args.embeddings / 1024:.1f} KiB/embedding gzip"
            )
            figures["embeddings_per_s"] = args.embeddings / emb_s
        conn.close()
        with psycopg.connect(url) as pgc:
            n_events = pgc.execute("SELECT count(*) FROM telemetry_events").fetchone()[0]
            n_emb = pgc.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        assert (n_events, n_emb) == (args.events, args.embeddings), (n_events, n_emb)
        print(f"hub holds {n_events} events and {n_emb} embeddings (exact)")
    finally:
        if hub is not None:
            hub.stop()
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(" ".join(f"{k}={v:.1f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
