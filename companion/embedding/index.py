"""Approximate nearest-neighbour index, one per embedding space (hnswlib HNSW graph).

Vectors are L2-normalised and compared by inner product (hnswlib ``space="ip"``, distance
``1 − ⟨a, b⟩``), so similarity = cosine. Labels are catalog sample ids.

The index is *derived* data (docs/architecture.md §1): the catalog (sqlite-vec) is the source of truth.
:meth:`VectorIndex.save` writes three files beside the catalog::

    <path>            hnswlib graph (hnswlib ``save_index``)
    <path>.json       sidecar: format, space, dim, count, ids fingerprint, HNSW parameters
    <path>.ids.npy    (count,) int64 live ids (deleted ones excluded)

and :meth:`load` refuses a set whose parts disagree. :meth:`matches` compares the fingerprint
of the id set with the catalog's, so a caller detects a stale index and rebuilds it
(:func:`load_or_build`).

HNSW: Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
Hierarchical Navigable Small World graphs", TPAMI 2018. Parameters ``M``, ``ef_construction``
and ``ef`` as in hnswlib's README; the defaults reach recall@10 ≥ 0.98 against brute force on
clustered 512-d data (``benchmarks/index_recall.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from companion.errors import VectorIndexError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_M = 24
DEFAULT_EF_CONSTRUCTION = 200
# Query-time ef (a search parameter, not stored in the graph): at 1M clustered 512-d vectors,
# ef 96 gave recall@10 0.977–0.984 depending on the build, ef 128 gave 0.997 at p50 0.53 ms
# (benchmarks/index_recall.py --n 1000000 --ef N).
DEFAULT_EF = 128
# Above this many allowed ids, a filtered query walks the graph with a filter callback;
# below, it scores the allowed vectors exactly (faster and exact for small sets).
EXACT_FILTER_LIMIT = 4096
ADD_CHUNK = 65_536  # vectors normalised and inserted per hnswlib call


def ids_fingerprint(ids: Iterable[int] | np.ndarray) -> str:
    """SHA-256 (hex) of the sorted unique int64 ids: equal id sets give equal fingerprints."""
    arr = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64))
    return hashlib.sha256(arr.astype("<i8").tobytes()).hexdigest()


def normalise(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows. Args: (n, d) array. Returns (n, d) float32; zero rows stay zero."""
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _ids_file(path: Path) -> Path:
    return path.with_name(path.name + ".ids.npy")


