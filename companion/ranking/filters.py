"""Hard filters of the shared fusion rules (docs/architecture.md §3), vectorised with numpy.

A candidate failing one filter is never shown:

- **tempo** — a loop with a known BPM must lie within ``filters.tempo.tolerance_bpm`` of the
  session tempo after multiplying it by one of ``filters.tempo.tempo_multiples`` (half- and
  double-time: a 70 BPM loop fits 140 BPM). One-shots and unknown BPM pass.
- **key** — a pitched sample with a known key must be compatible with the session key on the
  Camelot wheel: same number (same key, or the relative major/minor when
  ``filters.key.allow_relative``), or the same letter within ``filters.key.camelot_steps``
  steps. Unpitched samples and unknown keys pass. With the defaults this equals
  :func:`companion.music.keys.compatible`.
- **bans** — banned samples, samples under a banned folder, and samples dismissed in this
  session.
- **accepted** — samples accepted in this session, and any sample with the same audio content
  (content hash) as one of them.
- **instrument** (only when a call asks for one, ``companion suggest --instrument bass``) — the
  sample's instrument must be that one; samples of unknown instrument fail.

Near-duplicates among the chosen list (content hash, then cosine ≥ threshold) are removed
later, when the list is built (:mod:`companion.ranking.mmr`).

:class:`HardFilter` compiles a context + session state once per ``suggest`` call; it then
evaluates any subset of rows (a shortlist from the vector index) or the whole library.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from companion.music.keys import Key, camelot_position
from companion.ranking.candidates import (
    Candidates,
    member_of,
    merge_windows,
    sorted_unique,
)
from companion.ranking.context import SessionContext
from companion.ranking.rules import FusionRules
from companion.ranking.state import SessionState


def camelot_of_code(code: int) -> tuple[int, str]:
    """Camelot ``(number, letter)`` of a key code ``pc + 12·mode``."""
    return camelot_position(Key(code % 12, "minor" if code >= 12 else "major"))


def key_compatibility_table(context_key: Key, rules: FusionRules) -> np.ndarray:
    """Which key codes pass the key filter for a session key.

    Returns:
        (25,) bool lookup indexed by ``key_code + 1``; entry 0 (unknown key) is True.
    """
    spec = rules.filters.key
    number, letter = camelot_position(context_key)
    table = np.zeros(25, dtype=bool)
    table[0] = True
    for code in range(24):
        n, letter_n = camelot_of_code(code)
        step = min((n - number) % 12, (number - n) % 12)
        if n == number:
            ok = letter_n == letter or spec.allow_relative
        else:
            ok = letter_n == letter and step <= spec.camelot_steps
        table[code + 1] = ok
    return table


def tempo_delta(bpm: np.ndarray, context_bpm: float, multiples: Iterable[float]) -> np.ndarray:
    """Distance in BPM between sample tempi and the session tempo, after tempo folding.

    Args:
        bpm: (m,) sample tempi in BPM (NaN = unknown).
        context_bpm: session tempo in BPM.
        multiples: tempo factors that count as the same groove, e.g. ``(0.5, 1, 2)``.

    Returns:
        (m,) float32 ``min_k |bpm·k − context_bpm|``; NaN where the tempo is unknown.
    """
    bpm = np.asarray(bpm, dtype=np.float32)
    best = np.full(bpm.shape, np.inf, dtype=np.float32)
    for k in multiples:
        np.minimum(best, np.abs(bpm * np.float32(k) - np.float32(context_bpm)), out=best)
    best[np.isnan(bpm)] = np.nan
    return best


class HardFilter:
    """The hard filters compiled for one context and session state.

    Args:
        candidates: the library columns.
        context: the session context (bpm and key are used).
        state: the session decisions (bans, dismissals, accepted samples).
        rules: the fusion rules (tolerances).
        instrument: instrument code (:func:`companion.ranking.candidates.instrument_code`)
            every candidate must have, or None for no instrument filter.
        unfit: (n,) bool, rows this call never shows (a cold start leaves out single-cycle
            waveforms and silence: :meth:`Candidates.cold_start_unfit`), or None.
    """

    def __init__(
        self,
        candidates: Candidates,
        context: SessionContext,
        state: SessionState,
        rules: FusionRules,
        instrument: int | None = None,
        unfit: np.ndarray | None = None,
    ) -> None:
        self.candidates = candidates
        self.instrument = instrument
        #: (n,) bool rows never shown by this call (a cold start's unfit rows), or None
        self.unfit = unfit
        self.rules = rules
        self.context_bpm = context.bpm
        self.context_key = context.key
        spec = rules.filters.tempo
        # |bpm·k − c| ≤ tol  ⇔  bpm ∈ [(c − tol)/k, (c + tol)/k]; overlapping windows merged
        self._bpm_windows = (
            merge_windows(
                ((context.bpm - spec.tolerance_bpm) / k, (context.bpm + spec.tolerance_bpm) / k)
                for k in spec.tempo_multiples
            )
            if context.bpm is not None
            else []
        )
        self._key_table = key_compatibility_table(context.key, rules) if context.key is not None else None
        excluded: list[np.ndarray] = []
        for ids in (state.banned_ids, state.dismissed, state.accepted):
            if ids:
                rows = candidates.rows_of(sorted(ids))
                excluded.append(rows[rows >= 0])
        accepted_rows = candidates.rows_of(list(state.accepted)) if state.accepted else None
        if accepted_rows is not None:
            accepted_rows = accepted_rows[accepted_rows >= 0]
            if len(accepted_rows):
                excluded.append(candidates.rows_with_hash_of(accepted_rows))
        #: sorted rows excluded one by one (bans, dismissals, accepted and their copies)
        self.excluded_rows = sorted_unique(np.concatenate(excluded)) if excluded else np.empty(0, dtype=np.int64)
        #: banned folders as ranges of :attr:`Candidates.path_order`
        self.folder_ranges = [candidates.path_range(f) for f in sorted(state.banned_folders)]
        self.folder_ranges = [(lo, hi) for lo, hi in self.folder_ranges if hi > lo]
        self._dense: np.ndarray | None = None

    def tempo_pass(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Tempo filter for ``rows`` (None = every row). Returns a bool mask."""
        c = self.candidates
        free = c.tempo_free if rows is None else c.tempo_free[rows]
        if not self._bpm_windows:
            return np.ones(len(free), dtype=bool)
        bpm = c.bpm if rows is None else c.bpm[rows]
        ok = free.copy()
        for lo, hi in self._bpm_windows:
            ok |= (bpm >= lo) & (bpm <= hi)
        return ok

    def key_pass(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Key filter for ``rows`` (None = every row). Returns a bool mask."""
        c = self.candidates
        codes = c.key_codes if rows is None else c.key_codes[rows]
        if self._key_table is None:
            return np.ones(len(codes), dtype=bool)
        return self._key_table[codes.astype(np.intp) + 1]

    def allowed(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Ban list, dismissals and accepted samples for ``rows`` (None = every row)."""
        c = self.candidates
        n = len(c) if rows is None else len(rows)
        if not len(self.excluded_rows) and not self.folder_ranges:
            return np.ones(n, dtype=bool)
        if rows is None or n * 16 > len(c):  # many rows: one dense mask of the library
            if self._dense is None:
                dense = np.ones(len(c), dtype=bool)
                dense[self.excluded_rows] = False
                for lo, hi in self.folder_ranges:
                    dense[c.path_order[lo:hi]] = False
                self._dense = dense
            return self._dense.copy() if rows is None else self._dense[rows]
        ok = ~member_of(rows, self.excluded_rows)
        if self.folder_ranges:
            rank = c.path_rank[rows]
            for lo, hi in self.folder_ranges:
                ok &= (rank < lo) | (rank >= hi)
        return ok

    def mask(self, rows: np.ndarray | None = None) -> np.ndarray:
        """All hard filters for ``rows`` (None = every row of the library).

        Args:
            rows: (m,) int64 rows, or None.

        Returns:
            (m,) or (n,) bool, True where the candidate may be shown.
        """
        ok = self.tempo_pass(rows)
        if self.instrument is not None:
            codes = self.candidates.instrument if rows is None else self.candidates.instrument[rows]
            ok &= codes == self.instrument
        if self._key_table is not None:
            ok &= self.key_pass(rows)
        if len(self.excluded_rows) or self.folder_ranges:
            ok &= self.allowed(rows)
        if self.unfit is not None:
            ok &= ~(self.unfit if rows is None else self.unfit[rows])
        return ok


def banned_rows(candidates: Candidates, state: SessionState) -> np.ndarray:
    """Rows the producer banned: banned samples and every sample under a banned folder.

    The one rule for bans outside ranking too (search, "more like this"): folders match by
    :meth:`Candidates.path_range` (``/a/b`` bans ``/a/b/x.wav``, not ``/a/bc/y.wav``).

    Returns:
        (n,) bool, True for a banned row.
    """
    mask = np.zeros(len(candidates), dtype=bool)
    if state.banned_ids:
        rows = candidates.rows_of(sorted(state.banned_ids))
        mask[rows[rows >= 0]] = True
    for folder in state.banned_folders:
        lo, hi = candidates.path_range(folder)
        mask[candidates.path_order[lo:hi]] = True
    return mask
