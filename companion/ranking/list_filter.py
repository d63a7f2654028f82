"""The producer's list filter: kind, instrument, BPM range, length range, folder, favourites.

Unlike the hard filters of the fusion rules (:mod:`companion.ranking.filters`), which follow the
session context, a :class:`ListFilter` is what the producer chose to look at ("one-shots only",
"loops of 110–130 BPM", "only my favourites"). The ranker applies it *before* choosing the
``top_k`` (:meth:`companion.ranking.ranker.Ranker.suggest`), so a filtered list is still
``top_k`` long when the library holds enough matching samples; search results and "more like
this" lists are filtered item by item with :meth:`ListFilter.accepts`.

Favourites are the pinned samples (the window's P key pins).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from companion.ranking.candidates import UNKNOWN_INSTRUMENT, Candidates, instrument_code

Kind = Literal["loop", "one-shot"]


@dataclass(frozen=True)
class ListFilter:
    """What the shown list is limited to; every field left at its default lets everything pass.

    Attributes:
        kind: ``"loop"`` or ``"one-shot"``, or None for both.
        instrument: an instrument class or synonym (``"kick"``, ``"bd"``), or None. Samples of
            unknown instrument fail an instrument filter.
        bpm: ``(low, high)`` BPM, inclusive; samples without a BPM fail it.
        length_s: ``(low, high)`` duration in seconds, inclusive; samples of unknown length fail.
        folder: only samples under this folder (absolute path), or None.
        favourites: only pinned samples.
    """

    kind: Kind | None = None
    instrument: str | None = None
    bpm: tuple[float, float] | None = None
    length_s: tuple[float, float] | None = None
    folder: str | None = None
    favourites: bool = False

    @property
    def is_empty(self) -> bool:
        """True when the filter lets every sample pass."""
        return self == ListFilter()

    def with_changes(self, **changes: Any) -> ListFilter:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def describe(self) -> str:
        """One short line for the list header, e.g. ``"loops · 110–130 BPM · favourites"``
        (``""`` when empty)."""
        bits: list[str] = []
        if self.favourites:
            bits.append("favourites")
        if self.kind:
            bits.append("loops" if self.kind == "loop" else "one-shots")
        if self.instrument:
            bits.append(self.instrument)
        if self.bpm:
            bits.append(f"{self.bpm[0]:g}–{self.bpm[1]:g} BPM")
        if self.length_s:
            bits.append(f"{self.length_s[0]:g}–{self.length_s[1]:g} s")
        if self.folder:
            bits.append(f"in {self.folder.rstrip('/').rsplit('/', 1)[-1] or self.folder}")
        return " · ".join(bits)

    def mask(self, candidates: Candidates, pinned: Collection[int] = ()) -> np.ndarray:
        """Which rows of the library pass.

        Args:
            candidates: the library columns.
            pinned: ids of the pinned samples (the favourites).

        Returns:
            (n,) bool, True where the sample passes.

        Raises:
            CompanionError: ``instrument`` names no instrument (the message lists them).
        """
        c = candidates
        ok = np.ones(len(c), dtype=bool)
        if self.kind is not None:
            ok &= c.is_loop if self.kind == "loop" else ~c.is_loop
        if self.instrument is not None:
            code = instrument_code(self.instrument)
            if code == UNKNOWN_INSTRUMENT:
                from companion.library.search import parse_instrument

                parse_instrument(self.instrument)  # raises with the list of instruments
            ok &= c.instrument == code
        if self.bpm is not None:
            lo, hi = self.bpm
            ok &= (c.bpm >= lo) & (c.bpm <= hi)  # NaN (no BPM) fails
        if self.length_s is not None:
            lo, hi = self.length_s
            ok &= (c.duration_s >= lo) & (c.duration_s <= hi)
        if self.folder is not None:
            inside = np.zeros(len(c), dtype=bool)
            lo_r, hi_r = c.path_range(self.folder)
            inside[c.path_order[lo_r:hi_r]] = True
            ok &= inside
        if self.favourites:
            fav = np.zeros(len(c), dtype=bool)
            if pinned:
                rows = c.rows_of(sorted(pinned))
                fav[rows[rows >= 0]] = True
            ok &= fav
        return ok

    def accepts(
        self,
        *,
        kind: str | None,
        bpm: float | None,
        duration_s: float | None,
        path: str,
        instrument: str | None,
        pinned: bool,
    ) -> bool:
        """Whether one sample passes (search results, "more like this"): the same rules as
        :meth:`mask`, for a sample given by its fields (BPM, duration in s, instrument class)."""
        if self.kind is not None and (kind or "one-shot") != self.kind:
            return False
        if self.instrument is not None:
            code = instrument_code(self.instrument)
            if instrument is None or instrument_code(instrument) != code or code == UNKNOWN_INSTRUMENT:
                return False
        if self.bpm is not None and (bpm is None or not self.bpm[0] <= bpm <= self.bpm[1]):
            return False
        if self.length_s is not None and (duration_s is None or not self.length_s[0] <= duration_s <= self.length_s[1]):
            return False
        if self.folder is not None:
            prefix = self.folder if self.folder.endswith(("/", "\\")) else self.folder + "/"
            if not path.startswith(prefix):
                return False
        return not (self.favourites and not pinned)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (ranges as 2-lists)."""
        return {
            "kind": self.kind,
            "instrument": self.instrument,
            "bpm": list(self.bpm) if self.bpm else None,
            "length_s": list(self.length_s) if self.length_s else None,
            "folder": self.folder,
            "favourites": self.favourites,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> ListFilter:
        """Inverse of :meth:`to_json`; missing keys keep their defaults.

        Raises:
            ValueError: a kind other than loop / one-shot, or a range that is not two numbers
                with low ≤ high.
        """
        d = d or {}
        kind = d.get("kind") or None
        if kind not in (None, "loop", "one-shot"):
            raise ValueError(f"kind must be 'loop' or 'one-shot', not {kind!r}")
        return cls(
            kind=kind,
            instrument=d.get("instrument") or None,
            bpm=_range(d.get("bpm"), "bpm"),
            length_s=_range(d.get("length_s"), "length_s"),
            folder=d.get("folder") or None,
            favourites=bool(d.get("favourites", False)),
        )


def _range(value: Any, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise ValueError(f"{name} range {lo:g}–{hi:g} is empty: low must not exceed high")
    return lo, hi


__all__ = ["Kind", "ListFilter"]
