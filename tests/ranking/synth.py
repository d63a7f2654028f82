"""Synthetic libraries for the ranking tests: clustered unit vectors and plausible columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.ranking.candidates import Candidates

NOW = 1_750_000_000.0  # a fixed "now" (unix s) for freshness and rationale
DAY = 86_400.0


def clustered_vectors(
    n: int, dim: int, clusters: int, rng: np.random.Generator, spread: float = 0.35
) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 unit vectors around ``clusters`` random centres, and (n,) cluster labels."""
    centres = rng.normal(size=(clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, clusters, n)
    v = centres[labels] + spread * rng.normal(size=(n, dim)) / np.sqrt(dim) * 3
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32), labels


@dataclass
class Library:
    candidates: Candidates
    vectors: np.ndarray
    labels: np.ndarray


def make_library(n: int = 2000, dim: int = 32, clusters: int = 20, seed: int = 0) -> Library:
    """A library of ``n`` samples: half loops (60–180 BPM), 2/3 pitched, tags, folders, ages."""
    rng = np.random.default_rng(seed)
    vectors, labels = clustered_vectors(n, dim, clusters, rng)
    moods = ["dark", "warm", "bright", "gritty"]
    records = []
    for i in range(n):
        loop = i % 2 == 1
        pitched = i % 3 != 0
        records.append(
            {
                "id": 1000 + i,
                "path": f"/lib/pack{i % 5}/{'loops' if loop else 'hits'}/s{i:05d}.wav",
                "content_hash": f"h{i:05d}",
                "kind": "loop" if loop else "one-shot",
                "bpm": float(rng.integers(60, 181)) if loop and i % 7 else None,
                "key_pc": int(rng.integers(0, 12)) if pitched else None,
                "mode": int(rng.integers(0, 2)) if pitched else None,
                "pitched": pitched,
                "added_at": NOW - float(rng.uniform(0, 120)) * DAY,
                "duration_s": 2.0,
                "tags": [moods[int(rng.integers(0, 4))]] if i % 4 == 0 else [],
            }
        )
    return Library(Candidates.from_records(records), vectors, labels)


def record(sid: int, **fields) -> dict:
    """One candidate record with neutral defaults (a loop, unknown tempo/key, added now)."""
    base = {
        "id": sid,
        "path": f"/lib/s{sid}.wav",
        "content_hash": f"h{sid}",
        "kind": "loop",
        "bpm": None,
        "key_pc": None,
        "mode": None,
        "added_at": NOW,
    }
    base.update(fields)
    return base
