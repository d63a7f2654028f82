"""Recall@10 of the HNSW vector index against exact (brute-force numpy) search.

Data: synthetic clustered unit vectors (``synthetic_library.py``, 512-d by default); queries
are 1,000 fresh samples of the same packs (not members; ``fresh_points``). Ground truth: the
exact top-10 by inner product (= cosine) with numpy. The index uses the defaults of
:class:`companion.embedding.index.VectorIndex` (M, ef_construction, ef); it is built once and
persisted under ``--cache`` (reloaded when it matches).

Figures: recall@10 (mean over queries of |ANN ∩ exact| / 10), index build seconds, on-disk
size, process memory growth while building, query latency p50/p99 (one query at a time) and
the brute-force top-10 latency for scale.

Run:  python benchmarks/index_recall.py               # 100k
      python benchmarks/index_recall.py --n 1000000   # slow the first time (build is cached)
Ends with one line of ``name=value`` figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suggest_latency import library, rss_mb
from synthetic_library import fresh_points

from companion.embedding.index import DEFAULT_EF, DEFAULT_EF_CONSTRUCTION, DEFAULT_M


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/companion-bench"))
    parser.add_argument("--ef", type=int, default=DEFAULT_EF, help="HNSW ef at query time")
    args = parser.parse_args()

    rss0 = rss_mb()
    vectors, _labels, index, build_s, index_mb = library(args.n, args.dim, args.cache)
    rss_grow = rss_mb() - rss0
    index.ef = args.ef  # read by every query (VectorIndex.query sets hnswlib's ef from it)
    queries = fresh_points(args.n, args.dim, args.queries)
    ids = np.arange(1, args.n + 1, dtype=np.int64)

    truth = np.empty((args.queries, 10), dtype=np.int64)
    brute_ms = []
    for start in range(0, args.queries, 100):
        block = queries[start : start + 100]
        t = time.perf_counter()
        sims = block @ vectors.T
        top = np.argpartition(-sims, 9, axis=1)[:, :10]
        brute_ms.append((time.perf_counter() - t) * 1e3 / len(block))
        truth[start : start + len(block)] = ids[top]

    got = np.empty_like(truth)
    lat = []
    for i, q in enumerate(queries):
        t = time.perf_counter()
        found, _ = index.query(q, 10)
        lat.append((time.perf_counter() - t) * 1e3)
        got[i] = found[0]
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, truth, strict=True)]))
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    built = "loaded from cache" if np.isnan(build_s) else f"built in {build_s:.1f} s"
    print(
        f"n={args.n:,} dim={args.dim} M={DEFAULT_M} ef_construction={DEFAULT_EF_CONSTRUCTION} "
        f"ef={args.ef}: recall@10 {recall:.4f}; query p50 {p50:.3f} ms p99 {p99:.3f} ms; "
        f"brute force {np.median(brute_ms):.2f} ms/query (batched 100); index {built}, "
        f"{index_mb:.0f} MB on disk, RSS +{rss_grow:.0f} MB (vectors + index)"
    )
    build = f"{build_s:.1f}" if build_s == build_s else "cached"
    print(
        f"n={args.n} recall_at_10={recall:.4f} query_p50_ms={p50:.3f} query_p99_ms={p99:.3f} "
        f"brute_ms={np.median(brute_ms):.2f} build_s={build} index_mb={index_mb:.0f} "
        f"rss_mb={rss_grow:.0f}"
    )


if __name__ == "__main__":
    main()
