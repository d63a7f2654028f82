"""A plain-Python reading of fusion rules v1, row by row, to check the vectorised ranker against."""

from __future__ import annotations

import math

import numpy as np

from companion.music.keys import compatible
from companion.ranking.candidates import Candidates
from companion.ranking.context import SessionContext
from companion.ranking.rules import FusionRules
from companion.ranking.state import SessionState


def passes(c: Candidates, row: int, ctx: SessionContext, state: SessionState, rules: FusionRules) -> bool:
    sid = int(c.ids[row])
    if sid in state.banned_ids or sid in state.dismissed or sid in state.accepted:
        return False
    if any(c.paths[row].startswith(f.rstrip("/") + "/") for f in state.banned_folders):
        return False
    accepted_hashes = {c.content_hash[r] for r in c.rows_of(state.accepted) if r >= 0}
    if c.content_hash[row] and c.content_hash[row] in accepted_hashes:
        return False
    tol = rules.filters.tempo.tolerance_bpm
    if ctx.bpm is not None and c.is_loop[row] and not math.isnan(c.bpm[row]):
        b = float(c.bpm[row])
        if min(abs(b * k - ctx.bpm) for k in rules.filters.tempo.tempo_multiples) > tol + 1e-4:
            return False
    key = c.key_of(row)
    return not (ctx.key is not None and c.pitched[row] and key is not None and not compatible(key, ctx.key))


def score(c: Candidates, row: int, ctx: SessionContext, rules: FusionRules, now: float, sim: float) -> float:
    s = rules.score
    total = s.similarity_weight * sim
    if ctx.bpm is not None and c.is_loop[row] and not math.isnan(c.bpm[row]):
        b = float(c.bpm[row])
        if min(abs(b * k - ctx.bpm) for k in rules.filters.tempo.tempo_multiples) <= s.tempo.within_bpm + 1e-4:
            total += s.tempo.boost
    key = c.key_of(row)
    if ctx.key is not None and c.pitched[row] and key == ctx.key:
        total += s.key.boost
    age_days = max(now - c.added_at[row], 0.0) / 86_400
    total += s.freshness.weight * math.exp(-age_days / s.freshness.tau_days)
    words = [*ctx.mood_tags, *([ctx.genre] if ctx.genre else [])]
    hits = sum(1 for w in dict.fromkeys(words) if w in c.tags[row])
    total += min(hits * s.tags.boost_each, s.tags.max_total)
    return total


def ranking(
    c: Candidates,
    vectors: np.ndarray | None,
    target: np.ndarray | None,
    ctx: SessionContext,
    state: SessionState,
    rules: FusionRules,
    now: float,
    k: int,
) -> list[int]:
    """Ids of the top ``k`` by fused score (no MMR), duplicates dropped, newest first on ties."""
    scored = []
    for row in range(len(c)):
        if not passes(c, row, ctx, state, rules):
            continue
        sim = float(vectors[row] @ target) if target is not None else 0.0
        scored.append((-score(c, row, ctx, rules, now, sim), -c.added_at[row], row))
    scored.sort()
    out: list[int] = []
    for _, _, row in scored:
        if any(c.content_hash[row] == c.content_hash[o] for o in out):
            continue
        if vectors is not None and any(
            float(vectors[row] @ vectors[o]) >= rules.filters.duplicates.cosine_threshold for o in out
        ):
            continue
        out.append(row)
        if len(out) == k:
            break
    return [int(c.ids[r]) for r in out]


def target_vector(
    vectors_by_id: dict[int, np.ndarray],
    accepted: list[int],
    rules: FusionRules,
    prompts: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted mean of the latest accepted (newest weighs most) and the prompts, normalised."""
    t = rules.target
    latest = list(reversed(accepted[-t.max_accepted :]))
    total = sum(
        t.accepted_decay**i * vectors_by_id[sid].astype(np.float64)
        for i, sid in enumerate(latest)
        if sid in vectors_by_id
    )
    if prompts is not None:
        p = prompts / np.linalg.norm(prompts, axis=1, keepdims=True)
        total = total + t.prompt_weight * p.mean(axis=0)
    return (total / np.linalg.norm(total)).astype(np.float32)
