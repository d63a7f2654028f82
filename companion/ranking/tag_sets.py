"""The tags of every sample as one flat column: a sparse row × tag matrix (CSR), no set per row.

``tags[row]`` still reads as a ``frozenset`` of words (built on demand, for the few rows a
rationale shows), and :meth:`TagSets.rows_with` answers "which rows carry this tag" from an
index built once, vectorised. A 100k-sample library holds three arrays and a short word list
instead of 100k ``frozenset`` objects, which Python's cyclic garbage collector would walk on
every full collection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from typing import overload

import numpy as np


class TagSets(Sequence[frozenset[str]]):
    """Tags per row, stored as CSR.

    Args:
        vocabulary: the distinct tags; a tag's position is its code.
        indptr: (n + 1,) int64, non-decreasing, ``indptr[0] == 0``; the codes of row ``r`` are
            ``codes[indptr[r]:indptr[r + 1]]``.
        codes: (m,) int32 codes, ``m == indptr[-1]``, unique within a row.

    Raises:
        ValueError: the arrays do not describe a CSR matrix over ``vocabulary``.
    """

    def __init__(self, vocabulary: Sequence[str], indptr: np.ndarray, codes: np.ndarray) -> None:
        self.vocabulary: tuple[str, ...] = tuple(vocabulary)  # a tuple leaves the GC's lists (Candidates)
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.codes = np.ascontiguousarray(codes, dtype=np.int32)
        if self.indptr.ndim != 1 or not len(self.indptr) or self.indptr[0] != 0 or self.indptr[-1] != len(self.codes):
            raise ValueError(f"indptr must run from 0 to len(codes) = {len(self.codes)}")
        if len(self.codes) and (self.codes.min() < 0 or self.codes.max() >= len(self.vocabulary)):
            raise ValueError(f"tag codes must lie in 0…{len(self.vocabulary) - 1}")

    # ------------------------------------------------------------------ building
    @classmethod
    def empty(cls, n: int) -> TagSets:
        """``n`` rows without tags."""
        return cls([], np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int32))

    @classmethod
    def from_pairs(
        cls, n: int, rows: np.ndarray, words: np.ndarray, vocabulary: Sequence[str], *, normalise: bool = True
    ) -> TagSets:
        """Build from one ``(row, word)`` pair per tag occurrence (any order, repeats allowed).

        Args:
            n: number of rows.
            rows: (m,) int rows in ``0 … n-1``.
            words: (m,) int indexes into ``vocabulary``.
            vocabulary: the words the indexes refer to.
            normalise: strip and lower-case the words (empty ones are dropped), so that
                ``"Dark"`` and ``"dark "`` are one tag.

        Raises:
            ValueError: a row or word index is out of range, or ``rows`` and ``words`` differ
                in length.
        """
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        words = np.asarray(words, dtype=np.int64).reshape(-1)
        if len(rows) != len(words):
            raise ValueError(f"{len(rows)} rows but {len(words)} words")
        if len(rows) and (rows.min() < 0 or rows.max() >= n or words.min() < 0 or words.max() >= len(vocabulary)):
            raise ValueError("tag pair out of range")
        if normalise:
            clean = [str(w).strip().lower() for w in vocabulary]
        else:
            clean = [str(w) for w in vocabulary]
        index: dict[str, int] = {}
        remap = np.fromiter(
            (index.setdefault(w, len(index)) if w else -1 for w in clean), dtype=np.int64, count=len(clean)
        )
        codes = remap[words] if len(words) else np.empty(0, dtype=np.int64)
        keep = codes >= 0
        width = max(len(index), 1)
        keys = np.unique(rows[keep] * width + codes[keep])  # sorted by row, then code; repeats gone
        key_rows = keys // width
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(key_rows, minlength=n), out=indptr[1:])
        return cls(list(index), indptr, (keys % width).astype(np.int32))

    @classmethod
    def from_sets(cls, sets: Iterable[Iterable[str]], *, normalise: bool = False) -> TagSets:
        """Build from one iterable of words per row (kept as given unless ``normalise``)."""
        index: dict[str, int] = {}
        rows: list[int] = []
        words: list[int] = []
        n = 0
        for row, tags in enumerate(sets):
            n = row + 1
            for tag in tags:
                rows.append(row)
                words.append(index.setdefault(tag, len(index)))
        return cls.from_pairs(
            n, np.asarray(rows, dtype=np.int64), np.asarray(words, dtype=np.int64), list(index), normalise=normalise
        )

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self.indptr) - 1

    @overload
    def __getitem__(self, row: int) -> frozenset[str]: ...
    @overload
    def __getitem__(self, row: slice) -> list[frozenset[str]]: ...

    def __getitem__(self, row: int | slice) -> frozenset[str] | list[frozenset[str]]:
        """The tags of one row (a frozenset), or a list of them for a slice."""
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        r = int(row)
        n = len(self)
        if r < 0:
            r += n
        if not 0 <= r < n:
            raise IndexError(f"row {row} outside 0…{n - 1}")
        vocab = self.vocabulary
        return frozenset(vocab[c] for c in self.codes[self.indptr[r] : self.indptr[r + 1]].tolist())

    def __iter__(self) -> Iterator[frozenset[str]]:
        for r in range(len(self)):
            yield self[r]

    def __repr__(self) -> str:
        return f"TagSets({len(self)} rows, {len(self.vocabulary)} tags, {len(self.codes)} entries)"

    def counts(self) -> np.ndarray:
        """(n,) int64 number of tags per row."""
        return np.diff(self.indptr)

    @cached_property
    def _code_of(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.vocabulary)}

    @cached_property
    def _by_code(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows grouped by tag code: ``rows[starts[c]:starts[c + 1]]`` (ascending) carry tag ``c``."""
        entry_rows = np.repeat(np.arange(len(self), dtype=np.int64), self.counts())
        order = np.argsort(self.codes, kind="stable")  # stable: rows stay ascending per code
        starts = np.zeros(len(self.vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.codes, minlength=len(self.vocabulary)), out=starts[1:])
        return entry_rows[order], starts

    def prepare(self) -> TagSets:
        """Build the tag → rows index now instead of on the first :meth:`rows_with`."""
        _ = self._code_of, self._by_code
        return self

    def rows_with(self, tag: str) -> np.ndarray:
        """Ascending int64 rows carrying ``tag`` (exactly as stored; empty if none)."""
        code = self._code_of.get(tag)
        if code is None:
            return np.empty(0, dtype=np.int64)
        rows, starts = self._by_code
        return rows[starts[code] : starts[code + 1]]
