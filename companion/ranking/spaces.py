"""Embedding spaces as the ranker sees them, and candidate retrieval within one space.

Retrieval turns a target vector into a shortlist of rows that pass the hard filters:

1. ask the space's HNSW index for ``fanout`` neighbours (a few hundred), keep those passing
   the filters; if fewer than the MMR pool pass, ask again with 4× the fanout, up to
   ``max_fanout``;
2. when the filters are so strict that even that is not enough to fill the list, or the space
   has no index, score the filtered subset exactly (masked brute force).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from companion.embedding.index import VectorIndex
from companion.errors import CatalogError
from companion.ranking.candidates import Candidates, member_of
from companion.ranking.filters import HardFilter

VectorSource = Literal["clap", "fingerprint"]


@dataclass
class EmbeddingSpaceData:
    """The vectors of one embedding space.

    Attributes:
        space: space name, e.g. ``"clap-htsat-unfused/v1"`` or ``"fingerprint/v1"``.
        source: ``"clap"`` or ``"fingerprint"`` (reported as ``Suggestion.source``).
        ids: (m,) int64 sample ids that have a vector in this space.
        vectors: (m, d) float32, L2-normalised, aligned with ``ids``.
        index: HNSW index over the same vectors, or None (exact search; fine below ~20k).
    """

    space: str
    source: VectorSource
    ids: np.ndarray
    vectors: np.ndarray
    index: VectorIndex | None = None


@dataclass
class PreparedSpace:
    """A space joined to the library rows (built once per :class:`Ranker`).

    Attributes:
        data: the space.
        pos_of_row: (n,) int32 position of each library row in ``data.vectors``; −1 = no vector.
        row_of_pos: (m,) int64 library row of each vector; −1 = not in the library.
    """

    data: EmbeddingSpaceData
    pos_of_row: np.ndarray
    row_of_pos: np.ndarray
    _sorted_ids: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, np.int64))
    _sorted_pos: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, np.int64))

    @classmethod
    def prepare(cls, data: EmbeddingSpaceData, candidates: Candidates) -> PreparedSpace:
        ids = np.asarray(data.ids, dtype=np.int64)
        data.ids = ids
        data.vectors = np.ascontiguousarray(data.vectors, dtype=np.float32)
        if data.vectors.ndim != 2 or len(data.vectors) != len(ids):
            raise CatalogError(
                f"space {data.space!r}: vectors {data.vectors.shape} do not match {len(ids)} "
                "ids; reload the vectors of this space from the catalog"
            )
        row_of_pos = candidates.rows_of(ids)
        pos_of_row = np.full(len(candidates), -1, dtype=np.int32)
        known = row_of_pos >= 0
        pos_of_row[row_of_pos[known]] = np.flatnonzero(known).astype(np.int32)
        order = np.argsort(ids, kind="stable")
        return cls(data, pos_of_row, row_of_pos, ids[order], order)

    @property
    def dim(self) -> int:
        return int(self.data.vectors.shape[1])

    def positions_of_ids(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """(k,) int64 positions of sample ids in this space; −1 where an id has no vector."""
        query = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(self._sorted_ids):
            return np.full(len(query), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted_ids, query), len(self._sorted_ids) - 1)
        return np.where(self._sorted_ids[at] == query, self._sorted_pos[at], -1).astype(np.int64)

    def vectors_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """(k, d) float32 vectors of library rows; zero rows where a row has no vector."""
        pos = self.pos_of_row[rows]
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        have = pos >= 0
        out[have] = self.data.vectors[pos[have]]
        return out


def retrieve(
    space: PreparedSpace,
    target: np.ndarray,
    hard_filter: HardFilter,
    *,
    pool: int,
    minimum: int,
    exclude_rows: np.ndarray,
    fanout: int,
    max_fanout: int,
    fused: Callable[[np.ndarray, np.ndarray], np.ndarray],
    extra_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows near the target that pass the hard filters.

    Args:
        space: the prepared space.
        target: (d,) float32 L2-normalised target vector.
        hard_filter: compiled filters.
        pool: how many passing rows are wanted (MMR pool).
        minimum: how many are enough when the fanout is exhausted (the list length).
        exclude_rows: rows handled elsewhere (pinned), never returned.
        fanout: first number of neighbours asked from the index.
        max_fanout: most neighbours asked before switching to exact search.
        fused: ``fused(rows, sims) -> scores``, the fused score of rows (similarity + boosts);
            exact search keeps the ``pool`` best by it.
        extra_rows: rows to score exactly besides the index's neighbours (strongly boosted
            samples that similarity alone might miss; see ``Scorer.top_boost_group``).

    Returns:
        ``(rows, sims)``: (r,) int64 library rows and (r,) float32 cosine to the target. From
        the index: every retrieved row that passes (r ≥ ``pool`` unless the index is
        exhausted). From exact search: the ``pool`` best by fused score over the whole
        filtered library.

    The index path is approximate in two ways: HNSW recall, and a sample outside the
    retrieved neighbours (and outside ``extra_rows``) cannot be suggested even when its boosts
    would lift its fused score above a retrieved one. ``benchmarks/suggest_latency.py``
    reports the agreement of the top 10 with exact ranking.
    """
    exclude_rows = np.unique(exclude_rows)
    index = space.data.index
    if index is not None and len(index):
        k = min(max(fanout, pool), len(index))
        while True:
            ids, sims = index.query(target[None, :], k)
            ids, sims = ids[0], sims[0]
            rows = hard_filter.candidates.rows_of(ids)
            rows = np.where(rows >= 0, rows, 0)
            keep = (ids >= 0) & (space.pos_of_row[rows] >= 0)
            rows, sims = rows[keep], sims[keep]
            ok = hard_filter.mask(rows)
            if len(exclude_rows):
                ok &= ~member_of(rows, exclude_rows)
            passing = int(ok.sum())
            exhausted = k >= len(index)
            if passing >= pool or exhausted:
                return _merge(space, target, hard_filter, rows[ok], sims[ok], extra_rows, exclude_rows)
            if k * 4 > max_fanout:
                if passing >= minimum:
                    return _merge(space, target, hard_filter, rows[ok], sims[ok], extra_rows, exclude_rows)
                break
            k = min(k * 4, len(index))
    return _exact(space, target, hard_filter, pool, exclude_rows, fused)


