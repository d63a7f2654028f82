"""Search and "more like this" for the window, on the controller's ``db`` pool.

Both go through the session (:meth:`companion.app.Session.search`,
:meth:`~companion.app.Session.similar`), so the window and ``companion search`` find the same
samples with the same bans; here the hits only become cards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from companion.ui.items import SuggestionItem

if TYPE_CHECKING:
    from companion.ui.controller import AppController


@dataclass(frozen=True)
class ResultList:
    """Search hits or similar samples, shown instead of the suggestions until cleared.

    Attributes:
        title: the header, e.g. ``“warm pad”``.
        items: the cards, best first.
        kind: ``search`` or ``similar``.
        note: how it searched, e.g. ``through CLAP``.
    """

    title: str
    items: list[SuggestionItem]
    kind: str
    note: str = ""


class SearchAdapter(QObject):
    """Runs searches for one controller; only the newest request's results are shown."""

    def __init__(self, controller: AppController) -> None:
        super().__init__(controller)
        self._c = controller
        self._token = 0

    def search(self, text: str) -> None:
        """Text search (CLAP when a model is loaded, else names and tags) → ``results_ready``;
        an empty text goes back to the suggestions (``results_ready(None)``)."""
        c = self._c
        self._token += 1
        token = self._token
        text = text.strip()
        if not text:
            c.results_ready.emit(None)
            return
        db = c.db
        if c.session.engine is None or db is None:
            return
        session = c.session

        def work() -> ResultList:
            result = session.search(text, catalog=db)
            items = [
                SuggestionItem.from_row(
                    h.row,
                    rank,
                    score=h.score,
                    source="search" if h.source == "names" else h.source,
                    rationale=(h.rationale,) if h.rationale else (),
                )
                for rank, h in enumerate(result.hits, 1)
            ]
            return ResultList(f"“{text}”", items, "search", note=result.note)

        c.tasks.run(work, lambda r, e: self._done(token, r, e, "search failed: "), pool="db")

    def cancel(self) -> None:
        """Forget the search or "more like this" in flight (its results are dropped)."""
        self._token += 1

    def more_like(self, item: SuggestionItem) -> None:
        """Samples that sound like ``item`` (bans applied) → ``results_ready``."""
        c = self._c
        db = c.db
        if c.session.engine is None or db is None:
            return
        self._token += 1
        token = self._token
        session, top_k = c.session, c.settings.top_k

        def work() -> ResultList:
            items: list[SuggestionItem] = []
            for h in session.similar(item.path, top_k=top_k):
                row = db.get(h["id"])
                if row is not None:
                    items.append(
                        SuggestionItem.from_row(
                            row,
                            len(items) + 1,
                            score=h["score"],
                            source="similar",
                            rationale=(f"similarity {h['score']:.2f}",),
                        )
                    )
            return ResultList(f"More like {item.name}", items, "similar")

        c.tasks.run(work, lambda r, e: self._done(token, r, e, ""), pool="db")

    def _done(self, token: int, result: Any, error: BaseException | None, prefix: str) -> None:
        if token != self._token:
            return
        if error is not None:
            self._c.problem.emit(f"{prefix}{error}")
            return
        self._c.results_ready.emit(result)
