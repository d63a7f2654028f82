"""Following a library while a scan fills it: the engine reloads as analyses land, and the
files indexed but not analysed yet are listed for the window (shown as "analysing…").

A scan (another process) first indexes files as catalog rows with status ``pending``, then
analyses them. :class:`ScanFollower` is stepped every few seconds by the client while the scan
runs, on a thread that may use the engine's catalog connection; each step reads two counts,
reloads the engine only when they changed (without writing vector index files: the scan
process writes those when it ends), and lists the first pending files. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from companion.library.catalog import Catalog, SampleRow
from companion.ranking.list_filter import ListFilter

#: Most pending files listed (the rest are counted).
PENDING_SHOWN = 50


@dataclass(frozen=True)
class PendingFiles:
    """Files indexed but not analysed yet, as the suggestion list shows them.

    Attributes:
        rows: the first ones by path (at most :data:`PENDING_SHOWN`), none that the engine
            already has as candidates.
        total: how many there are in all (``total >= len(rows)``).
    """

    rows: tuple[SampleRow, ...] = ()
    total: int = 0

    @property
    def more(self) -> int:
        """Pending files not in :attr:`rows`."""
        return max(0, self.total - len(self.rows))


def pending_for_list(
    engine: Any, catalog: Catalog, list_filter: ListFilter, limit: int = PENDING_SHOWN
) -> PendingFiles:
    """The pending files the suggestion list would show under ``list_filter``.

    Bans apply (the catalog's banned samples and folders). A folder filter keeps the files
    below that folder; any other criterion (kind, instrument, BPM, length, favourites) needs
    an analysis to judge, so no pending file passes it. Files the engine already holds as
    candidates (analysed since the catalog was read) are left out.

    Args:
        engine: the session's :class:`~companion.engine.Engine` (its candidates).
        catalog: a catalog connection for this thread.
        list_filter: the producer's list filter.
        limit: most rows listed.
    """
    return _not_candidates(engine, _pending_page(catalog, list_filter, limit))


def _pending_page(catalog: Catalog, list_filter: ListFilter, limit: int) -> PendingFiles:
    """Pending files under ``list_filter`` (bans applied by the catalog), candidates included."""
    if not list_filter.with_changes(folder=None).is_empty:
        return PendingFiles()
    rows, total = catalog.pending_page(limit, under=list_filter.folder)
    return PendingFiles(tuple(rows), total)


def _not_candidates(engine: Any, page: PendingFiles) -> PendingFiles:
    """``page`` without the files the engine holds as candidates (analysed since it was read)."""
    if not page.rows:
        return page
    known = (engine.candidates.rows_of([r.id for r in page.rows]) >= 0).tolist()
    if not any(known):
        return page
    rows = tuple(r for r, k in zip(page.rows, known, strict=True) if not k)
    return PendingFiles(rows, page.total - sum(known))


class ScanFollower:
    """Keeps an engine in step with a library a scan is filling.

    Args:
        engine: the session's :class:`~companion.engine.Engine`.
        catalog: the catalog connection :meth:`step` reads counts and pending files through
            (one thread at a time).

    Call :meth:`step` from one thread at a time; never two at once (each may reload).
    """

    def __init__(self, engine: Any, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog
        self._seen: tuple[int, int] | None = None

    def step(self, list_filter: ListFilter, limit: int = PENDING_SHOWN) -> tuple[bool, PendingFiles]:
        """Reload the engine when analysed or pending files changed since the last step (the
        first step: when the engine's candidates are not as many as the analysed files), and
        list the pending files.

        Returns:
            ``(reloaded, pending)``: whether the engine reloaded (the client re-ranks), and the
            pending files for the list (:func:`pending_for_list`).

        Blocks for the reload (a fraction of a second for thousands of files): call it off the
        GUI thread.
        """
        counts = (self.catalog.count("analysed"), self.catalog.count("pending"))
        # read before the reload, filtered after it: a file analysed in between is then a
        # candidate (left out here) or still pending — never in both lists, never in neither
        page = _pending_page(self.catalog, list_filter, limit)
        if self._seen is None:  # the engine was read before the scan: stale if it lost or gained files
            reloaded = counts[0] != len(self.engine.candidates)
        else:
            reloaded = counts != self._seen
        if reloaded:
            self.engine.reload(save_indexes=False)
        self._seen = counts
        return reloaded, _not_candidates(self.engine, page)
