"""What one row of the suggestions list shows: a plain value object (no Qt).

Built on a worker thread from the engine's :class:`~companion.ranking.ranker.Suggestion`, from a
catalog row (search results, "more like this"), so the GUI thread only paints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from companion.app.search import PENDING_NOTE
from companion.preview.audition import AuditionItem

#: Order and labels of score components in the rationale tooltip.
COMPONENT_LABELS = (
    ("similarity", "similarity"),
    ("tempo", "tempo"),
    ("key", "key"),
    ("freshness", "freshness"),
    ("tags", "tags"),
)


@dataclass(frozen=True)
class SuggestionItem:
    """One card.

    Attributes:
        sample_id: catalog id.
        path / name / folder: the file.
        kind: ``"loop"`` / ``"one-shot"``.
        bpm: BPM or None; key: e.g. ``"A minor"`` or None; duration_s: seconds or None.
        score: fused score, None for plain search hits.
        components: score components (``similarity``, ``tempo`` …).
        source: ``clap``, ``fingerprint``, ``recency`` or ``search``.
        rationale: human-readable reasons.
        pinned: pinned by the producer.
        rank: 1-based position in the list it was shown in.
        instrument: the sample's instrument class (``"kick"`` …) or None.
        added_at: when the sample entered the library (unix s), or None.
        analysing: the file is indexed but not analysed yet (:meth:`analysing_row`), or the
            "+N more" line after such rows (:meth:`more_analysing`, ``sample_id`` −1): shown
            greyed with no score; playing, using and deciding wait for its analysis.
    """

    sample_id: int
    path: str
    name: str
    kind: str
    bpm: float | None
    key: str | None
    duration_s: float | None
    score: float | None
    components: Mapping[str, float] = field(default_factory=dict)
    source: str = "recency"
    rationale: tuple[str, ...] = ()
    pinned: bool = False
    rank: int = 0
    folder: str = ""
    instrument: str | None = None
    added_at: float | None = None
    analysing: bool = False

    @classmethod
    def from_suggestion(
        cls, s: Any, rank: int, duration_s: float | None, added_at: float | None = None
    ) -> SuggestionItem:
        """From a ranker ``Suggestion`` (``added_at``: unix s, from the candidates)."""
        bpm = None if s.bpm is None or not np.isfinite(s.bpm) else float(s.bpm)
        return cls(
            sample_id=int(s.sample_id),
            path=s.path,
            name=s.name,
            kind=s.kind,
            bpm=bpm,
            key=s.key,
            duration_s=duration_s,
            score=float(s.score),
            components=dict(s.score_components),
            source=s.source,
            rationale=tuple(s.rationale),
            pinned=bool(s.pinned),
            rank=rank,
            folder=os.path.dirname(s.path),
            instrument=getattr(s, "instrument", None),
            added_at=added_at,
        )

    @classmethod
    def from_row(
        cls, row: Any, rank: int, *, score: float | None = None, source: str = "search", rationale: tuple[str, ...] = ()
    ) -> SuggestionItem:
        """From a catalog ``SampleRow`` (search hits, similar samples)."""
        return cls(
            sample_id=int(row.id),
            path=row.path,
            name=row.name,
            kind=row.kind or "one-shot",
            bpm=row.bpm,
            key=row.key,
            duration_s=row.duration_s,
            score=score,
            components={},
            source=source,
            rationale=rationale,
            pinned=False,
            rank=rank,
            folder=row.folder,
            instrument=getattr(row, "instrument", None),
            added_at=getattr(row, "added_at", None),
        )

    @classmethod
    def analysing_row(cls, row: Any) -> SuggestionItem:
        """A file still being analysed, from its catalog ``SampleRow`` (status ``pending``):
        name and folder only; ``kind`` reads ``"analysing…"``."""
        return cls(
            sample_id=int(row.id),
            path=row.path,
            name=row.name,
            kind=PENDING_NOTE,
            bpm=None,
            key=None,
            duration_s=None,
            score=None,
            source="pending",
            rank=0,
            folder=row.folder,
            added_at=getattr(row, "added_at", None),
            analysing=True,
        )

    @classmethod
    def more_analysing(cls, count: int) -> SuggestionItem:
        """The line after the listed files still being analysed: ``"+N more being analysed"``."""
        return cls(
            sample_id=-1,
            path="",
            name=f"+{count} more being analysed",
            kind=PENDING_NOTE,
            bpm=None,
            key=None,
            duration_s=None,
            score=None,
            source="pending",
            analysing=True,
        )

    def audition(self) -> AuditionItem:
        """What the auditioner needs."""
        return AuditionItem(self.path, self.kind, self.bpm, self.key)

    # ------------------------------------------------------------------ text
    @property
    def bpm_text(self) -> str:
        """``"124 BPM"`` or ``""``."""
        return (
            ""
            if self.bpm is None
            else f"{self.bpm:.0f} BPM"
            if abs(self.bpm - round(self.bpm)) < 0.05
            else f"{self.bpm:.1f} BPM"
        )

    @property
    def key_text(self) -> str:
        """``"Am"``-style short key or ``""``."""
        if not self.key:
            return ""
        tonic, _, mode = self.key.partition(" ")
        return tonic + ("m" if mode == "minor" else "")

    @property
    def duration_text(self) -> str:
        """``"2.0 s"``, ``"1:04"`` or ``""``."""
        if self.duration_s is None:
            return ""
        if self.duration_s < 60:
            return f"{self.duration_s:.1f} s"
        m, s = divmod(int(round(self.duration_s)), 60)
        return f"{m}:{s:02d}"

    def tooltip_html(self) -> str:
        """The score breakdown shown on hover."""
        lines = [f"<b>{_esc(self.name)}</b>", f"<span style='color:#9aa1ab'>{_esc(self.folder)}</span>"]
        if self.analysing:
            return "<br>".join([*lines, f"{PENDING_NOTE} — BPM, key and kind come when its analysis is done"])
        if self.score is not None:
            rows = "".join(
                f"<tr><td>{label}</td><td align='right'>{self.components[name]:+.3f}</td></tr>"
                for name, label in COMPONENT_LABELS
                if name in self.components
            )
            lines.append(
                f"<table cellspacing='0' cellpadding='1'>{rows}"
                f"<tr><td><b>score</b></td><td align='right'><b>{self.score:.3f}</b></td></tr></table>"
            )
        if self.rationale:
            lines.append(" · ".join(_esc(r) for r in self.rationale))
        lines.append(f"<span style='color:#9aa1ab'>source: {self.source}</span>")
        return "<br>".join(lines)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