class VectorIndex:
    """An HNSW cosine index over the vectors of one embedding space.

    Thread-safe: one lock serialises writes, saves and queries (queries take ~1 ms).

    Args:
        space: embedding space name, e.g. ``"clap-htsat-unfused/v1"``.
        dim: vector dimension.
        M: HNSW links per node.
        ef_construction: candidate list size while building.
        ef: candidate list size while querying (raised to ``k`` when ``k`` is larger).
        capacity: initial number of slots (grows by half when full).
    """

    def __init__(
        self,
        space: str,
        dim: int,
        *,
        M: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef: int = DEFAULT_EF,
        capacity: int = 1024,
    ) -> None:
        self._setup(space, dim, M, ef_construction, ef)
        self._index.init_index(
            max_elements=max(capacity, 1),
            M=M,
            ef_construction=ef_construction,
            allow_replace_deleted=True,
        )
        self._index.set_ef(ef)

    def _setup(self, space: str, dim: int, M: int, ef_construction: int, ef: int) -> None:
        if dim <= 0:
            raise VectorIndexError(f"vector dimension must be positive, got {dim}")
        self.space = space
        self.dim = dim
        self.M = M
        self.ef_construction = ef_construction
        self.ef = ef
        self._lock = threading.RLock()
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._ids: set[int] = set()
        self._deleted: set[int] = set()  # labels marked deleted, still in the graph

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        space: str,
        ids: np.ndarray,
        vectors: np.ndarray,
        *,
        num_threads: int = -1,
        **params: Any,
    ) -> VectorIndex:
        """Build an index from scratch.

        Args:
            space: embedding space name.
            ids: (n,) int64 sample ids, unique.
            vectors: (n, d) float32 vectors (normalised here if they are not).
            num_threads: hnswlib worker threads (−1 = all cores).
            **params: ``M``, ``ef_construction``, ``ef`` (see the class).
        """
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise VectorIndexError(f"vectors must be (n, d), got shape {vectors.shape}")
        index = cls(space, vectors.shape[1], capacity=max(len(ids), 1), **params)
        index.add(ids, vectors, num_threads=num_threads)
        return index

    def add(self, ids: np.ndarray | Iterable[int], vectors: np.ndarray, *, num_threads: int = -1) -> None:
        """Add vectors, or replace the vectors of ids already present (also deleted ones).

        Args:
            ids: (n,) int64 sample ids.
            vectors: (n, dim) float32; normalised here.

        Raises:
            VectorIndexError: on a shape mismatch or duplicate ids in one call.
        """
        ids_arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        vecs = np.asarray(vectors)
        if vecs.ndim == 1 and len(ids_arr) == 1:
            vecs = vecs[None, :]
        if vecs.shape != (len(ids_arr), self.dim):
            raise VectorIndexError(
                f"expected vectors of shape ({len(ids_arr)}, {self.dim}) for space {self.space!r}, got {vecs.shape}"
            )
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise VectorIndexError("duplicate ids in one add() call; pass each sample once")
        if not len(ids_arr):
            return
        with self._lock:
            present = [i for i in ids_arr.tolist() if i in self._ids]
            revived = [i for i in ids_arr.tolist() if i in self._deleted]
            for i in revived:  # a deleted label keeps its slot: un-delete, then update
                self._index.unmark_deleted(i)
                self._deleted.discard(i)
            new = len(ids_arr) - len(present) - len(revived)
            need = self._index.get_current_count() + new
            if need > self._index.get_max_elements():
                self._index.resize_index(max(need, int(self._index.get_max_elements() * 1.5)))
            for start in range(0, len(ids_arr), ADD_CHUNK):  # normalised copies stay small
                part = slice(start, start + ADD_CHUNK)
                self._index.add_items(normalise(vecs[part]), ids_arr[part], num_threads=num_threads)
            self._ids.update(ids_arr.tolist())

    def remove(self, ids: Iterable[int]) -> int:
        """Mark ids deleted (hnswlib ``mark_deleted``); ids not present are ignored.

        Returns:
            How many ids were removed.
        """
        removed = 0
        with self._lock:
            for i in ids:
                i = int(i)
                if i in self._ids:
                    self._index.mark_deleted(i)
                    self._ids.discard(i)
                    self._deleted.add(i)
                    removed += 1
        return removed

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, sample_id: object) -> bool:
        return sample_id in self._ids

    def ids(self) -> np.ndarray:
        """(n,) int64 live ids, sorted."""
        with self._lock:
            return np.array(sorted(self._ids), dtype=np.int64)

    def fingerprint(self) -> str:
        """Fingerprint of the live id set (see :func:`ids_fingerprint`)."""
        return ids_fingerprint(self.ids())

    def matches(self, ids: Iterable[int] | np.ndarray) -> bool:
        """True when the index holds exactly these ids (else it is stale: rebuild or update)."""
        return self.fingerprint() == ids_fingerprint(ids)

    def get_vectors(self, ids: Iterable[int]) -> np.ndarray:
        """(n, dim) float32 stored (normalised) vectors of live ids.

        Raises:
            VectorIndexError: if one id is not in the index.
        """
        ids_list = [int(i) for i in ids]
        missing = [i for i in ids_list if i not in self._ids]
        if missing:
            raise VectorIndexError(f"ids {missing[:5]} are not in the {self.space!r} index")
        with self._lock:
            if not ids_list:
                return np.empty((0, self.dim), np.float32)
            return np.asarray(self._index.get_items(ids_list), dtype=np.float32)

    # ------------------------------------------------------------------ querying

    def query(
        self, vectors: np.ndarray, k: int, filter_ids: Iterable[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest live items of each query vector, most similar first.

        Args:
            vectors: (q, dim) or (dim,) float32 query vectors (normalised here).
            k: neighbours per query.
            filter_ids: if given, only these ids may be returned. Small sets (≤ 4096) are
                scored exactly; larger ones walk the graph with a filter callback.

        Returns:
            ``(ids, sims)``: (q, k) int64 ids and (q, k) float32 cosine similarities. When fewer
            than ``k`` items qualify, rows are padded with id −1 and similarity −inf.
        """
        q = normalise(vectors)
        if q.shape[1] != self.dim:
            raise VectorIndexError(f"query dimension {q.shape[1]} != index dimension {self.dim}")
        out_ids = np.full((len(q), k), -1, dtype=np.int64)
        out_sims = np.full((len(q), k), -np.inf, dtype=np.float32)
        if k <= 0:
            return out_ids, out_sims
        with self._lock:
            if filter_ids is not None:
                allowed = np.unique(
                    np.asarray(
                        list(filter_ids) if not isinstance(filter_ids, np.ndarray) else filter_ids,
                        dtype=np.int64,
                    )
                )
                allowed = allowed[np.fromiter((int(i) in self._ids for i in allowed), bool, len(allowed))]
                if len(allowed) <= EXACT_FILTER_LIMIT:
                    return self._exact(q, k, allowed, out_ids, out_sims)
                allowed_set = set(allowed.tolist())
                kk = min(k, len(allowed))
                return self._knn(q, kk, out_ids, out_sims, allowed_set.__contains__, len(allowed))
            kk = min(k, len(self._ids))
            if kk == 0:
                return out_ids, out_sims
            return self._knn(q, kk, out_ids, out_sims, None, len(self._ids))

    def _knn(
        self,
        q: np.ndarray,
        kk: int,
        out_ids: np.ndarray,
        out_sims: np.ndarray,
        filt: Callable[[int], bool] | None,
        live: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        self._index.set_ef(max(self.ef, kk))
        try:
            # one thread for a few queries: hnswlib starts fresh threads per call otherwise
            threads = 1 if filt is not None or len(q) < 8 else -1
            labels, dist = self._index.knn_query(q, k=kk, num_threads=threads, filter=filt)
        except RuntimeError:
            # hnswlib cannot fill k results (many deletions, tiny graph): answer exactly.
            allowed = (
                self.ids() if filt is None else np.array([i for i in sorted(self._ids) if filt(i)], dtype=np.int64)
            )
            return self._exact(q, kk, allowed, out_ids, out_sims)
        out_ids[:, :kk] = labels.astype(np.int64)
        out_sims[:, :kk] = 1.0 - dist
        return out_ids, out_sims

    def _exact(
        self, q: np.ndarray, k: int, allowed: np.ndarray, out_ids: np.ndarray, out_sims: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if not len(allowed):
            return out_ids, out_sims
        vecs = np.asarray(self._index.get_items(allowed.tolist()), dtype=np.float32)
        sims = q @ vecs.T  # (q, a)
        kk = min(k, len(allowed))
        top = (
            np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            if kk < len(allowed)
            else np.tile(np.arange(len(allowed)), (len(q), 1))
        )
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        out_ids[:, :kk] = allowed[top]
        out_sims[:, :kk] = np.take_along_axis(top_sims, order, axis=1)
        return out_ids, out_sims

    # ------------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        """Write the graph, the sidecar json and the id list (each atomically, via rename).

        The sidecar is written last: a crash mid-save leaves a set whose fingerprint or count
        disagrees, which :meth:`load` rejects, so the caller rebuilds.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            ids = self.ids()
            tmp = path.with_name(path.name + ".tmp")
            self._index.save_index(str(tmp))
            os.replace(tmp, path)
            tmp_ids = path.with_name(path.name + ".ids.tmp.npy")
            np.save(tmp_ids, ids)
            os.replace(tmp_ids, _ids_file(path))
            meta = {
                "format": FORMAT_VERSION,
                "space": self.space,
                "dim": self.dim,
                "count": int(len(ids)),
                "fingerprint": ids_fingerprint(ids),
                "M": self.M,
                "ef_construction": self.ef_construction,
                "ef": self.ef,
                "elements": int(self._index.get_current_count()),
            }
            tmp_meta = path.with_name(path.name + ".json.tmp")
            tmp_meta.write_text(json.dumps(meta, indent=2), encoding="utf-8")
            os.replace(tmp_meta, _sidecar(path))

    @staticmethod
    def read_sidecar(path: Path) -> dict[str, Any]:
        """The sidecar json of a saved index.

        Raises:
            VectorIndexError: when it is missing or unreadable.
        """
        side = _sidecar(Path(path))
        try:
            return json.loads(side.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise VectorIndexError(
                f"vector index sidecar {side} is missing or unreadable: {exc}; rebuild the index"
            ) from exc

    @classmethod
    def load(cls, path: Path, space: str, dim: int) -> VectorIndex:
        """Load an index saved by :meth:`save`.

        Raises:
            VectorIndexError: files missing or inconsistent, or saved for another space/dim.
        """
        path = Path(path)
        meta = cls.read_sidecar(path)
        if meta.get("format") != FORMAT_VERSION:
            raise VectorIndexError(
                f"vector index {path} has format {meta.get('format')}, expected {FORMAT_VERSION}; rebuild it"
            )
        if meta.get("space") != space or meta.get("dim") != dim:
            raise VectorIndexError(
                f"vector index {path} holds space {meta.get('space')!r} dim {meta.get('dim')}, "
                f"not {space!r} dim {dim}; rebuild it"
            )
        try:
            ids = np.load(_ids_file(path))
        except (OSError, ValueError) as exc:
            raise VectorIndexError(f"id list of vector index {path} is unreadable: {exc}; rebuild it") from exc
        if len(ids) != meta.get("count") or ids_fingerprint(ids) != meta.get("fingerprint"):
            raise VectorIndexError(
                f"vector index {path}: id list disagrees with its sidecar (interrupted save?); rebuild it"
            )
        index = cls.__new__(cls)
        index._setup(
            space,
            dim,
            int(meta.get("M", DEFAULT_M)),
            int(meta.get("ef_construction", DEFAULT_EF_CONSTRUCTION)),
            max(int(meta.get("ef", DEFAULT_EF)), DEFAULT_EF),  # indexes saved with a lower ef
        )
        try:
            index._index.load_index(str(path), max_elements=0, allow_replace_deleted=True)
        except RuntimeError as exc:
            raise VectorIndexError(f"vector index graph {path} is unreadable: {exc}; rebuild it") from exc
        if index._index.get_current_count() != meta.get("elements", index._index.get_current_count()):
            raise VectorIndexError(f"vector index graph {path} disagrees with its sidecar; rebuild it")
        index._index.set_ef(index.ef)
        index._ids = set(ids.tolist())
        index._deleted = set(index._index.get_ids_list()) - index._ids
        return index


def load_or_build(
    path: Path,
    space: str,
    dim: int,
    catalog_ids: np.ndarray,
    fetch: Callable[[], tuple[np.ndarray, np.ndarray]],
) -> tuple[VectorIndex, bool]:
    """Load the persisted index of a space, or rebuild it from the catalog when missing or stale.

    Args:
        path: index file beside the catalog.
        space: embedding space name.
        dim: vector dimension.
        catalog_ids: (n,) int64 ids that have a vector of this space in the catalog.
        fetch: returns ``(ids (n,) int64, vectors (n, dim) float32)`` from sqlite-vec; only
            called when a rebuild is needed.

    Returns:
        ``(index, rebuilt)``; a rebuilt index has been saved to ``path``.
    """
    try:
        index = VectorIndex.load(path, space, dim)
        if index.matches(catalog_ids):
            return index, False
        log.info("vector index %s is stale (ids changed); rebuilding it", path)
    except VectorIndexError as exc:
        log.info("vector index %s cannot be used (%s); rebuilding it", path, exc)
    ids, vectors = fetch()
    index = VectorIndex.build(space, ids, vectors)
    index.save(path)
    return index, True
