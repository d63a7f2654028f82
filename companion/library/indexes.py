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
    catalog: Catalog, space: str, ids: np.ndarray | None = None, vecs: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, VectorIndex | None]:
    """The vectors of one space and an index that matches them, rebuilding it when stale.

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
