"""The "Filter ▾" menu: kind, instrument, BPM range, length, folder, favourites, and sort.

One toolbar button with a menu, like "View ▾", so it fits the one-column layout at 480 px.
Choosing an entry emits :attr:`FilterMenu.filter_changed` with the new
:class:`~companion.ranking.list_filter.ListFilter` (the controller asks the ranker for a
filtered list and saves it) or :attr:`FilterMenu.sort_changed`. :func:`arrange` orders (and,
for search results, filters) the items the window shows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from companion.analysis.instruments import INSTRUMENTS
from companion.ranking.list_filter import ListFilter
from companion.ui.items import SuggestionItem

#: Sort orders: setting value → menu label.
SORTS: tuple[tuple[str, str], ...] = (
    ("score", "Score"),
    ("name", "Name"),
    ("bpm", "BPM"),
    ("length", "Length"),
    ("added", "Date added (newest first)"),
)
#: BPM ranges offered (BPM, inclusive); common tempo bands from hip-hop (80–100) to DnB (160–180).
BPM_RANGES: tuple[tuple[float, float], ...] = ((60, 90), (90, 110), (110, 130), (130, 150), (150, 180))
#: Length ranges offered (s): hits, short phrases, one- to four-bar loops, long loops and beds.
LENGTH_RANGES: tuple[tuple[float, float], ...] = ((0, 1), (1, 4), (4, 16), (16, 3600))


def _length_label(lo: float, hi: float) -> str:
    if lo == 0:
        return f"under {hi:g} s"
    if hi >= 3600:
        return f"over {lo:g} s"
    return f"{lo:g}–{hi:g} s"


def arrange(
    items: Sequence[SuggestionItem],
    sort_by: str,
    list_filter: ListFilter | None = None,
    pinned: Collection[int] = (),
) -> list[SuggestionItem]:
    """The items to show: those that pass ``list_filter`` (None: all, e.g. suggestions the
    ranker already filtered), in ``sort_by`` order.

    Args:
        items: the list, best first.
        sort_by: ``score`` (as given), ``name``, ``bpm`` (ascending), ``length`` (ascending, s)
            or ``added`` (newest first); unknown values keep the given order. Items without the
            value go last.
        pinned: ids of the pinned samples (for the favourites filter).
    """
    out = list(items)
    if list_filter is not None and not list_filter.is_empty:
        out = [
            it
            for it in out
            if list_filter.accepts(
                kind=it.kind,
                bpm=it.bpm,
                duration_s=it.duration_s,
                path=it.path,
                instrument=it.instrument,
                pinned=it.pinned or it.sample_id in pinned,
            )
        ]
    keys: dict[str, Callable[[SuggestionItem], Any]] = {
        "name": lambda it: (0, it.name.casefold()),
        "bpm": lambda it: (it.bpm is None, it.bpm or 0.0),
        "length": lambda it: (it.duration_s is None, it.duration_s or 0.0),
        "added": lambda it: (it.added_at is None, -(it.added_at or 0.0)),
    }
    key = keys.get(sort_by)
    return sorted(out, key=key) if key is not None else out


class FilterMenu(QMenu):
    """The menu of the "Filter ▾" button.

    Args:
        list_filter / sort_by / folders: the current filter, sort order and sample folders.

    Signals:
        filter_changed(ListFilter): the producer chose another filter.
        sort_changed(str): the producer chose another sort order.
    """

    filter_changed = Signal(object)
    sort_changed = Signal(str)

    def __init__(
        self, list_filter: ListFilter, sort_by: str, folders: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.list_filter = list_filter
        self.sort_by = sort_by
        self.folders = list(folders)
        #: every checkable entry by a readable name (``"kind:loop"``, ``"sort:name"`` …), for tests
        self.entries: dict[str, QAction] = {}
        self._build()

    def _build(self) -> None:
        self.clear()
        self.entries = {}
        flt = self.list_filter
        fav = self.addAction("Favourites (pinned) only")
        fav.setCheckable(True)
        fav.setChecked(flt.favourites)
        fav.toggled.connect(lambda on: self._set(favourites=on))
        self.entries["favourites"] = fav
        self._group("Kind", "kind", [(None, "Loops and one-shots"), ("loop", "Loops"), ("one-shot", "One-shots")])
        self._group("Instrument", "instrument", [(None, "Any instrument"), *((i, i) for i in INSTRUMENTS)])
        self._group(
            "BPM",
            "bpm",
            [(None, "Any BPM"), *(((lo, hi), f"{lo:g}–{hi:g} BPM") for lo, hi in BPM_RANGES)],
        )
        self._group(
            "Length",
            "length_s",
            [(None, "Any length"), *(((lo, hi), _length_label(lo, hi)) for lo, hi in LENGTH_RANGES)],
        )
        folders = [(None, "All folders"), *((f, f) for f in self.folders)]
        if flt.folder and flt.folder not in self.folders:
            folders.append((flt.folder, flt.folder))
        self._group("Folder", "folder", folders)
        self.addSeparator()
        sort = self.addMenu("Sort by")
        group = QActionGroup(sort)
        for value, label in SORTS:
            act = sort.addAction(label)
            act.setCheckable(True)
            act.setChecked(value == self.sort_by)
            group.addAction(act)
            act.triggered.connect(lambda _=False, v=value: self._sort(v))
            self.entries[f"sort:{value}"] = act
        self.addSeparator()
        clear = self.addAction("Clear filters")
        clear.setEnabled(not flt.is_empty)
        clear.triggered.connect(lambda: self._apply(ListFilter()))
        self.entries["clear"] = clear

    def _group(self, title: str, field: str, choices: Sequence[tuple[Any, str]]) -> None:
        current = getattr(self.list_filter, field)
        menu = self.addMenu(title if current is None else f"{title}: {_label_of(choices, current)}")
        group = QActionGroup(menu)
        for value, label in choices:
            act = menu.addAction(label)
            act.setCheckable(True)
            act.setChecked(value == current)
            group.addAction(act)
            act.triggered.connect(lambda _=False, v=value: self._set(**{field: v}))
            self.entries[f"{field}:{'any' if value is None else _token(value)}"] = act

    def _set(self, **changes: Any) -> None:
        self._apply(self.list_filter.with_changes(**changes))

    def _apply(self, list_filter: ListFilter) -> None:
        if list_filter == self.list_filter:
            return
        self.list_filter = list_filter
        self._build()
        self.filter_changed.emit(list_filter)

    def _sort(self, sort_by: str) -> None:
        if sort_by != self.sort_by:
            self.sort_by = sort_by
            self.sort_changed.emit(sort_by)

    def set_folders(self, folders: Sequence[str]) -> None:
        """The sample folders changed: rebuild the Folder entries."""
        self.folders = list(folders)
        self._build()


def _token(value: Any) -> str:
    return f"{value[0]:g}-{value[1]:g}" if isinstance(value, tuple) else str(value)


def _label_of(choices: Sequence[tuple[Any, str]], value: Any) -> str:
    return next((label for v, label in choices if v == value), str(value))
