"""MMR re-ranking and duplicate removal."""

from __future__ import annotations

import numpy as np

from companion.ranking.mmr import diversify


def _unit(*rows: list[float]) -> np.ndarray:
    v = np.array(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# a and b are close (cos 0.9); c is orthogonal to a
A = [1.0, 0.0, 0.0]
B = [0.9, np.sqrt(1 - 0.81), 0.0]
C = [0.0, 0.0, 1.0]


def test_lambda_one_keeps_score_order() -> None:
    got = diversify(np.array([1.0, 0.95, 0.8]), 3, hash_codes=np.arange(3), vectors=_unit(A, B, C), lam=1.0)
    assert got.tolist() == [0, 1, 2]


def test_lambda_point_seven_prefers_the_diverse_item() -> None:
    # after a: b → 0.7·0.95 − 0.3·0.9 = 0.395, c → 0.7·0.8 − 0 = 0.56
    got = diversify(np.array([1.0, 0.95, 0.8]), 3, hash_codes=np.arange(3), vectors=_unit(A, B, C), lam=0.7)
    assert got.tolist() == [0, 2, 1]


def test_near_duplicates_and_same_hash_are_dropped() -> None:
    near_a = [1.0, 0.15, 0.0]  # cos(a, near_a) ≈ 0.989 ≥ 0.98
    vectors = _unit(A, near_a, C, C)
    got = diversify(
        np.array([1.0, 0.99, 0.5, 0.4]),
        4,
        hash_codes=np.array([1, 2, 3, 3]),
        vectors=vectors,
        lam=0.7,
        dup_threshold=0.98,
    )
    assert got.tolist() == [0, 2]


def test_seeds_count_as_chosen() -> None:
    got = diversify(
        np.array([1.0, 0.5]),
        2,
        hash_codes=np.array([1, 2]),
        vectors=_unit(A, C),
        lam=0.7,
        dup_threshold=0.98,
        seed_vectors=_unit(A),
        seed_hashes=np.array([9]),
    )
    assert got.tolist() == [1]
    got = diversify(np.array([1.0, 0.5]), 2, hash_codes=np.array([1, 2]), lam=None, seed_hashes=np.array([2]))
    assert got.tolist() == [0]


def test_without_vectors_order_is_by_score_with_hash_dedupe() -> None:
    got = diversify(np.array([0.3, 0.9, 0.9, 0.1]), 3, hash_codes=np.array([1, 2, 2, 3]))
    assert got.tolist() == [1, 0, 3]


def test_memory_grows_with_the_pool_not_its_square() -> None:
    """The 20k-row boosted group of a big library: a full Gram matrix would be 3.2 GB."""
    import tracemalloc

    rng = np.random.default_rng(3)
    m, d = 20_000, 64
    vecs = rng.normal(size=(m, d)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    scores = rng.random(m)
    tracemalloc.start()
    got = diversify(scores, 10, hash_codes=np.arange(m), vectors=vecs, lam=0.7, dup_threshold=0.98)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(got) == 10 and got[0] == int(np.argmax(scores))
    assert peak < 50 * m * 8  # a few (m,) float64 arrays and one (m, d) copy at most
