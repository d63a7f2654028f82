"""The fusion ranker: shared fusion rules, formats 1 and 2 (docs/architecture.md §3), over the library.

``suggest`` in mode ``fusion``:

1. **Target.** For each embedding space in preference order (CLAP, then fingerprint) try to
   build the target: the L2-normalised weighted mean of the vectors of the latest
   ``target.max_accepted`` accepted samples (the i-th newest weighs ``target.accepted_decay**i``)
   and of the prompt vectors of that space (CLAP text embeddings of mood/genre/prompt words;
   together they weigh ``target.prompt_weight``, shared equally). The first space where a
   target exists is used and names the source (``clap`` / ``fingerprint``).
2. **Retrieval** (:func:`companion.ranking.spaces.retrieve`): neighbours of the target from the
   space's HNSW index that pass the hard filters (:mod:`companion.ranking.filters`), plus a
   small group of strongly boosted samples scored exactly (``Scorer.top_boost_group``), with
   exact masked search as the fallback for strict filters.
3. **Score** each term (:mod:`companion.ranking.scoring`) on that shortlist.
4. **MMR** (:mod:`companion.ranking.mmr`, :func:`companion.ranking.selection.choose`) over the
   ``mmr.pool_size`` best, dropping duplicates (same content hash, cosine ≥
   ``filters.duplicates.cosine_threshold``).
5. Pinned samples that pass the filters come first (flagged, best score first). When the space
   cannot fill the list (samples not embedded yet), the rest is filled by the recency ranking.

Without any target (cold start: nothing accepted, no prompt vectors, no vectors at all) and in
mode ``rules``, the ranking uses the same filters and boosts without a similarity term:
score = tempo + key + freshness + tags, ties broken newest first; duplicates are still dropped
(content hash, and near-duplicate vectors of the first space that has them). Source
``recency`` marks a list ranked that way (:func:`companion.ranking.selection.rank_by_boosts`).

Format-2 rules add instrument awareness (a format-1 document ranks exactly as before):

- **More like this.** With an accepted sample of known instrument, candidates of that
  instrument get ``score.instrument.same_boost`` (component ``instrument``, rationale
  ``"same instrument: kick"``), in both modes; :meth:`Ranker.similar` re-ranks the nearest
  neighbours of a query sample the same way.
- **Cold start.** With nothing accepted and no similarity target, each candidate gets
  ``cold_start.instrument_boost`` of its instrument (rationale ``"instrument mix: kick"``),
  and the list is chosen from the best ``cold_start.pool_size`` with a penalty per sample of
  the same instrument already listed (:func:`companion.ranking.selection.choose`), so the top
  of the list spreads across a drum loop, kick, snare, hihat, bass, keys and pads in tempo
  and key rather than ten takes of one sound. A cold start never offers oscillator material
  or silence (:meth:`Candidates.cold_start_unfit`): files shorter than
  ``cold_start.min_duration_s``, with a peak below ``cold_start.min_peak_dbfs``, or tagged
  with one of ``cold_start.exclude_tags`` (LMMS's ``waveforms/`` single cycles, LFO shapes).

A call may also ask for one instrument (``instrument=``): a hard filter for that call.

BLAS runs on one thread during a call (:mod:`companion.ranking.blas`): the products are tiny
and waking a thread pool on a busy machine costs more than they do.

``Suggestion.score`` is the fused score before MMR; the list order is the MMR order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from companion.errors import CompanionError
from companion.library.search import searched_instrument
from companion.ranking import rationale as why
from companion.ranking.blas import single_threaded_blas
from companion.ranking.candidates import UNKNOWN_INSTRUMENT, Candidates, instrument_code
from companion.ranking.context import SessionContext
from companion.ranking.filters import HardFilter
from companion.ranking.list_filter import ListFilter
from companion.ranking.rules import FusionRules
from companion.ranking.scoring import Scorer, ScoreTable
from companion.ranking.selection import choose, rank_by_boosts
from companion.ranking.spaces import EmbeddingSpaceData, PreparedSpace, retrieve
from companion.ranking.state import SessionState

__all__ = ["EmbeddingSpaceData", "Ranker", "SessionState", "Suggestion"]

SuggestionSource = Literal["clap", "fingerprint", "recency"]
Mode = Literal["fusion", "rules"]


@dataclass
class Suggestion:
    """One suggested sample with its score and the reasons for it.

    Attributes:
        sample_id: catalog id.
        path / name / kind: file path, file name, ``"loop"`` or ``"one-shot"``.
        bpm: tempo in BPM or None; key: e.g. ``"A minor"`` or None.
        score: fused score (sum of ``score_components``).
        score_components: ``similarity``, ``tempo``, ``key``, ``freshness``, ``tags``, and
            under format-2 rules ``instrument``.
        source: ``clap``, ``fingerprint`` (similarity in that space) or ``recency``.
        rationale: human-readable reasons, e.g. ``["tempo Δ2 BPM", "key match: A minor"]``.
        pinned: True for a pinned sample placed first.
        instrument: the sample's instrument (``"kick"``, ``"drums"`` …) or None.
    """

    sample_id: int
    path: str
    name: str
    kind: str
    bpm: float | None
    key: str | None
    score: float
    score_components: dict[str, float]
    source: SuggestionSource
    rationale: list[str] = field(default_factory=list)
    pinned: bool = False
    instrument: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict with the attribute names as keys."""
        return {
            "sample_id": self.sample_id,
            "path": self.path,
            "name": self.name,
            "kind": self.kind,
            "bpm": self.bpm,
            "key": self.key,
            "score": self.score,
            "score_components": dict(self.score_components),
            "source": self.source,
            "rationale": list(self.rationale),
            "pinned": self.pinned,
            "instrument": self.instrument,
        }


