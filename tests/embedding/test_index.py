"""HNSW vector index: recall against brute force, updates, filters, persistence, staleness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from companion.embedding.index import VectorIndex, ids_fingerprint, load_or_build
from companion.errors import VectorIndexError


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n // 100, 2), dim))
    v = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _brute(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sims = queries @ vectors.T
    return ids[np.argsort(-sims, axis=1)[:, :k]]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    vectors = _clustered(4000, 48)
    ids = np.arange(4000, dtype=np.int64) * 7 + 3
    return ids, vectors


@pytest.fixture(scope="module")
def built(data) -> VectorIndex:
    ids, vectors = data
    return VectorIndex.build("fingerprint/v1", ids, vectors)


def test_recall_at_10_against_brute_force(data, built) -> None:
    ids, vectors = data
    queries = _clustered(200, 48, seed=9)
    got, sims = built.query(queries, 10)
    truth = _brute(vectors, ids, queries, 10)
    recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth, strict=True)])
    assert recall >= 0.98
    assert got.dtype == np.int64 and sims.dtype == np.float32 and sims.shape == (200, 10)
    assert np.all(np.diff(sims, axis=1) <= 1e-6)  # most similar first
    # similarities are cosines
    pos = {int(i): p for p, i in enumerate(ids)}
    expected = np.einsum("qd,qkd->qk", queries, vectors[[[pos[int(i)] for i in row] for row in got]])
    np.testing.assert_allclose(sims, expected, atol=1e-4)


def test_add_replace_remove_and_revive(data) -> None:
    ids, vectors = data
    index = VectorIndex.build("s", ids[:100], vectors[:100])
    assert len(index) == 100 and int(ids[5]) in index
    index.add(ids[100:3000], vectors[100:3000])  # grows past the initial capacity
    assert len(index) == 3000
    # replace the vector of an existing id
    index.add(ids[:1], vectors[2000:2001])
    got, _sims = index.query(vectors[2000], 2)
    assert set(got[0].tolist()) == {int(ids[0]), int(ids[2000])}
    assert index.remove([ids[0], 999_999]) == 1
    assert int(ids[0]) not in index and len(index) == 2999
    assert int(ids[0]) not in index.query(vectors[2000], 5)[0][0].tolist()
    index.add(ids[:1], vectors[:1])  # a deleted id comes back
    assert index.query(vectors[0], 1)[0][0, 0] == ids[0]
    assert len(index) == 3000


def test_filter_ids_small_and_large(data, built) -> None:
    ids, vectors = data
    q = vectors[10]
    small = ids[::97]
    got, _sims = built.query(q, 5, filter_ids=small)
    assert set(got[0].tolist()) <= set(small.tolist())
    assert got[0].tolist() == _brute(vectors[::97], small, q[None], 5)[0].tolist()
    large = ids[ids % 2 == 1]  # ~2000 ids, still under EXACT_FILTER_LIMIT: exact path
    got, _ = built.query(q, 10, filter_ids=large)
    assert set(got[0].tolist()) <= set(large.tolist())


def test_filter_callback_path(monkeypatch, data, built) -> None:
    import companion.embedding.index as mod

    ids, vectors = data
    monkeypatch.setattr(mod, "EXACT_FILTER_LIMIT", 10)
    allowed = ids[ids % 3 == 0]
    got, _ = built.query(vectors[:3], 10, filter_ids=allowed)
    assert set(got.ravel().tolist()) <= set(allowed.tolist())
    mask = np.isin(ids, allowed)
    truth = _brute(vectors[mask], ids[mask], vectors[:3], 10)
    recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth, strict=True)])
    assert recall >= 0.9


def test_k_larger_than_the_index_is_padded() -> None:
    vectors = _clustered(5, 8)
    index = VectorIndex.build("s", np.arange(5), vectors)
    got, sims = index.query(vectors[0], 8)
    assert got[0, :5].tolist() != [-1] * 5 and got[0, 5:].tolist() == [-1, -1, -1]
    assert np.isneginf(sims[0, 5:]).all()
    got, _ = index.query(vectors[0], 4, filter_ids=[1, 2])
    assert sorted(got[0, :2].tolist()) == [1, 2] and got[0, 2:].tolist() == [-1, -1]


def test_shape_errors() -> None:
    index = VectorIndex("s", 8)
    with pytest.raises(VectorIndexError, match="shape"):
        index.add([1, 2], np.ones((2, 4), np.float32))
    with pytest.raises(VectorIndexError, match="duplicate"):
        index.add([1, 1], np.ones((2, 8), np.float32))
    with pytest.raises(VectorIndexError, match="dimension"):
        index.query(np.ones(4, np.float32), 1)


def test_save_load_round_trip_and_staleness(tmp_path: Path, data) -> None:
    ids, vectors = data
    index = VectorIndex.build("clap/v1", ids[:1000], vectors[:1000])
    index.remove(ids[:10])
    path = tmp_path / "idx" / "clap.hnsw"
    index.save(path)
    meta = json.loads((tmp_path / "idx" / "clap.hnsw.json").read_text())
    assert meta["space"] == "clap/v1" and meta["dim"] == 48 and meta["count"] == 990
    assert meta["fingerprint"] == ids_fingerprint(ids[10:1000])
    loaded = VectorIndex.load(path, "clap/v1", 48)
    assert len(loaded) == 990 and loaded.matches(ids[10:1000][::-1])
    assert not loaded.matches(ids[:1000])
    q = vectors[500:520]
    np.testing.assert_array_equal(loaded.query(q, 10)[0], index.query(q, 10)[0])
    assert int(ids[0]) not in loaded.query(vectors[0], 10)[0][0].tolist()
    loaded.add(ids[:1], vectors[:1])  # revive a deleted id after loading
    assert loaded.query(vectors[0], 1)[0][0, 0] == ids[0]


def test_load_refuses_foreign_or_inconsistent_files(tmp_path: Path, data) -> None:
    ids, vectors = data
    path = tmp_path / "a.hnsw"
    with pytest.raises(VectorIndexError, match="missing"):
        VectorIndex.load(path, "s", 48)
    VectorIndex.build("s", ids[:200], vectors[:200]).save(path)
    with pytest.raises(VectorIndexError, match="not 'other'"):
        VectorIndex.load(path, "other", 48)
    with pytest.raises(VectorIndexError, match="dim 32"):
        VectorIndex.load(path, "s", 32)
    np.save(tmp_path / "a.hnsw.ids.npy", ids[:199])  # as if a save was interrupted
    with pytest.raises(VectorIndexError, match="disagrees"):
        VectorIndex.load(path, "s", 48)


def test_load_or_build_rebuilds_when_missing_or_stale(tmp_path: Path, data) -> None:
    ids, vectors = data
    path = tmp_path / "fp.hnsw"
    calls: list[int] = []

    def fetch(n: int):
        def inner():
            calls.append(n)
            return ids[:n], vectors[:n]

        return inner

    index, rebuilt = load_or_build(path, "fp", 48, ids[:300], fetch(300))
    assert rebuilt and len(index) == 300 and calls == [300]
    index, rebuilt = load_or_build(path, "fp", 48, ids[:300], fetch(300))
    assert not rebuilt and calls == [300]  # fresh: loaded, catalog not read
    index, rebuilt = load_or_build(path, "fp", 48, ids[:350], fetch(350))
    assert rebuilt and len(index) == 350 and calls == [300, 350]
    (tmp_path / "fp.hnsw.json").write_text("{not json")
    index, rebuilt = load_or_build(path, "fp", 48, ids[:350], fetch(350))
    assert rebuilt and VectorIndex.load(path, "fp", 48).matches(ids[:350])
