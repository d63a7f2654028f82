"""Synthetic sample libraries for the ranking benchmarks: clustered vectors and plausible columns.

Vectors are hierarchical clusters on the unit sphere, so neighbours mean something: ~n/2000
"genres", each with ~20 "packs"; a sample = pack centre + noise, then L2-normalised. Spreads
vary per pack (nearest-neighbour cosines ≈ 0.5–0.9), like embeddings of real packs.

Columns: half loops (60–180 BPM, 10 % unknown), 60 % pitched with a random key, 0–3 tags from
30 words, ``added_at`` over two years, 1 % content-hash duplicates, 50 folders.
"""

from __future__ import annotations

import numpy as np

from companion.ranking.candidates import Candidates

TAG_WORDS = (
    "dark warm bright gritty dusty airy punchy soft wet dry lofi clean analog digital "
    "techno house dnb trap hiphop ambient jazz funk dub garage breaks acid minimal cinematic "
    "vocal tape"
).split()
NOW = 1_750_000_000.0


GENERATOR_VERSION = 2  # bump when the vectors change: cached files carry it in their names


def _model(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pack centres (packs, dim) and per-pack noise scales (packs,) for a library of ``n``."""
    rng = np.random.default_rng([seed, 0])
    genres = max(n // 2000, 4)
    packs = genres * 20
    g = rng.normal(size=(genres, dim)).astype(np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    centres = g[rng.integers(0, genres, packs)] + rng.normal(scale=0.8 / np.sqrt(dim), size=(packs, dim)).astype(
        np.float32
    )
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.uniform(0.5, 1.2, packs).astype(np.float32) / np.sqrt(dim)
    return centres, spread


def _draw(
    centres: np.ndarray,
    spread: np.ndarray,
    count: int,
    rng: np.random.Generator,
    chunk: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, len(centres), count).astype(np.int32)
    out = np.empty((count, centres.shape[1]), dtype=np.float32)
    for start in range(0, count, chunk):
        lab = labels[start : start + chunk]
        noise = rng.standard_normal(size=(len(lab), centres.shape[1]), dtype=np.float32)
        block = centres[lab] + noise * spread[lab, None]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + len(lab)] = block
    return out, labels


def clustered_vectors(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 unit vectors in hierarchical clusters and (n,) int32 pack labels."""
    centres, spread = _model(n, dim, seed)
    return _draw(centres, spread, n, np.random.default_rng([seed, 1]))


def fresh_points(n: int, dim: int, count: int, seed: int = 0) -> np.ndarray:
    """(count, dim) new samples of the packs of the library ``clustered_vectors(n, dim, seed)``.

    They follow the library's distribution but are not members: realistic, hard queries
    (their nearest neighbours are pack mates at similar distances).
    """
    centres, spread = _model(n, dim, seed)
    return _draw(centres, spread, count, np.random.default_rng([seed, 2]))[0]


def candidates(n: int, seed: int = 0) -> Candidates:
    """A library of ``n`` samples with ids 1…n (see the module docstring)."""
    rng = np.random.default_rng(seed + 1)
    ids = np.arange(1, n + 1, dtype=np.int64)
    is_loop = rng.random(n) < 0.5
    bpm = np.where(is_loop & (rng.random(n) < 0.9), rng.integers(60, 181, n), np.nan).astype(np.float32)
    pitched = rng.random(n) < 0.6
    key_pc = np.where(pitched, rng.integers(0, 12, n), -1).astype(np.int8)
    mode = np.where(pitched, rng.integers(0, 2, n), -1).astype(np.int8)
    folder_of = rng.integers(0, 50, n)
    folders = [f"/library/pack{f:02d}" for f in range(50)]
    paths = [f"{folders[f]}/sample_{i:07d}.wav" for i, f in zip(ids.tolist(), folder_of.tolist(), strict=False)]
    dup = rng.random(n) < 0.01
    hashes = [f"h{(i - 1 if d and i > 1 else i):08x}" for i, d in zip(ids.tolist(), dup.tolist(), strict=False)]
    n_tags = rng.integers(0, 4, n)
    words = rng.integers(0, len(TAG_WORDS), (n, 3))
    tags = [frozenset(TAG_WORDS[w] for w in row[:k]) for row, k in zip(words.tolist(), n_tags.tolist(), strict=False)]
    return Candidates(
        ids=ids,
        paths=paths,
        names=[p.rsplit("/", 1)[1] for p in paths],
        folders=[folders[f] for f in folder_of.tolist()],
        content_hash=hashes,
        is_loop=is_loop,
        bpm=bpm,
        key_pc=key_pc,
        mode=mode,
        pitched=pitched,
        added_at=NOW - rng.uniform(0, 730, n) * 86_400.0,
        duration_s=rng.uniform(0.2, 16, n).astype(np.float32),
        kind=["loop" if x else "one-shot" for x in is_loop.tolist()],
        tags=tags,
    )