def _merge(
    space: PreparedSpace,
    target: np.ndarray,
    hard_filter: HardFilter,
    rows: np.ndarray,
    sims: np.ndarray,
    extra_rows: np.ndarray | None,
    exclude_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Add the exactly scored ``extra_rows`` (passing, in the space, not yet present)."""
    if extra_rows is None or not len(extra_rows):
        return rows, sims
    extra = extra_rows[space.pos_of_row[extra_rows] >= 0]
    extra = extra[~member_of(extra, np.sort(rows))]
    if len(exclude_rows):
        extra = extra[~member_of(extra, exclude_rows)]
    extra = extra[hard_filter.mask(extra)]
    if not len(extra):
        return rows, sims
    extra_sims = space.data.vectors[space.pos_of_row[extra]] @ target
    return np.concatenate([rows, extra]), np.concatenate([sims, extra_sims.astype(np.float32)])


def _exact(
    space: PreparedSpace,
    target: np.ndarray,
    hard_filter: HardFilter,
    pool: int,
    exclude_rows: np.ndarray,
    fused: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    mask = hard_filter.mask(None)
    mask &= space.pos_of_row >= 0
    if len(exclude_rows):
        mask[exclude_rows] = False
    rows = np.flatnonzero(mask)
    if not len(rows):
        return rows.astype(np.int64), np.empty(0, dtype=np.float32)
    pos = space.pos_of_row[rows]
    vectors = space.data.vectors
    if len(rows) * 4 > len(vectors):
        sims = (vectors @ target)[pos]  # cheaper than gathering most of the matrix
    else:
        sims = vectors[pos] @ target
    if len(rows) > pool:
        score = fused(rows, sims)
        kth = score[np.argpartition(-score, pool - 1)[pool - 1]]
        top = np.flatnonzero(score >= kth)  # keep ties at the cut; the ranker breaks them
    else:
        top = np.arange(len(rows))
    return rows[top].astype(np.int64), sims[top].astype(np.float32)
