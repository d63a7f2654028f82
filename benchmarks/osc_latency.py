"""OSC packet → ranked list latency on a 100k-sample library (issue 4, item 5: p99 < 50 ms).

The real path, end to end: a DAW stand-in in **another process** sends OSC bundles
(``/context/bpm`` + ``/context/key``) over UDP loopback with python-osc; the companion side
runs :class:`~companion.bridge.listener.OscListener` → :class:`~companion.bridge.follower.ContextFollower`
→ the fusion :class:`~companion.ranking.ranker.Ranker` on a synthetic 100k library
(``synthetic_library.py``: clustered 512-d vectors, HNSW index cached under ``--cache``,
3 accepted samples so the similarity term is live), and pushes each ranked list back as
``/companion/suggestions`` to the client, which registered for it.

Figures:

- ``latency``: from the packet's arrival in the listener (``time.perf_counter()`` when the
  dispatcher gets the datagram) to the ranked list — what ``companion listen`` reports;
- ``rank``: the ranker alone;
- ``rtt``: client-side, from ``sendto`` to receiving the ``/companion/suggestions`` push;
- closed loop: one change at a time (each waits for its list);
- paced: changes at ``--rate`` Hz (tempo automation, knob turns) without waiting;
- flood: ``--flood`` packets as fast as the client can send; the follower coalesces, so the
  number of rankings stays small and the last list answers the last packet.

The library's objects are frozen out of the cyclic GC (``gc.freeze()``, as ``Engine.reload``
does); ``--no-gc-freeze`` shows what full collections cost otherwise.

Run:  python benchmarks/osc_latency.py                # 100k, 300 closed-loop changes
      python benchmarks/osc_latency.py --n 10000 --changes 100
Ends with one line of ``name=value`` figures.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_library import NOW, candidates, clustered_vectors

from companion.bridge.follower import ContextFollower, FollowResult
from companion.bridge.listener import OscListener
from companion.bridge.sender import context_messages, decode, encode
from companion.embedding.index import VectorIndex
from companion.errors import VectorIndexError
from companion.music.keys import Key
from companion.ranking.context import ContextStore
from companion.ranking.ranker import EmbeddingSpaceData, Ranker, SessionState
from companion.ranking.rules import load_default_rules

SPACE = "bench/v1"
KEYS = [Key(pc, mode).short for pc in range(12) for mode in ("major", "minor")]


def library(n: int, dim: int, cache: Path) -> tuple[Any, np.ndarray, np.ndarray, VectorIndex]:
    """Candidates, vectors, pack labels and HNSW index of a synthetic library (index cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    vec_file, lab_file = cache / f"vectors_{n}_{dim}.npy", cache / f"labels_{n}.npy"
    if vec_file.exists() and lab_file.exists():
        vectors, labels = np.load(vec_file), np.load(lab_file)
    else:
        vectors, labels = clustered_vectors(n, dim)
        np.save(vec_file, vectors)
        np.save(lab_file, labels)
    ids = np.arange(1, n + 1, dtype=np.int64)
    path = cache / f"index_{n}_{dim}.hnsw"
    try:
        index = VectorIndex.load(path, SPACE, dim)
        if not index.matches(ids):
            raise FileNotFoundError
    except (VectorIndexError, FileNotFoundError):
        t = time.perf_counter()
        index = VectorIndex.build(SPACE, ids, vectors)
        index.save(path)
        print(f"built the HNSW index in {time.perf_counter() - t:.1f} s (cached in {cache})", flush=True)
    return candidates(n), vectors, labels, index


def changes(count: int, seed: int) -> list[bytes]:
    """``count`` bundles, each a new tempo (70–175 BPM, never the previous one) and key."""
    rng = np.random.default_rng(seed)
    out, last = [], None
    for _ in range(count):
        bpm = float(rng.integers(70, 176))
        while bpm == last:
            bpm = float(rng.integers(70, 176))
        last = bpm
        out.append(encode(context_messages(bpm=bpm, key=KEYS[int(rng.integers(0, len(KEYS)))]), bundle=True))
    return out


def client(port: int, mode: str, count: int, rate: float, seed: int, conn: Any) -> None:
    """The DAW stand-in (separate process): registers, sends changes, times the pushed lists."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5.0)
    target = ("127.0.0.1", port)
    sock.sendto(encode([("/companion/register", [])]), target)
    assert decode(sock.recvfrom(65535)[0])[0].address == "/companion/registered"
    packets = changes(count, seed)
    rtts: list[float] = []
    lost = 0
    if mode == "closed":
        for packet in packets:
            t = time.perf_counter()
            sock.sendto(packet, target)
            try:
                while decode(sock.recvfrom(65535)[0])[0].address != "/companion/suggestions":
                    pass
            except TimeoutError:
                lost += 1
                continue
            rtts.append((time.perf_counter() - t) * 1e3)
    else:
        period = 1.0 / rate if mode == "paced" else 0.0
        start = time.perf_counter()
        for i, packet in enumerate(packets):
            if period:
                delay = start + i * period - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            sock.sendto(packet, target)
    conn.send({"rtt_ms": rtts, "lost": lost})
    sock.close()


def run(
    listener: OscListener, mode: str, count: int, rate: float, seed: int, results: list[FollowResult]
) -> tuple[list[FollowResult], dict]:
    """Run one client process; return the follower results it caused and the client report."""
    first = len(results)
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=client, args=(listener.port, mode, count, rate, seed, child))
    proc.start()
    report = parent.recv()
    proc.join()
    # wait until the listener has drained its socket and the follower has ranked the last change
    seen = (-1, -1)
    while seen != (listener.stats().packets, len(results)):
        seen = (listener.stats().packets, len(results))
        time.sleep(0.3)
    return results[first:], report


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="library size")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--changes", type=int, default=300, help="closed-loop context changes")
    parser.add_argument("--rate", type=float, default=20.0, help="paced changes per second")
    parser.add_argument("--paced", type=int, default=200, help="paced context changes")
    parser.add_argument("--flood", type=int, default=5000, help="packets in the flood")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the library's objects to the cyclic GC (shows its full-collection pauses)",
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/companion-bench-osc"))
    args = parser.parse_args()

    t = time.perf_counter()
    cands, vectors, labels, index = library(args.n, args.dim, args.cache)
    ranker = Ranker(
        cands,
        [EmbeddingSpaceData(SPACE, "fingerprint", cands.ids, vectors, index)],
        load_default_rules(),
        now=lambda: NOW,
    )
    pack = np.flatnonzero(labels == labels[0])[:3]
    state = SessionState(accepted=[int(cands.ids[r]) for r in pack])
    print(f"library n={args.n:,} dim={args.dim} ready in {time.perf_counter() - t:.1f} s", flush=True)
    if not args.no_gc_freeze:
        gc.freeze()  # as `companion listen` does: the library's objects leave the cyclic GC's work
    gc_pauses: list[float] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif info.get("generation") == 2:
            gc_pauses.append((time.perf_counter() - gc_started[0]) * 1e3)

    gc.callbacks.append(on_gc)

    store = ContextStore()
    results: list[FollowResult] = []
    lock = threading.Lock()

    def on_result(result: FollowResult) -> None:
        with lock:
            results.append(result)
        listener.push_suggestions(result.seq, result.latency_ms, [(s.path, s.score) for s in result.suggestions])

    follower = ContextFollower(store, lambda: ranker.suggest(store.snapshot(), state, top_k=args.top_k), on_result)
    listener = OscListener(follower.apply, port=0, flood_limit=2000)
    figures: dict[str, float] = {}
    with follower, listener:
        run(listener, "closed", 20, 0, 99, results)  # warm-up, not counted
        closed, report = run(listener, "closed", args.changes, 0, 1, results)
        lat = [r.latency_ms for r in closed]
        rank = [r.rank_ms for r in closed]
        assert all(r.coalesced == 1 for r in closed), "closed loop: one list per change"
        rtt = report["rtt_ms"]
        print(
            f"closed loop: {len(closed)} changes → {len(closed)} lists, lost {report['lost']}; "
            f"latency p50 {pct(lat, 50):.2f} p90 {pct(lat, 90):.2f} p99 {pct(lat, 99):.2f} max {max(lat):.2f} ms; "
            f"rank p50 {pct(rank, 50):.2f} p99 {pct(rank, 99):.2f} ms; "
            f"client rtt p50 {pct(rtt, 50):.2f} p99 {pct(rtt, 99):.2f} ms",
            flush=True,
        )
        figures.update(
            latency_p50_ms=pct(lat, 50),
            latency_p99_ms=pct(lat, 99),
            latency_max_ms=max(lat),
            rank_p50_ms=pct(rank, 50),
            rank_p99_ms=pct(rank, 99),
            rtt_p50_ms=pct(rtt, 50),
            rtt_p99_ms=pct(rtt, 99),
        )

        paced, _ = run(listener, "paced", args.paced, args.rate, 2, results)
        lat = [r.latency_ms for r in paced]
        rank = [r.rank_ms for r in paced]
        print(
            f"paced {args.rate:g} Hz: {args.paced} changes → {len(paced)} lists "
            f"({sum(r.coalesced for r in paced)} changes answered); "
            f"latency p50 {pct(lat, 50):.2f} p99 {pct(lat, 99):.2f} max {max(lat):.2f} ms; "
            f"rank p50 {pct(rank, 50):.2f} p99 {pct(rank, 99):.2f} ms",
            flush=True,
        )
        figures.update(paced_p50_ms=pct(lat, 50), paced_p99_ms=pct(lat, 99))

        packets_before = listener.stats().packets
        t = time.perf_counter()
        flood, _ = run(listener, "flood", args.flood, 0, 3, results)
        received = listener.stats().packets - packets_before
        lat = [r.latency_ms for r in flood]
        last_ok = flood and flood[-1].context.bpm == store.snapshot().bpm
        print(
            f"flood: {args.flood} packets sent, {received} received by the listener, "
            f"{len(flood)} rankings (coalesced {sum(r.coalesced for r in flood)} changes), "
            f"last list answers the last change: {bool(last_ok)}; latency p50 {pct(lat, 50):.2f} "
            f"max {max(lat) if lat else float('nan'):.2f} ms; flood counted {listener.counter.counts()['flood']}×",
            flush=True,
        )
        figures.update(
            flood_rankings=float(len(flood)),
            flood_received=float(received),
            flood_max_ms=max(lat) if lat else float("nan"),
        )
        bad = listener.counter.counts()
        figures["bad_input_other_than_flood"] = float(sum(v for k, v in bad.items() if k != "flood"))
    print(
        f"full (generation 2) GC collections during the run: {len(gc_pauses)}, longest "
        f"{max(gc_pauses, default=0.0):.1f} ms (gc.freeze {'off' if args.no_gc_freeze else 'on'})"
    )
    figures["gc2_max_ms"] = max(gc_pauses, default=0.0)
    print(" ".join(f"{k}={v:.3f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
