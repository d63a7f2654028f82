"""Score terms of the shared fusion rules (docs/architecture.md §3), vectorised with numpy.

For a candidate row ``r`` and the session context::

    similarity = w_s · cos(v_r, target)     (fusion mode only; w_s = score.similarity_weight)
    tempo      = score.tempo.boost      if r is a loop with known BPM and
                                        min_k |bpm·k − bpm_ctx| ≤ score.tempo.within_bpm
                                        (k over filters.tempo.tempo_multiples)
    key        = score.key.boost        if r is pitched and its key and mode equal the context's
    freshness  = score.freshness.weight · exp(−age_days / score.freshness.tau_days)
                 (age from ``added_at`` to now, never negative)
    tags       = min(score.tags.boost_each · #matches, score.tags.max_total)
                 (matches: the context's mood tags and genre found among the sample's tags —
                 its file and folder name words and metadata tags — or naming its instrument
                 through a synonym: "pad", "bd"; how words match without a CLAP model)
    instrument = (format 2 only) score.instrument.same_boost if r has the instrument of the
                 query (the latest accepted sample); at a cold start instead
                 cold_start.instrument_boost[instrument of r] (0 for others and unknown)

    score = similarity + tempo + key + freshness + tags + instrument

Every number comes from the :class:`~companion.ranking.rules.FusionRules` document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from companion.library.search import searched_instrument
from companion.ranking.candidates import (
    UNKNOWN_INSTRUMENT,
    Candidates,
    instrument_code,
    key_code,
    merge_windows,
    sorted_unique,
)
from companion.ranking.context import SessionContext
from companion.ranking.rules import FusionRules

#: Score terms of every format; format 2 adds :data:`INSTRUMENT`.
COMPONENTS: tuple[str, ...] = ("similarity", "tempo", "key", "freshness", "tags")
INSTRUMENT = "instrument"
SECONDS_PER_DAY = 86_400.0


@dataclass
class ScoreTable:
    """Score terms of some rows; every array is (m,) float64 aligned with ``rows``.

    ``instrument`` is all zeros and left out of :meth:`components` when ``has_instrument`` is
    False (format-1 rules, which have no such term).
    """

    rows: npt.NDArray[np.int64]
    similarity: npt.NDArray[np.float64]
    tempo: npt.NDArray[np.float64]
    key: npt.NDArray[np.float64]
    freshness: npt.NDArray[np.float64]
    tags: npt.NDArray[np.float64]
    if TYPE_CHECKING:
        # ``instrument`` as __post_init__ leaves it; the constructor (this stub; the dataclass
        # generates the real one) also takes None (the ``else`` branch).
        instrument: npt.NDArray[np.float64]
        has_instrument: bool

        def __init__(
            self,
            rows: np.ndarray,
            similarity: np.ndarray,
            tempo: np.ndarray,
            key: np.ndarray,
            freshness: np.ndarray,
            tags: np.ndarray,
            instrument: np.ndarray | None = None,
            has_instrument: bool = False,
        ) -> None: ...

    else:
        instrument: np.ndarray | None = None
        has_instrument: bool = False

    def __post_init__(self) -> None:
        if self.instrument is None:
            self.instrument = np.zeros(len(self.rows), dtype=np.float64)

    @property
    def total(self) -> np.ndarray:
        """(m,) float64 fused score, the sum of the terms."""
        total = self.similarity + self.tempo + self.key + self.freshness + self.tags
        return total + self.instrument if self.has_instrument else total

    def components(self, i: int) -> dict[str, float]:
        """The terms of the i-th row as a dict (for :class:`Suggestion.score_components`)."""
        names = (*COMPONENTS, INSTRUMENT) if self.has_instrument else COMPONENTS
        return {name: float(getattr(self, name)[i]) for name in names}

    def take(self, idx: np.ndarray) -> ScoreTable:
        """The sub-table at positions ``idx``."""
        rows, similarity, tempo, key, freshness, tags, instrument = (
            getattr(self, f)[idx] for f in ("rows", *COMPONENTS, INSTRUMENT)
        )
        return ScoreTable(rows, similarity, tempo, key, freshness, tags, instrument, has_instrument=self.has_instrument)


def context_tags(context: SessionContext) -> list[str]:
    """The words the tag boost looks for: mood tags then genre, lower case, unique."""
    words = list(context.mood_tags)
    if context.genre and context.genre not in words:
        words.append(context.genre)
    return words


class Scorer:
    """Computes the score terms for one context at one instant.

    Args:
        candidates: the library columns.
        context: the session context.
        rules: the fusion rules (weights).
        now: current unix time in seconds (freshness).
        instrument: the query's instrument (the latest accepted sample's), or None; gets
            ``score.instrument.same_boost`` under format-2 rules.
        cold_start: nothing accepted and no similarity target: under format-2 rules the
            instrument term is ``cold_start.instrument_boost`` instead.
    """

    def __init__(
        self,
        candidates: Candidates,
        context: SessionContext,
        rules: FusionRules,
        now: float,
        *,
        instrument: str | None = None,
        cold_start: bool = False,
    ) -> None:
        self.candidates = candidates
        self.rules = rules
        self.now = now
        score = rules.score
        #: whether the rules have an instrument term (format 2)
        self.has_instrument = score.instrument is not None
        #: (len(INSTRUMENTS) + 1,) float64 instrument term per instrument code + 1 (0 = unknown)
        self._instrument_weights: npt.NDArray[np.float64] | None = None
        if score.instrument is not None:
            from companion.analysis.instruments import INSTRUMENTS

            weights = np.zeros(len(INSTRUMENTS) + 1, dtype=np.float64)
            if cold_start and rules.cold_start is not None:
                for name, boost in rules.cold_start.instrument_boost.items():
                    weights[instrument_code(name) + 1] = boost
            elif instrument is not None and instrument_code(instrument) != UNKNOWN_INSTRUMENT:
                weights[instrument_code(instrument) + 1] = score.instrument.same_boost
            if weights.any():
                self._instrument_weights = weights
        self.cold_start = cold_start
        self.query_instrument = instrument
        # |bpm·k − c| ≤ within  ⇔  bpm ∈ [(c − within)/k, (c + within)/k]; merged, disjoint
        self._tempo_windows = (
            merge_windows(
                (
                    (context.bpm - score.tempo.within_bpm) / k,
                    (context.bpm + score.tempo.within_bpm) / k,
                )
                for k in rules.filters.tempo.tempo_multiples
            )
            if context.bpm is not None
            else []
        )
        self._key_code = (
            key_code(context.key.pitch_class, 1 if context.key.mode == "minor" else 0)
            if context.key is not None
            else None
        )
        self.tag_words = context_tags(context)
        self._word_rows: dict[str, np.ndarray] = {}
        self._freshness_scale = -1.0 / (score.freshness.tau_days * SECONDS_PER_DAY)

    # ----------------------------------------------------------- sparse row sets

    def tempo_rows(self) -> list[np.ndarray]:
        """Rows that get the tempo boost, one array per (disjoint) tempo window."""
        return self.candidates.loop_slices(self._tempo_windows) if self._tempo_windows else []

    def key_rows(self) -> np.ndarray:
        """Rows that get the key boost (ascending); empty without a session key."""
        if self._key_code is None:
            return np.empty(0, dtype=np.int64)
        return self.candidates.rows_with_key_code(self._key_code)

    def boosted_rows(self) -> np.ndarray:
        """Sorted rows with a tempo, key or tag boost: the only rows that can outrank the newest.

        Every other row scores freshness alone, so in ``rules`` mode the top of the list is
        found among these rows plus the newest rows that pass the filters.
        """
        c = self.candidates
        parts = [*self.tempo_rows(), self.key_rows(), *(self.word_rows(w) for w in self.tag_words)]
        if self._instrument_weights is not None:
            parts.append(np.flatnonzero(self.instrument(None) > 0))
        parts = [p for p in parts if len(p)]
        if not parts:
            return np.empty(0, dtype=np.int64)
        if sum(len(p) for p in parts) * 32 < len(c):
            return sorted_unique(np.concatenate(parts))
        flag = np.zeros(len(c), dtype=bool)
        for p in parts:
            flag[p] = True
        return np.flatnonzero(flag)

    def top_boost_group(self, budget: int) -> np.ndarray:
        """A small set of strongly boosted rows whose similarity the ranker computes exactly.

        The index retrieves by similarity alone, so a sample with a large boost but a middling
        similarity can be missed. The group is, in this order, the first that holds at most
        ``budget`` rows: every tempo-boosted row, every key-boosted row, the rows with both.

        Returns:
            Sorted int64 rows (possibly empty).
        """
        tempo = self.tempo_rows()
        keyed = self.key_rows()
        n_tempo = sum(len(t) for t in tempo)
        if tempo and n_tempo <= budget:
            return np.sort(np.concatenate(tempo))  # disjoint windows: no duplicates
        if self._key_code is not None and len(keyed) <= budget:
            return keyed
        if not tempo or self._key_code is None:
            return np.empty(0, dtype=np.int64)
        rows = np.concatenate(tempo)
        both = rows[self.candidates.key_codes[rows] == self._key_code]
        return np.sort(both) if len(both) <= budget else np.empty(0, dtype=np.int64)

    # ----------------------------------------------------------- score terms

    def tempo(self, rows: np.ndarray | None) -> np.ndarray:
        """(m,) float64 tempo boost of ``rows`` (None = all rows)."""
        c = self.candidates
        m = len(c) if rows is None else len(rows)
        out = np.zeros(m, dtype=np.float64)
        if not self._tempo_windows:
            return out
        bpm = c.bpm if rows is None else c.bpm[rows]
        hit = np.zeros(m, dtype=bool)
        for lo, hi in self._tempo_windows:
            hit |= (bpm >= lo) & (bpm <= hi)
        hit &= c.is_loop if rows is None else c.is_loop[rows]
        out[hit] = self.rules.score.tempo.boost
        return out

    def key(self, rows: np.ndarray | None) -> np.ndarray:
        """(m,) float64 key boost: exact key and mode match of a pitched sample."""
        codes = self.candidates.key_codes if rows is None else self.candidates.key_codes[rows]
        out = np.zeros(len(codes), dtype=np.float64)
        if self._key_code is not None:
            out[codes == self._key_code] = self.rules.score.key.boost
        return out

    def freshness(self, rows: np.ndarray | None) -> np.ndarray:
        """(m,) float64 ``w_f · exp(−age_days / τ)``; future dates count as age 0."""
        added = self.candidates.added_at if rows is None else self.candidates.added_at[rows]
        age_s = np.maximum(self.now - added, 0.0)
        return self.rules.score.freshness.weight * np.exp(age_s * self._freshness_scale)

    def word_rows(self, word: str) -> np.ndarray:
        """Sorted int64 rows a context word matches: the word is one of the row's tags (file
        and folder name words, metadata tags), or it names the row's instrument through any
        synonym (:func:`companion.library.search.searched_instrument`: ``"pad"``, ``"bd"``).

        This is how mood and genre words find samples without a CLAP model.
        """
        hit = self._word_rows.get(word)
        if hit is None:
            c = self.candidates
            hit = c.rows_tagged(word)
            named = searched_instrument(word)
            if named is not None:
                hit = np.union1d(hit, np.flatnonzero(c.instrument == instrument_code(named))).astype(np.int64)
            self._word_rows[word] = hit
        return hit

    def tag_matches(self, rows: np.ndarray | None) -> np.ndarray:
        """(m,) int count of context words matching each row (:meth:`word_rows`)."""
        c = self.candidates
        if rows is None:
            counts = np.zeros(len(c), dtype=np.int32)
            for word in self.tag_words:
                counts[self.word_rows(word)] += 1
            return counts
        if len(rows) * 16 > len(c):  # many rows: count over the library, then gather
            gathered: npt.NDArray[np.int32] = self.tag_matches(None)[rows]
            return gathered
        counts = np.zeros(len(rows), dtype=np.int32)
        for word in self.tag_words:
            tagged = self.word_rows(word)
            if len(tagged):
                pos = np.minimum(np.searchsorted(tagged, rows), len(tagged) - 1)
                counts += tagged[pos] == rows
        return counts

    def tags(self, rows: np.ndarray | None) -> np.ndarray:
        """(m,) float64 ``min(boost_each · matches, max_total)``."""
        spec = self.rules.score.tags
        counts = self.tag_matches(rows) if self.tag_words else None
        m = len(self.candidates) if rows is None else len(rows)
        if counts is None:
            return np.zeros(m, dtype=np.float64)
        return np.minimum(counts * spec.boost_each, spec.max_total).astype(np.float64)

    def instrument(self, rows: np.ndarray | None) -> np.ndarray:
        """(m,) float64 instrument term (format 2; zeros when the rules or call have none)."""
        codes = self.candidates.instrument if rows is None else self.candidates.instrument[rows]
        if self._instrument_weights is None:
            return np.zeros(len(codes), dtype=np.float64)
        weights: npt.NDArray[np.float64] = self._instrument_weights[codes.astype(np.intp) + 1]
        return weights

    def boosts(self, rows: np.ndarray | None) -> np.ndarray:
        """(m,) float64 tempo + key + freshness + tags + instrument (the whole ``rules``-mode
        score)."""
        total = self.freshness(rows)
        if self._tempo_windows:
            total += self.tempo(rows)
        if self._key_code is not None:
            total += self.key(rows)
        if self.tag_words:
            total += self.tags(rows)
        if self._instrument_weights is not None:
            total += self.instrument(rows)
        return total

    def table(self, rows: np.ndarray, similarity: np.ndarray | None) -> ScoreTable:
        """Every score term for ``rows``.

        Args:
            rows: (m,) int64 rows.
            similarity: (m,) cosine to the target, or None (``rules`` mode, recency).

        Returns:
            The :class:`ScoreTable`; ``similarity`` is weighted by ``score.similarity_weight``.
        """
        rows = np.asarray(rows, dtype=np.int64)
        sim = (
            np.zeros(len(rows), dtype=np.float64)
            if similarity is None
            else self.rules.score.similarity_weight * np.asarray(similarity, dtype=np.float64)
        )
        return ScoreTable(
            rows=rows,
            similarity=sim,
            tempo=self.tempo(rows),
            key=self.key(rows),
            freshness=self.freshness(rows),
            tags=self.tags(rows),
            instrument=self.instrument(rows),
            has_instrument=self.has_instrument,
        )
