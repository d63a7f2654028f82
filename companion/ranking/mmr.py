"""Maximal Marginal Relevance re-ranking and duplicate removal for the chosen list.

MMR (Carbonell & Goldstein, SIGIR 1998) picks items one at a time, each maximising::

    λ · score(i) − (1 − λ) · max_{j ∈ chosen} cos(v_i, v_j)

so the list trades relevance for diversity; λ is ``mmr.lambda`` of the fusion rules (0.7).
The first pick is the best-scored item (nothing chosen yet, the penalty is 0).

While choosing, duplicates are dropped (docs/architecture.md §3): an item with the same content hash as a
chosen one, or whose cosine to a chosen one is ≥ ``filters.duplicates.cosine_threshold``.

With ``groups`` (format-2 cold start: the instrument of each item), an item's value also loses
``repeat_cost`` once per chosen item of its group, so the list spreads across groups::

    value(i) = λ · score(i) − (1 − λ) · max_sim(i) − repeat_cost(i) · #chosen in group(i)
"""

from __future__ import annotations

import numpy as np


def diversify(
    scores: np.ndarray,
    k: int,
    *,
    hash_codes: np.ndarray,
    vectors: np.ndarray | None = None,
    lam: float | None = None,
    dup_threshold: float = 1.0,
    seed_vectors: np.ndarray | None = None,
    seed_hashes: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    repeat_cost: np.ndarray | None = None,
    seed_groups: np.ndarray | None = None,
) -> np.ndarray:
    """Choose up to ``k`` items, best first.

    Args:
        scores: (m,) fused scores; items must be given in tie-break order (a stable sort by
            score keeps that order among equal scores).
        k: how many to choose.
        hash_codes: (m,) int64 content-hash codes (equal code = same audio).
        vectors: (m, d) float32 L2-normalised vectors, or None (no near-duplicate check and
            no MMR). Rows of zeros stand for items without a vector: never near-duplicates.
        lam: MMR λ in [0, 1]; None picks by score alone (still dropping duplicates).
        dup_threshold: cosine at or above which two items are the same sound.
        seed_vectors: (p, d) vectors of items already placed before these (pinned ones): they
            count as chosen for the penalty and the duplicate check.
        seed_hashes: (p,) hash codes of those items.
        groups: (m,) int group of each item (its instrument code), or None (no spread).
        repeat_cost: (m,) float64 subtracted from an item's value per chosen item of its
            group (required with ``groups``).
        seed_groups: (p,) groups of the seed items (they count as chosen).

    Returns:
        (≤k,) int64 positions into ``scores``, in display order.
    """
    m = len(scores)
    scores = np.asarray(scores, dtype=np.float64)
    alive = np.ones(m, dtype=bool)
    if seed_hashes is not None and len(seed_hashes):
        alive &= ~np.isin(hash_codes, seed_hashes)
    max_sim = np.zeros(m, dtype=np.float64)
    # Cosines to the chosen items are computed one column per pick, (m, d) @ (d,): O(k·m·d)
    # time and O(m) memory. A full (m, m) Gram matrix would cost O(m²) — 3 GB and seconds for
    # the 20k-row boosted groups of a big library.
    v: np.ndarray | None = None
    if vectors is not None and m:
        v = np.asarray(vectors, dtype=np.float32)
        if seed_vectors is not None and len(seed_vectors):
            seed_sim = (v @ np.asarray(seed_vectors, dtype=np.float32).T).max(axis=1)
            max_sim = np.maximum(max_sim, seed_sim.astype(np.float64))
            alive &= max_sim < dup_threshold
    repeats: np.ndarray | None = None
    if groups is not None:
        groups = np.asarray(groups)
        repeats = np.zeros(m, dtype=np.float64)
        if seed_groups is not None:
            for g in np.asarray(seed_groups).tolist():
                repeats[groups == g] += 1.0
        cost = np.asarray(repeat_cost, dtype=np.float64)
    chosen: list[int] = []
    while len(chosen) < k and alive.any():
        if lam is None or v is None:
            value = scores
        else:
            value = lam * scores - (1.0 - lam) * max_sim
        if repeats is not None:
            value = value - cost * repeats
        masked = np.where(alive, value, -np.inf)
        pick = int(np.argmax(masked))  # first maximum: keeps the tie-break order
        chosen.append(pick)
        alive[pick] = False
        alive &= hash_codes != hash_codes[pick]
        if repeats is not None and groups is not None:  # both or neither
            repeats[groups == groups[pick]] += 1.0
        if v is not None:
            np.maximum(max_sim, (v @ v[pick]).astype(np.float64), out=max_sim)
            alive &= max_sim < dup_threshold
    return np.asarray(chosen, dtype=np.int64)
