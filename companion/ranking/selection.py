"""Choosing the shown list from scored rows: order, MMR, duplicates, and boosts-only ranking."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from companion.ranking.candidates import UNKNOWN_INSTRUMENT, Candidates, member_of
from companion.ranking.filters import HardFilter
from companion.ranking.mmr import diversify
from companion.ranking.rules import ColdStart, FusionRules
from companion.ranking.scoring import Scorer, ScoreTable
from companion.ranking.spaces import PreparedSpace


def choose(
    candidates: Candidates,
    rules: FusionRules,
    table: ScoreTable,
    k: int,
    space: PreparedSpace | None,
    seed_rows: np.ndarray,
    lam: float | None,
    spread: ColdStart | None = None,
) -> np.ndarray:
    """Positions in ``table`` to show, in display order; duplicates dropped.

    Rows are ordered by fused score, newest first on ties. With ``lam`` set, MMR re-ranks the
    best ``max(mmr.pool_size, k)``; without, the order is kept. Near-duplicates are judged on
    the vectors of ``space`` (None: content hash only). ``seed_rows`` are rows already shown
    above (pins): they count as chosen. With ``spread`` (format-2 cold start) each pick costs
    the later rows of the same instrument ``spread.repeat_penalty`` (unknown instrument:
    ``spread.unknown_repeat_penalty``), see :func:`companion.ranking.mmr.diversify`.
    """
    c = candidates
    total = table.total
    order = np.lexsort((-c.added_at[table.rows], -total))
    pool = order[: max(rules.mmr.pool_size, k)] if lam is not None else order
    rows = table.rows[pool]
    vectors = space.vectors_of_rows(rows) if space is not None else None
    seeds = space.vectors_of_rows(seed_rows) if space is not None and len(seed_rows) else None
    groups = cost = seed_groups = None
    if spread is not None:
        groups = c.instrument[rows]
        cost = np.where(groups == UNKNOWN_INSTRUMENT, spread.unknown_repeat_penalty, spread.repeat_penalty)
        seed_groups = c.instrument[seed_rows]
    picked = diversify(
        total[pool],
        k,
        hash_codes=c.hash_codes[rows],
        vectors=vectors,
        lam=lam,
        dup_threshold=rules.filters.duplicates.cosine_threshold,
        seed_vectors=seeds,
        seed_hashes=c.hash_codes[seed_rows] if len(seed_rows) else None,
        groups=groups,
        repeat_cost=cost,
        seed_groups=seed_groups,
    )
    shown: npt.NDArray[np.intp] = pool[picked]
    return shown


def rank_by_boosts(
    candidates: Candidates,
    rules: FusionRules,
    hard: HardFilter,
    scorer: Scorer,
    k: int,
    seed_rows: np.ndarray,
    space: PreparedSpace | None,
    spread: ColdStart | None = None,
) -> tuple[ScoreTable, np.ndarray]:
    """Top rows by boosts alone (mode ``rules``, source ``recency``), duplicates dropped.

    Exact without scoring every row: a row without a tempo, key, tag or instrument boost
    scores freshness alone, which falls with age, so only the boosted rows
    (:meth:`Scorer.boosted_rows`) and the newest passing rows can reach the top.

    With ``spread`` (format-2 cold start) the list is chosen from the best
    ``max(4·k, spread.pool_size)`` rows, spread across instruments (:func:`choose`).

    Returns:
        ``(table, chosen)``: the scored rows and the positions to show, in order.
    """
    excluded = np.unique(seed_rows)
    boosted = scorer.boosted_rows()
    if len(boosted):
        ok = hard.mask(boosted) & ~member_of(boosted, excluded)
        boosted = boosted[ok]
    need = 4 * k if spread is None else max(4 * k, spread.pool_size)
    while True:
        newest, exhausted = newest_passing(candidates, hard, need, excluded)
        rows = np.concatenate([boosted, newest[~member_of(newest, boosted)]])  # boosted: sorted
        total = len(rows)
        if not total:
            return scorer.table(rows, None), np.empty(0, np.int64)
        if need < total:
            score = scorer.boosts(rows)
            kth = score[np.argpartition(-score, need - 1)[need - 1]]
            rows = rows[score >= kth]  # keep every tie of the cut-off score
        table = scorer.table(rows, None)
        chosen = choose(candidates, rules, table, k, space, seed_rows, None, spread)
        if len(chosen) >= k or (exhausted and need >= total):
            return table, chosen
        need *= 4


def newest_passing(
    candidates: Candidates, hard: HardFilter, need: int, excluded: np.ndarray
) -> tuple[np.ndarray, bool]:
    """The ``need`` newest rows that pass the filters and are not in ``excluded`` (sorted).

    Returns:
        ``(rows, exhausted)``; ``exhausted`` is True when the whole library was walked.
    """
    order = candidates.newest_first
    found: list[np.ndarray] = []
    count, start, chunk = 0, 0, max(1024, 4 * need)
    while count < need and start < len(order):
        rows = order[start : start + chunk]
        ok = hard.mask(rows) & ~member_of(rows, excluded)
        found.append(rows[ok])
        count += int(ok.sum())
        start += chunk
        chunk *= 4
    rows = np.concatenate(found) if found else np.empty(0, np.int64)
    return rows[:need], start >= len(order)