@dataclass
class _Target:
    space: PreparedSpace
    vector: np.ndarray  # (d,) float32 unit
    accepted_names: list[str]
    accepted_vectors: np.ndarray  # (a, d) float32


class Ranker:
    """Ranks the library for a session context with the fusion rules.

    Args:
        candidates: the library columns.
        spaces: embedding spaces in preference order (CLAP first, then fingerprint).
        rules: the fusion rules document.
        now: clock in unix seconds (freshness, rationale).
        fanout: neighbours first asked from an HNSW index.
        max_fanout: most neighbours asked before exact masked search.
        exact_group: size limit of the strongly boosted group scored exactly besides the
            index's neighbours (``Scorer.top_boost_group``).
    """

    def __init__(
        self,
        candidates: Candidates,
        spaces: list[EmbeddingSpaceData],
        rules: FusionRules,
        now: Callable[[], float] = time.time,
        *,
        fanout: int = 1024,
        max_fanout: int = 4096,
        exact_group: int = 2048,
    ) -> None:
        self.candidates = candidates
        self.rules = rules
        self._now = now
        self.fanout = fanout
        self.max_fanout = max_fanout
        self.exact_group = exact_group
        self._cold_unfit: np.ndarray | None = None
        candidates.prepare()
        self.spaces = [PreparedSpace.prepare(s, candidates) for s in spaces]

    # ------------------------------------------------------------------ suggest

    def suggest(
        self,
        context: SessionContext,
        state: SessionState,
        *,
        mode: Mode = "fusion",
        top_k: int = 10,
        prompt_vectors: Mapping[str, np.ndarray] | None = None,
        instrument: str | None = None,
        list_filter: ListFilter | None = None,
    ) -> list[Suggestion]:
        """The next ``top_k`` samples for this context.

        Args:
            context: the session context.
            state: accepted / dismissed / banned / pinned decisions of the session.
            mode: ``fusion`` (similarity + boosts + MMR) or ``rules`` (boosts only).
            top_k: list length.
            prompt_vectors: space name → (m, d) text embeddings of the context's mood/genre/
                prompt words (CLAP spaces only).
            instrument: only samples of this instrument (class name or synonym) — a hard
                filter for this call.
            list_filter: the producer's filter (kind, instrument, BPM and length ranges,
                folder, favourites), applied before the ``top_k`` are chosen, so the list is
                still ``top_k`` long when enough samples pass.

        Returns:
            Up to ``top_k`` suggestions, pinned first, then in MMR / score order.

        Raises:
            CompanionError: unknown mode or an instrument word that names no instrument.
        """
        if mode not in ("fusion", "rules"):
            raise CompanionError(f"unknown ranking mode {mode!r}: use 'fusion' or 'rules'")
        code = None
        if instrument is not None:
            code = instrument_code(instrument)
            if code == UNKNOWN_INSTRUMENT:
                from companion.library.search import parse_instrument

                parse_instrument(instrument)  # raises with the list of instruments
        if top_k <= 0:
            return []
        only = None if list_filter is None or list_filter.is_empty else list_filter.mask(self.candidates, state.pinned)
        with single_threaded_blas():
            return self._suggest(context, state, mode, top_k, prompt_vectors, code, only)

    def _suggest(
        self,
        context: SessionContext,
        state: SessionState,
        mode: Mode,
        top_k: int,
        prompt_vectors: Mapping[str, np.ndarray] | None,
        instrument: int | None,
        only: np.ndarray | None = None,
    ) -> list[Suggestion]:
        c = self.candidates
        now = float(self._now())
        target = self._target(state, prompt_vectors or {}) if mode == "fusion" else None
        cold = target is None and not state.accepted and self.rules.cold_start is not None
        unfit = self._unfit() if cold else None
        if only is not None:  # the producer's list filter: rows outside it are never shown
            unfit = ~only if unfit is None else (unfit | ~only)
        hard = HardFilter(c, context, state, self.rules, instrument=instrument, unfit=unfit)
        scorer = Scorer(c, context, self.rules, now, instrument=self._query_instrument(state), cold_start=cold)
        spread = self.rules.cold_start if cold else None
        pinned_rows = c.rows_of(sorted(state.pinned)) if state.pinned else np.empty(0, np.int64)
        pinned_rows = pinned_rows[pinned_rows >= 0]
        pinned_rows = pinned_rows[hard.mask(pinned_rows)] if len(pinned_rows) else pinned_rows
        dedupe_space = target.space if target else self._first_space_with_vectors()

        pins = self._pins(pinned_rows, scorer, target, dedupe_space, top_k)
        seed_rows = pins.rows
        out = [
            self._suggestion(pins, i, target, context, now, pinned=True, cold_start=cold) for i in range(len(pins.rows))
        ]
        remaining = top_k - len(out)
        if remaining <= 0:
            return out[:top_k]

        if target is not None:
            pool = max(self.rules.mmr.pool_size, remaining)
            rows, sims = retrieve(
                target.space,
                target.vector,
                hard,
                pool=pool,
                minimum=remaining,
                exclude_rows=seed_rows,
                fanout=self.fanout,
                max_fanout=self.max_fanout,
                fused=lambda r, s: self.rules.score.similarity_weight * s + scorer.boosts(r),
                extra_rows=scorer.top_boost_group(self.exact_group),
            )
            table = scorer.table(rows, sims)
            chosen = choose(c, self.rules, table, remaining, target.space, seed_rows, self.rules.mmr.lambda_)
            out += [self._suggestion(table, int(i), target, context, now) for i in chosen]
            seed_rows = np.concatenate([seed_rows, table.rows[chosen]])
            remaining = top_k - len(out)
            if remaining <= 0:
                return out
        table, chosen = rank_by_boosts(c, self.rules, hard, scorer, remaining, seed_rows, dedupe_space, spread)
        out += [self._suggestion(table, int(i), None, context, now, cold_start=cold) for i in chosen]
        return out

    def _unfit(self) -> np.ndarray | None:
        """Rows a cold start leaves out (rules ``cold_start``), computed once per ranker."""
        cold = self.rules.cold_start
        if cold is None:
            return None
        if self._cold_unfit is None:
            self._cold_unfit = self.candidates.cold_start_unfit(
                cold.min_duration_s, cold.min_peak_dbfs, cold.exclude_tags
            )
        return self._cold_unfit

    # ------------------------------------------------------------------ similar

    def similar(
        self,
        sample_ids: Sequence[int] | None = None,
        *,
        vectors: np.ndarray | None = None,
        space: str | None = None,
        top_k: int = 10,
        exclude_self: bool = True,
    ) -> list[list[tuple[int, float]]]:
        """ "More like this": nearest samples by cosine, without filters or tempo/key boosts.

        Under format-2 rules, the neighbours of a query *sample* of known instrument are
        re-ranked by ``cosine + score.instrument.same_boost`` for those of the same instrument
        (chosen among the ``top_k + mmr.pool_size`` nearest), and that sum is the score given.

        Args:
            sample_ids: query samples; each is looked up in ``space``, or in the first space
                (preference order) that holds its vector.
            vectors: (q, d) query vectors instead of ids (requires a space of that dimension;
                the first such space when ``space`` is None).
            space: space name to search.
            top_k: neighbours per query.
            exclude_self: leave the query sample out of its own list.

        Returns:
            One list of ``(sample_id, score)`` per query, best first — the cosine, plus the
            instrument boost under format-2 rules; an empty list for a sample that has no
            vector in any space yet.

        Raises:
            CompanionError: unknown space, or neither ids nor vectors given.
        """
        chosen = [s for s in self.spaces if space is None or s.data.space == space]
        if space is not None and not chosen:
            raise CompanionError(
                f"no embedding space named {space!r}; known: {', '.join(s.data.space for s in self.spaces) or 'none'}"
            )
        if vectors is not None:
            q = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
            fits = [s for s in chosen if s.dim == q.shape[1]]
            if not fits:
                raise CompanionError(f"no embedding space of dimension {q.shape[1]} to search")
            with single_threaded_blas():
                return [self._neighbours(fits[0], v, None, top_k) for v in q]
        if sample_ids is None:
            raise CompanionError("similar() needs sample_ids or vectors")
        results: list[list[tuple[int, float]]] = []
        for sid in sample_ids:
            for sp in chosen:
                pos = int(sp.positions_of_ids([sid])[0])
                if pos >= 0:
                    me = int(sid) if exclude_self else None
                    row = int(self.candidates.rows_of([sid])[0])
                    same = self._same_instrument_boost(row)
                    wide = top_k if same is None else top_k + self.rules.mmr.pool_size
                    with single_threaded_blas():
                        pairs = self._neighbours(sp, sp.data.vectors[pos], me, wide)
                    results.append(pairs if same is None else _prefer_instrument(pairs, same, top_k))
                    break
            else:
                results.append([])
        return results

    def _neighbours(self, sp: PreparedSpace, vector: np.ndarray, me: int | None, top_k: int) -> list[tuple[int, float]]:
        k = top_k + (1 if me is not None else 0)
        if sp.data.index is not None and len(sp.data.index):
            ids, sims = sp.data.index.query(vector[None, :], k)
            pairs = [(int(i), float(s)) for i, s in zip(ids[0], sims[0], strict=True) if i >= 0]
        else:
            all_sims = sp.data.vectors @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
            kk = min(k, len(all_sims))
            top = np.argpartition(-all_sims, kk - 1)[:kk] if kk < len(all_sims) else np.arange(kk)
            top = top[np.argsort(-all_sims[top], kind="stable")]
            pairs = [(int(sp.data.ids[p]), float(all_sims[p])) for p in top]
        return [(i, s) for i, s in pairs if i != me][:top_k]

    # ------------------------------------------------------------------ internals

    def _same_instrument_boost(self, row: int) -> tuple[Candidates, int, float] | None:
        """``(candidates, instrument code, boost)`` for "more like this" from ``row``, or None
        (format-1 rules, a sample outside the library, or one of unknown instrument)."""
        spec = self.rules.score.instrument
        if spec is None or row < 0 or int(self.candidates.instrument[row]) == UNKNOWN_INSTRUMENT:
            return None
        return self.candidates, int(self.candidates.instrument[row]), spec.same_boost

    def _query_instrument(self, state: SessionState) -> str | None:
        """The instrument of the latest accepted sample, or None (none accepted / unknown)."""
        if not state.accepted:
            return None
        row = int(self.candidates.rows_of([state.accepted[-1]])[0])
        return self.candidates.instrument_of(row) if row >= 0 else None

    def _first_space_with_vectors(self) -> PreparedSpace | None:
        return next((s for s in self.spaces if len(s.data.ids)), None)

    def _target(self, state: SessionState, prompts: Mapping[str, np.ndarray]) -> _Target | None:
        spec = self.rules.target
        latest = list(reversed(state.accepted[-spec.max_accepted :])) if spec.max_accepted else []
        for sp in self.spaces:
            total = np.zeros(sp.dim, dtype=np.float64)
            names: list[str] = []
            acc_vecs: list[np.ndarray] = []
            if latest:
                positions = sp.positions_of_ids(latest)
                for i, (sid, pos) in enumerate(zip(latest, positions, strict=True)):
                    if pos < 0:
                        continue
                    vec = sp.data.vectors[pos]
                    total += spec.accepted_decay**i * vec
                    acc_vecs.append(vec)
                    row = int(self.candidates.rows_of([sid])[0])
                    names.append(self.candidates.names[row] if row >= 0 else f"sample {sid}")
            prompt = prompts.get(sp.data.space)
            if prompt is not None and len(prompt) and spec.prompt_weight > 0:
                p = np.atleast_2d(np.asarray(prompt, dtype=np.float64))
                if p.shape[1] != sp.dim:
                    raise CompanionError(
                        f"prompt vectors for {sp.data.space!r} have dimension {p.shape[1]}, the space has {sp.dim}"
                    )
                p /= np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
                total += spec.prompt_weight / len(p) * p.sum(axis=0)
            norm = float(np.linalg.norm(total))
            if norm > 1e-9:
                acc = np.asarray(acc_vecs, dtype=np.float32).reshape(-1, sp.dim)
                return _Target(sp, (total / norm).astype(np.float32), names, acc)
        return None

    def _pins(
        self,
        rows: np.ndarray,
        scorer: Scorer,
        target: _Target | None,
        dedupe_space: PreparedSpace | None,
        top_k: int,
    ) -> ScoreTable:
        sims = None
        if target is not None and len(rows):
            sims = target.space.vectors_of_rows(rows) @ target.vector
        table = scorer.table(rows, sims)
        chosen = choose(self.candidates, self.rules, table, top_k, dedupe_space, np.empty(0, np.int64), None)
        return table.take(chosen)

    def _suggestion(
        self,
        table: ScoreTable,
        i: int,
        target: _Target | None,
        context: SessionContext,
        now: float,
        pinned: bool = False,
        cold_start: bool = False,
    ) -> Suggestion:
        c = self.candidates
        row = int(table.rows[i])
        bpm = c.bpm_of(row)
        key = c.key_of(row)
        has_sim = target is not None and target.space.pos_of_row[row] >= 0
        reasons: list[str] = ["pinned"] if pinned else []
        if has_sim:
            assert target is not None
            vec = target.space.vectors_of_rows(np.array([row]))[0]
            near_name = near_sim = None
            if len(target.accepted_vectors):
                sims = target.accepted_vectors @ vec
                j = int(np.argmax(sims))
                near_name, near_sim = target.accepted_names[j], float(sims[j])
            sim = float(vec @ target.vector)
            likeness = why.similarity_reason(near_name, near_sim, context.prompt_words(), sim)
            if likeness is not None:
                reasons.append(likeness)
        if context.bpm is not None and bpm is not None and c.is_loop[row]:
            reasons.append(why.tempo_reason(bpm, context.bpm, self.rules.filters.tempo.tempo_multiples))
        if context.key is not None and key is not None and c.pitched[row]:
            reasons.append(why.key_reason(key, context.key))
        instrument = c.instrument_of(row)
        if table.tags[i] > 0:
            words = list(dict.fromkeys(w for w in (*context.mood_tags, context.genre) if w))
            tagged = [w for w in words if w in c.tags[row]]
            reasons += why.tag_reasons(tagged, context.mood_tags, context.genre)
            reasons += [
                why.word_reason(w)
                for w in words
                if w not in tagged and instrument is not None and searched_instrument(w) == instrument
            ]
        if table.has_instrument and table.instrument[i] > 0 and instrument is not None:
            reasons.append(why.instrument_reason(instrument, cold_start=cold_start))
        reasons.append(why.age_reason(float(c.added_at[row]), now))
        source: SuggestionSource = target.space.data.source if has_sim and target is not None else "recency"
        components = table.components(i)
        return Suggestion(
            sample_id=int(c.ids[row]),
            path=c.paths[row],
            name=c.names[row],
            kind=c.kind[row],
            bpm=bpm,
            key=key.name if key else None,
            score=float(sum(components.values())),
            score_components=components,
            source=source,
            rationale=reasons,
            pinned=pinned,
            instrument=instrument,
        )


def _prefer_instrument(
    pairs: list[tuple[int, float]], same: tuple[Candidates, int, float], top_k: int
) -> list[tuple[int, float]]:
    """Re-rank ``(sample_id, cosine)`` pairs by cosine + boost for the query's instrument."""
    candidates, code, boost = same
    rows = candidates.rows_of([i for i, _ in pairs])
    scored = [
        (i, s + (boost if r >= 0 and int(candidates.instrument[r]) == code else 0.0))
        for (i, s), r in zip(pairs, rows.tolist(), strict=True)
    ]
    scored.sort(key=lambda p: -p[1])  # stable: equal scores keep the cosine order
    return scored[:top_k]
