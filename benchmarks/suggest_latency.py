"""Latency of the whole fusion ranker (filters, retrieval, scoring, MMR, rationale).

For each library size: synthetic clustered 512-d vectors (``synthetic_library.py``), an HNSW
index (built once and persisted under ``--cache``, reloaded when it matches), then
``Ranker.suggest`` for a few hundred random session contexts:

- a context = a random session tempo and key, 0–2 mood tags, 1–5 accepted samples from one
  pack (as if the producer had taken them from earlier suggestions), 20 dismissed samples, and
  one banned folder in a third of the sessions;
- ``fusion`` mode (the default) and ``rules`` mode are timed separately (``time.perf_counter``,
  one call at a time, single process);
- ``agree@10``: overlap of the fusion top-10 (λ = 1, no MMR) with the exact ranking (masked
  brute force over the whole filtered library) on the first 30 contexts.

Targets on the 2-core dev machine (engine issue item 9): at 100k p50 < 5 ms and p99 < 15 ms;
at 1M p50 < 15 ms.

Run:  python benchmarks/suggest_latency.py                  # 10k and 100k
      python benchmarks/suggest_latency.py --full           # adds 1M (index build: minutes, cached)
Ends with one line of ``name=value`` figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_library import (
    GENERATOR_VERSION,
    NOW,
    TAG_WORDS,
    candidates,
    clustered_vectors,
)

from companion.embedding.index import VectorIndex
from companion.errors import VectorIndexError
from companion.music.keys import Key
from companion.ranking.context import SessionContext
from companion.ranking.ranker import EmbeddingSpaceData, Ranker, SessionState
from companion.ranking.rules import load_default_rules, parse_rules

SPACE = "bench/v1"


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def library(n: int, dim: int, cache: Path) -> tuple[np.ndarray, np.ndarray, VectorIndex, float, float]:
    """Vectors, labels and index of size ``n``, build seconds (nan if loaded) and index MB."""
    cache.mkdir(parents=True, exist_ok=True)
    tag = f"{n}_{dim}_g{GENERATOR_VERSION}"
    vec_file = cache / f"vectors_{tag}.npy"
    lab_file = cache / f"labels_{tag}.npy"
    if vec_file.exists() and lab_file.exists():
        vectors, labels = np.load(vec_file, mmap_mode=None), np.load(lab_file)
    else:
        vectors, labels = clustered_vectors(n, dim)
        np.save(vec_file, vectors)
        np.save(lab_file, labels)
    ids = np.arange(1, n + 1, dtype=np.int64)
    path = cache / f"index_{tag}.hnsw"
    build_s = float("nan")
    try:
        index = VectorIndex.load(path, SPACE, dim)
        if not index.matches(ids):
            raise FileNotFoundError
    except (VectorIndexError, FileNotFoundError):  # missing or stale cache: build (and time) it
        t = time.perf_counter()
        index = VectorIndex.build(SPACE, ids, vectors)
        build_s = time.perf_counter() - t
        index.save(path)
    index_mb = path.stat().st_size / 1e6
    return vectors, labels, index, build_s, index_mb


def contexts(cands, labels: np.ndarray, count: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    by_pack = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[by_pack], np.arange(labels.max() + 2))
    folders = sorted(set(cands.folders))
    for _ in range(count):
        pack = int(rng.integers(0, labels.max() + 1))
        members = by_pack[starts[pack] : starts[pack + 1]]
        if len(members) == 0:
            continue
        accepted_rows = rng.choice(members, size=min(len(members), int(rng.integers(1, 6))), replace=False)
        loops = [r for r in accepted_rows if not np.isnan(cands.bpm[r])]
        bpm = float(cands.bpm[loops[0]]) if loops else float(rng.integers(70, 175))
        pitched = [r for r in accepted_rows if cands.key_codes[r] >= 0]
        key = cands.key_of(int(pitched[0])) if pitched else Key(int(rng.integers(0, 12)), "minor")
        moods = tuple(rng.choice(TAG_WORDS, size=int(rng.integers(0, 3)), replace=False).tolist())
        ctx = SessionContext(bpm=bpm, key=key, mood_tags=moods)
        state = SessionState(
            accepted=[int(cands.ids[r]) for r in accepted_rows],
            dismissed={int(x) for x in rng.choice(cands.ids, 20)},
            banned_folders={folders[int(rng.integers(0, len(folders)))]} if rng.random() < 1 / 3 else set(),
        )
        yield ctx, state


def time_calls(fn, items) -> np.ndarray:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(*item)
        out.append((time.perf_counter() - t) * 1e3)
    return np.asarray(out)


def run_size(n: int, dim: int, queries: int, cache: Path) -> dict[str, float]:
    rss0 = rss_mb()
    t = time.perf_counter()
    vectors, labels, index, build_s, index_mb = library(n, dim, cache)
    load_s = time.perf_counter() - t
    cands = candidates(n)
    rules = load_default_rules()
    space = EmbeddingSpaceData(SPACE, "fingerprint", cands.ids, vectors, index)
    t = time.perf_counter()
    ranker = Ranker(cands, [space], rules, now=lambda: NOW)
    prepare_s = time.perf_counter() - t
    rss1 = rss_mb()
    items = list(contexts(cands, labels, queries))
    for ctx, state in items[:5]:  # warm caches
        ranker.suggest(ctx, state)
    fusion = time_calls(lambda c, s: ranker.suggest(c, s), items)
    rules_mode = time_calls(lambda c, s: ranker.suggest(c, s, mode="rules"), items)
    no_mmr = parse_rules({**rules.to_json(), "mmr": {**rules.to_json()["mmr"], "lambda": 1.0}})
    approx = Ranker(cands, [space], no_mmr, now=lambda: NOW)
    exact = Ranker(
        cands,
        [EmbeddingSpaceData(SPACE, "fingerprint", cands.ids, vectors, None)],
        no_mmr,
        now=lambda: NOW,
    )
    overlaps = []
    for ctx, state in items[:30]:
        a = {s.sample_id for s in approx.suggest(ctx, state)}
        b = {s.sample_id for s in exact.suggest(ctx, state)}
        overlaps.append(len(a & b) / max(len(b), 1))
    fig = {
        "p50_ms": float(np.percentile(fusion, 50)),
        "p99_ms": float(np.percentile(fusion, 99)),
        "rules_p50_ms": float(np.percentile(rules_mode, 50)),
        "rules_p99_ms": float(np.percentile(rules_mode, 99)),
        "agree10": float(np.mean(overlaps)),
        "build_s": build_s,
        "load_s": load_s,
        "prepare_s": prepare_s,
        "index_mb": index_mb,
        "rss_mb": rss1 - rss0,
    }
    built = "loaded from cache" if np.isnan(build_s) else f"built in {build_s:.1f} s"
    print(
        f"n={n:>8,} dim={dim}  fusion p50 {fig['p50_ms']:.2f} ms  p99 {fig['p99_ms']:.2f} ms  "
        f"| rules p50 {fig['rules_p50_ms']:.2f} ms  p99 {fig['rules_p99_ms']:.2f} ms  "
        f"| agree@10 {fig['agree10']:.3f}  | index {built}, {index_mb:.0f} MB on disk, "
        f"ranker prepared in {prepare_s:.2f} s, process RSS +{fig['rss_mb']:.0f} MB",
        flush=True,
    )
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated library sizes")
    parser.add_argument("--full", action="store_true", help="also run 1,000,000 (slow first time)")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/companion-bench"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.full and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    figures: dict[str, float] = {}
    for n in sizes:
        fig = run_size(n, args.dim, args.queries, args.cache)
        label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        for name in (
            "p50_ms",
            "p99_ms",
            "rules_p50_ms",
            "rules_p99_ms",
            "agree10",
            "build_s",
            "index_mb",
            "rss_mb",
        ):
            figures[f"{name}_{label}"] = fig[name]
    print(" ".join(f"{k}={v:.3f}" if v == v else f"{k}=cached" for k, v in figures.items()))


if __name__ == "__main__":
    main()
