"""The vector index of each embedding space, derived from the catalog and rebuilt when stale.

Indexes live beside the catalog in ``<catalog>.indexes/<space-slug>.hnsw`` (hnswlib, with a
JSON sidecar written by :class:`companion.embedding.index.VectorIndex`). The catalog is the
source of truth: an index whose id set no longer matches the catalog's vectors for its space is
rebuilt from sqlite-vec, so a crash between the two never leaves them silently disagreeing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from companion.embedding.index import VectorIndex
from companion.errors import CompanionError
from companion.library import vectors
from companion.library.catalog import Catalog


def index_dir(catalog_path: Path) -> Path:
    """Folder that holds the vector indexes of one catalog."""
    return catalog_path.with_name(catalog_path.name + ".indexes")


def index_path(catalog_path: Path, space: str) -> Path:
    """File of the index of one space, e.g. ``library.db.indexes/fingerprint-v1.hnsw``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", space).strip("-")
    return index_dir(catalog_path) / f"{slug}.hnsw"


def load_or_build(
    catalog: Catalog, space: str, ids: np.ndarray | None = None, vecs: np.ndarray | None = None, *, save: bool = True
) -> tuple[np.ndarray, np.ndarray, VectorIndex | None]:
    """The vectors of one space and an index that matches them, rebuilding it when stale.

    Args:
        save: write a rebuilt index to its file (False: keep it in memory only, e.g. while a
            scan in another process may be writing that file).

    Returns:
        ``(sample_ids (m,) int64, vectors (m, dim) float32, index)``; index None when the space
        has no vectors.
    """
    if ids is None or vecs is None:
        ids, vecs = vectors.load_space(catalog.conn, space)
    if len(ids) == 0:
        return ids, vecs, None
    path = index_path(catalog.path, space)
    index: VectorIndex | None = None
    if path.exists():
        try:
            index = VectorIndex.load(path, space, vecs.shape[1])
            if not index.matches(ids):
                index = None
        except CompanionError:
            index = None
    if index is None:
        index = VectorIndex.build(space, ids, vecs)
        if save:
            path.parent.mkdir(parents=True, exist_ok=True)
            index.save(path)
    return ids, vecs, index


def refresh_indexes(catalog: Catalog) -> dict[str, int]:
    """Bring the index of every space in line with the catalog.

    Returns:
        ``space -> number of vectors indexed``.
    """
    out = {}
    for space, _dim in vectors.spaces(catalog.conn):
        ids, _vecs, _index = load_or_build(catalog, space)
        out[space] = len(ids)
    return out


#: Most differing items :func:`update_in_place` applies; beyond, reading the saved index is
#: cheaper than adding them one by one (hnswlib inserts cost milliseconds each at 100k).
MAX_IN_PLACE_CHANGES = 512
_COMPARE_CHUNK = 8192  # rows per comparison step: short numpy calls, no long GIL hold


def update_in_place(
    index: VectorIndex,
    old_ids: np.ndarray,
    old_vectors: np.ndarray,
    ids: np.ndarray,
    new_vectors: np.ndarray,
    *,
    limit: int = MAX_IN_PLACE_CHANGES,
) -> bool:
    """Bring a live index from the old vectors of a space to the new ones, in place.

    Used by :meth:`companion.engine.Engine.reload` after a scan instead of reading the saved
    index again: hnswlib 0.8's ``load_index`` holds Python's GIL for the whole read (≈ 150 ms
    at 100k × 512-d), which freezes every thread, the GUI's included, while ``add_items`` and
    ``mark_deleted`` let other threads run. Queries running meanwhile may see new ids before
    the ranker that maps them is swapped in; the ranker drops ids it does not know.

    Args:
        index: the live index, holding exactly ``old_ids``.
        old_ids: (m,) int64 sample ids, sorted, unique; ``old_vectors`` (m, dim) float32 theirs.
        ids: (n,) int64 sample ids now in the catalog, sorted, unique; ``new_vectors`` (n, dim).
        limit: most added + changed + removed items to apply.

    Returns:
        True when the index now holds ``ids`` with ``new_vectors``; False, with the index
        untouched, when more than ``limit`` items differ or the dimensions differ.
    """
    if old_vectors.shape[1:] != new_vectors.shape[1:]:
        return False
    removed = np.setdiff1d(old_ids, ids, assume_unique=True)
    added = np.setdiff1d(ids, old_ids, assume_unique=True)
    if len(removed) + len(added) > limit:
        return False
    common, old_pos, new_pos = np.intersect1d(old_ids, ids, assume_unique=True, return_indices=True)
    differs = np.zeros(len(common), dtype=bool)
    for start in range(0, len(common), _COMPARE_CHUNK):
        part = slice(start, start + _COMPARE_CHUNK)
        differs[part] = np.any(old_vectors[old_pos[part]] != new_vectors[new_pos[part]], axis=1)
    changed = common[differs]
    if len(removed) + len(added) + len(changed) > limit:
        return False
    index.remove(removed.tolist())
    upsert = np.union1d(added, changed)
    if len(upsert):
        index.add(upsert, new_vectors[np.searchsorted(ids, upsert)], num_threads=1)
    return True
