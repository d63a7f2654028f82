"""The suggestions list: a Qt model of :class:`SuggestionItem` cards, their painter, the view.

The model only holds plain items; the delegate paints each visible card (waveform thumbnail,
name, rationale, BPM/key/duration/kind chips, source badge) from cached data, so repainting a
list of any length costs the same few visible cards. Waveform thumbnails are asked for once per
path through :attr:`SuggestionModel.peaks_wanted`; the controller computes them on a worker.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDrag,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from companion.ui import theme
from companion.ui.items import SuggestionItem

ItemRole = Qt.ItemDataRole.UserRole + 1
CARD_HEIGHT = 60
WAVE_WIDTH = 128
#: Cards narrower than this (content px) use the two-line layout of :func:`card_layout`.
NARROW_BELOW = 600
#: The waveform thumbnail's width in the two-line layout (px).
NARROW_WAVE_WIDTH = 56
#: The width a card asks for (px); the view stretches every card to its viewport's width.
MIN_CARD_WIDTH = 200

AnyIndex = QModelIndex | QPersistentModelIndex


class SuggestionModel(QAbstractListModel):
    """The cards of the list (suggestions, search hits or similar samples).

    Signals:
        peaks_wanted(str): a visible card needs the waveform thumbnail of this path.
    """

    peaks_wanted = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[SuggestionItem] = []
        self._rows: dict[int, int] = {}
        self.peaks: dict[str, np.ndarray | None] = {}  # path -> (bins, 2) float32; None = failed
        self._asked: set[str] = set()
        self.playing_id: int | None = None
        self.loading_id: int | None = None

    # ------------------------------------------------------------------ Qt API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._items):
            return None
        item = self._items[index.row()]
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            return item.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.tooltip_html()
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{item.name}, {item.kind}, {item.bpm_text}, {item.key_text}"
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    # ------------------------------------------------------------------ items
    @property
    def items(self) -> list[SuggestionItem]:
        """The cards in order (a copy)."""
        return list(self._items)

    def set_items(self, items: Sequence[SuggestionItem]) -> None:
        """Replace every card (one reset: the view repaints once)."""
        self.beginResetModel()
        self._items = list(items)
        self._rows = {it.sample_id: i for i, it in enumerate(self._items)}
        self.endResetModel()

    def item(self, row: int) -> SuggestionItem | None:
        """The card at ``row`` or None."""
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, sample_id: int) -> int | None:
        """Row of a sample, or None when not shown."""
        return self._rows.get(sample_id)

    def remove(self, sample_id: int) -> SuggestionItem | None:
        """Take one card out (dismiss, ban). Returns it, or None when not shown."""
        row = self._rows.get(sample_id)
        if row is None:
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        item = self._items.pop(row)
        self._rows = {it.sample_id: i for i, it in enumerate(self._items)}
        self.endRemoveRows()
        return item

    def insert(self, row: int, item: SuggestionItem) -> None:
        """Put a card back (undo)."""
        if item.sample_id in self._rows:
            return
        row = max(0, min(row, len(self._items)))
        self.beginInsertRows(QModelIndex(), row, row)
        self._items.insert(row, item)
        self._rows = {it.sample_id: i for i, it in enumerate(self._items)}
        self.endInsertRows()

    # ------------------------------------------------------------------ decorations
    def want_peaks(self, path: str) -> np.ndarray | None:
        """The thumbnail of ``path`` if known; asks for it (once) otherwise."""
        if path in self.peaks:
            return self.peaks[path]
        if path not in self._asked:
            self._asked.add(path)
            self.peaks_wanted.emit(path)
        return None

    def set_peaks(self, peaks: dict[str, np.ndarray | None]) -> None:
        """Store thumbnails (None: the file could not be drawn) and repaint their cards once."""
        self.peaks.update(peaks)
        self._asked.difference_update(peaks)
        if len(self.peaks) > 5000:  # keep memory bounded over a long session
            for stale in list(self.peaks)[:1000]:
                self.peaks.pop(stale, None)
        rows = [row for row, item in enumerate(self._items) if item.path in peaks]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)), [ItemRole])

    def set_play_state(self, sample_id: int | None, state: str) -> None:
        """Mark a card ``loading`` / ``playing`` (others lose the mark); ``stopped`` clears."""
        before = {self.playing_id, self.loading_id}
        if state == "loading":
            self.loading_id, self.playing_id = sample_id, None
        elif state == "playing":
            self.loading_id, self.playing_id = None, sample_id
        else:
            self.loading_id = self.playing_id = None
        for sid in before | {sample_id}:
            row = self._rows.get(sid) if sid is not None else None
            if row is not None:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx, [ItemRole])


class PaintedCards(Mapping[int, "CardLayout"]):
    """The :class:`CardLayout` of each card painted last, by sample id, in viewport coordinates.

    Layouts are kept in card-content coordinates with their offset and moved only when read
    (tests and tooltips read a few; every paint writes one).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._layouts: OrderedDict[int, tuple[CardLayout, int, int]] = OrderedDict()

    def record(self, sample_id: int, layout: CardLayout, dx: int, dy: int) -> None:
        """Remember the layout a paint used (content coordinates plus its offset)."""
        self._layouts[sample_id] = (layout, dx, dy)
        self._layouts.move_to_end(sample_id)
        if len(self._layouts) > self._size:
            self._layouts.popitem(last=False)

    def clear(self) -> None:
        """Forget every layout."""
        self._layouts.clear()

    def __getitem__(self, sample_id: int) -> CardLayout:
        layout, dx, dy = self._layouts[sample_id]
        return layout.moved(dx, dy)

    def __iter__(self) -> Iterator[int]:
        return iter(self._layouts)

    def __len__(self) -> int:
        return len(self._layouts)


class CardDelegate(QStyledItemDelegate):
    """Paints one suggestion card.

    What does not change with the session context (waveform, name, kind/BPM/key/length/source
    chips) is drawn once into a cached pixmap per item, width and selection; the rationale, which
    changes with every context, is the only text drawn on each paint. A paint then costs a
    rounded rectangle, the rank or play glyph, one ``drawPixmap`` and one elided ``drawText``,
    so a new list after a context change repaints the samples it already showed without
    re-rendering their cards.

    Attributes:
        painted: :class:`PaintedCards`, the layout of each card painted last, in viewport
            coordinates (what the producer sees: tests check that nothing is cut off).
    """

    CACHE_SIZE = 400

    def __init__(self, model: SuggestionModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._content: OrderedDict[tuple[object, ...], tuple[QPixmap, CardLayout]] = OrderedDict()
        self._fonts: dict[str, tuple[QFont, QFont, QFont, QFont]] = {}
        self.painted = PaintedCards(self.CACHE_SIZE)

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        # a small width: the list view stretches cards to its viewport, so no horizontal scroll
        return QSize(MIN_CARD_WIDTH, CARD_HEIGHT)

    @staticmethod
    def content_rect(card: QRect) -> QRect:
        """The content area (waveform, texts, chips) of a card whose item rectangle is ``card``."""
        r = QRect(card).adjusted(8, 3, -8, -3)
        return QRect(r.left() + 38, r.top(), r.width() - 38, r.height())

    def card_layout(self, item: SuggestionItem, card: QRect, font: QFont) -> CardLayout:
        """Where ``item``'s texts go in a card at ``card`` (viewport px) with ``font``."""
        content = self.content_rect(card)
        return card_layout(item, QRect(0, 0, content.width(), content.height()), font).moved(
            content.left(), content.top()
        )

    def _fonts_for(self, base: QFont) -> tuple[QFont, QFont, QFont, QFont]:
        """Name, rationale, chip and rank fonts for the view's font (cached by its key)."""
        key = base.key()
        fonts = self._fonts.get(key)
        if fonts is None:
            small = QFont(base)
            small.setPointSizeF(base.pointSizeF() * 0.85)
            fonts = (*_fonts(base), small)
            self._fonts[key] = fonts
        return fonts

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        item: SuggestionItem | None = index.data(ItemRole)
        if item is None:
            return
        if item.analysing:  # a file still being analysed: a plain greyed card, no cache
            _paint_analysing(painter, option, item)
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = QRect(option.rect).adjusted(8, 3, -8, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        fill = theme.CARD_SELECTED if selected else theme.CARD_HOVER if hover else theme.CARD
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(QRectF(r), 6, 6)
        if selected or item.pinned:
            painter.setBrush(QColor(theme.ACCENT if selected else theme.ACCENT_DIM))
            painter.drawRoundedRect(QRectF(r.left(), r.top() + 6, 3, r.height() - 12), 1.5, 1.5)
        _name_font, why_font, _chip_font, rank_font = self._fonts_for(option.font)
        slot = QRect(r.left() + 8, r.top(), 24, r.height())
        if self._model.playing_id == item.sample_id:
            _triangle(painter, slot, QColor(theme.ACCENT))
        elif self._model.loading_id == item.sample_id:
            _dots(painter, slot, QColor(theme.ACCENT_DIM))
        elif item.rank:
            painter.setFont(rank_font)
            painter.setPen(QColor(theme.TEXT_FAINT))
            painter.drawText(slot, Qt.AlignmentFlag.AlignCenter, str(item.rank))
        content = self.content_rect(option.rect)
        pixmap, layout = self._content_pixmap(
            item, content.size(), selected, option.font, painter.device().devicePixelRatioF()
        )
        dx, dy = content.left(), content.top()
        painter.drawPixmap(dx, dy, pixmap)
        why = layout.text("why")
        if why is not None:  # the one text that changes with the context
            full = _why_text(item)
            text = QFontMetrics(why_font).elidedText(full, Qt.TextElideMode.ElideRight, why.rect.width())
            painter.setFont(why_font)
            painter.setPen(QColor(why.colour))
            painter.drawText(
                why.rect.translated(dx, dy), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
            )
            layout = layout.with_text(replace(why, text=text, full=full))
        self.painted.record(item.sample_id, layout, dx, dy)
        painter.restore()

    def _content_pixmap(
        self, item: SuggestionItem, size: QSize, selected: bool, font: QFont, dpr: float
    ) -> tuple[QPixmap, CardLayout]:
        """The card's context-independent content (everything but the rationale) and its layout
        (the rationale's rectangle included, its text empty), cached."""
        peaks = self._model.want_peaks(item.path)
        key = (
            item.sample_id,
            item.name,
            item.kind,
            item.bpm,
            item.key,
            item.duration_s,
            item.source,
            item.pinned,
            size.width(),
            size.height(),
            selected,
            peaks is not None,
            dpr,
            font.key(),
        )
        hit = self._content.get(key)
        if hit is not None:
            self._content.move_to_end(key)
            return hit
        pm = QPixmap(QSize(int(size.width() * dpr), int(size.height() * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(QColor(0, 0, 0, 0))
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        layout = _paint_content(
            p, item, QRect(0, 0, size.width(), size.height()), selected, font, peaks, with_why=False
        )
        p.end()
        self._content[key] = (pm, layout)
        while len(self._content) > self.CACHE_SIZE:
            self._content.popitem(last=False)
        return pm, layout


@dataclass(frozen=True)
class CardText:
    """One piece of text of a card as it is painted.

    Attributes:
        role: ``name``, ``why`` (rationale or folder), ``kind``, ``bpm``, ``key``, ``duration``
            or ``source``.
        text: the text drawn (elided when it did not fit).
        full: the whole text.
        rect: where it is drawn (px, card-content coordinates until :meth:`CardLayout.moved`).
        chip: drawn as a chip (``filled`` / ``outline`` / ``plain``), or ``""`` for a text line.
        colour: the text colour (``#rrggbb``).
    """

    role: str
    text: str
    full: str
    rect: QRect
    chip: str = ""
    colour: str = theme.TEXT

    @property
    def elided(self) -> bool:
        """True when the text drawn is shorter than the whole text."""
        return self.text != self.full


@dataclass(frozen=True)
class CardLayout:
    """Where a card's waveform and texts go for one width (px).

    Attributes:
        wave: the waveform thumbnail's rectangle, or None when the card is too narrow for one.
        texts: the texts in painting order.
        narrow: True for the two-line layout (name above; kind, BPM, key… chips below) used
            below :data:`NARROW_BELOW` px of content width.
    """

    wave: QRect | None
    texts: tuple[CardText, ...]
    narrow: bool

    def text(self, role: str) -> CardText | None:
        """The text of ``role``, or None when it was left out for lack of room."""
        return next((t for t in self.texts if t.role == role), None)

    def with_text(self, text: CardText) -> CardLayout:
        """The same layout with the text of ``text.role`` replaced by ``text``."""
        return CardLayout(self.wave, tuple(text if t.role == text.role else t for t in self.texts), self.narrow)

    def moved(self, dx: int, dy: int) -> CardLayout:
        """The same layout shifted by ``(dx, dy)`` px (e.g. into viewport coordinates)."""
        return CardLayout(
            None if self.wave is None else self.wave.translated(dx, dy),
            tuple(replace(t, rect=t.rect.translated(dx, dy)) for t in self.texts),
            self.narrow,
        )


def _fonts(base: QFont) -> tuple[QFont, QFont, QFont]:
    """Name, rationale and chip fonts derived from the view's font."""
    name_font = QFont(base)
    name_font.setPointSizeF(base.pointSizeF() * 1.02)
    name_font.setWeight(QFont.Weight.DemiBold)
    why_font = QFont(base)
    why_font.setPointSizeF(base.pointSizeF() * 0.88)
    chip_font = QFont(base)
    chip_font.setPointSizeF(base.pointSizeF() * 0.82)
    return name_font, why_font, chip_font


def _chip_rect(fm: QFontMetrics, text: str, x: int, y_mid: int, style: str, *, from_right: bool) -> QRect:
    """The rectangle of a chip of ``text`` starting (or, ``from_right``, ending) at ``x``."""
    w = fm.horizontalAdvance(text) + (4 if style == "plain" else 14)
    h = fm.height() + 4
    left = x - w if from_right else x
    return QRect(left, y_mid - h // 2, w, h)


def _why_text(item: SuggestionItem) -> str:
    """The card's second text: the rationale, or the folder when there is none. A pinned card
    leaves out the rationale's ``pinned`` (its ● and accent bar say it), which would otherwise
    push the reasons that matter behind the "…"; the tooltip keeps the whole rationale."""
    reasons = [r for r in item.rationale if not (item.pinned and r == "pinned")]
    return " · ".join(reasons) if reasons else item.folder


def card_layout(item: SuggestionItem, r: QRect, base: QFont, *, with_why: bool = True) -> CardLayout:
    """Lay out one card's content in ``r`` (card-content coordinates, px) with the view's font.

    Wide cards (``r.width() >= NARROW_BELOW``) keep one line of chips at the right (kind, BPM,
    key, length, source) beside a 128 px waveform, the name and rationale between them. Narrow
    cards put the name alone on the first line and the kind, BPM, key chips (then length and
    rationale while room remains) on the second, beside a smaller waveform, so that at 480 px of
    window the name, kind, BPM and key are never cut off; the source chip and length are the
    first to go. With ``with_why=False`` the rationale keeps its rectangle but no text (the
    delegate draws it on each paint).
    """
    name_font, why_font, chip_font = _fonts(base)
    fm_name, fm_why, fm_chip = QFontMetrics(name_font), QFontMetrics(why_font), QFontMetrics(chip_font)
    name = ("● " if item.pinned else "") + item.name
    why = _why_text(item) if with_why else ""
    kind_colour = theme.KIND_COLOURS.get(item.kind, theme.TEXT_DIM)
    source_colour = theme.SOURCE_COLOURS.get(item.source, theme.TEXT_FAINT)
    facts = [
        ("bpm", item.bpm_text, theme.TEXT),
        ("key", item.key_text, theme.TEXT),
        ("duration", item.duration_text, theme.TEXT_DIM),
    ]
    texts: list[CardText] = []
    if r.width() >= NARROW_BELOW:
        wave = QRect(r.left(), r.top() + 8, WAVE_WIDTH, r.height() - 16)
        y_mid = r.center().y()
        chip = _chip_rect(fm_chip, item.source, r.right() - 10, y_mid, "filled", from_right=True)
        texts.append(CardText("source", item.source, item.source, chip, "filled", source_colour))
        x = chip.left() - 10
        for role, text, colour in reversed(facts):
            if text:
                chip = _chip_rect(fm_chip, text, x, y_mid, "plain", from_right=True)
                texts.append(CardText(role, text, text, chip, "plain", colour))
                x = chip.left() - 6
        chip = _chip_rect(fm_chip, item.kind, x, y_mid, "outline", from_right=True)
        texts.append(CardText("kind", item.kind, item.kind, chip, "outline", kind_colour))
        left = wave.right() + 14
        text_w = max(20, chip.left() - 12 - left)
        name_rect = QRect(left, r.top() + 9, text_w, fm_name.height())
        why_rect = QRect(left, r.bottom() - 8 - fm_why.height(), text_w, fm_why.height())
        texts.append(CardText("name", fm_name.elidedText(name, Qt.TextElideMode.ElideMiddle, text_w), name, name_rect))
        texts.append(
            CardText(
                "why", fm_why.elidedText(why, Qt.TextElideMode.ElideRight, text_w), why, why_rect, "", theme.TEXT_DIM
            )
        )
        return CardLayout(wave, tuple(texts), narrow=False)

    wave_w = NARROW_WAVE_WIDTH if r.width() >= 2 * NARROW_WAVE_WIDTH + 200 else 0
    wave_rect = QRect(r.left(), r.top() + 8, wave_w, r.height() - 16) if wave_w else None
    left = r.left() + (wave_w + 12 if wave_w else 0)
    right = r.right() - 8
    name_rect = QRect(left, r.top() + 7, right - left, fm_name.height())
    # first line: the name; the source chip at its right when both fit
    source = _chip_rect(fm_chip, item.source, right, name_rect.center().y(), "filled", from_right=True)
    if fm_name.horizontalAdvance(name) <= source.left() - 10 - left:
        texts.append(CardText("source", item.source, item.source, source, "filled", source_colour))
        name_rect.setRight(source.left() - 10)
    texts.append(
        CardText("name", fm_name.elidedText(name, Qt.TextElideMode.ElideMiddle, name_rect.width()), name, name_rect)
    )
    # second line: kind, BPM, key (always), then length and the rationale while room remains
    y_mid = r.bottom() - 8 - (fm_chip.height() + 4) // 2
    x = left
    for role, text, style, colour in (
        ("kind", item.kind, "outline", kind_colour),
        *((role, text, "plain", colour) for role, text, colour in facts),
    ):
        if not text:
            continue
        chip = _chip_rect(fm_chip, text, x, y_mid, style, from_right=False)
        if role == "duration" and chip.right() > right:
            break
        texts.append(CardText(role, text, text, chip, style, colour))
        x = chip.right() + 7
    if right - x > 60:
        why_rect = QRect(x + 4, y_mid - fm_why.height() // 2, right - x - 4, fm_why.height())
        texts.append(
            CardText(
                "why",
                fm_why.elidedText(why, Qt.TextElideMode.ElideRight, why_rect.width()),
                why,
                why_rect,
                "",
                theme.TEXT_DIM,
            )
        )
    return CardLayout(wave_rect, tuple(texts), narrow=True)


def _paint_content(
    painter: QPainter,
    item: SuggestionItem,
    r: QRect,
    selected: bool,
    base: QFont,
    peaks: np.ndarray | None,
    *,
    with_why: bool = True,
) -> CardLayout:
    """Waveform, name, rationale (unless ``with_why`` is False) and chips of one card into ``r``
    (card coordinates); returns the layout it painted."""
    layout = card_layout(item, r, base, with_why=with_why)
    wave = layout.wave
    if wave is not None and peaks is not None:
        colour = QColor(theme.WAVE_SELECTED if selected else theme.WAVE)
        painter.drawPixmap(
            wave.topLeft(), waveform_pixmap(peaks, wave.size(), colour, dpr=painter.device().devicePixelRatioF())
        )
    elif wave is not None:
        painter.setPen(QPen(QColor(theme.BORDER), 1))
        mid = wave.center().y()
        painter.drawLine(wave.left(), mid, wave.right(), mid)

    name_font, why_font, chip_font = _fonts(base)
    for t in layout.texts:
        if not t.text:
            continue
        if t.chip:
            painter.setFont(chip_font)
            _draw_chip(painter, QRectF(t.rect), t.text, t.colour, t.chip)
        else:
            painter.setFont(name_font if t.role == "name" else why_font)
            painter.setPen(QColor(t.colour))
            painter.drawText(t.rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, t.text)
    return layout


def waveform_pixmap(
    peaks: np.ndarray, size: QSize, colour: QColor, background: QColor | None = None, dpr: float = 1.0
) -> QPixmap:
    """A filled min/max envelope of ``peaks`` ((bins, 2) float32) drawn into a pixmap."""
    pm = QPixmap(QSize(int(size.width() * dpr), int(size.height() * dpr)))
    pm.setDevicePixelRatio(dpr)
    pm.fill(background or QColor(0, 0, 0, 0))
    w, h = size.width(), size.height()
    if w <= 0 or h <= 0 or peaks is None or len(peaks) == 0:
        return pm
    cols = np.linspace(0, len(peaks) - 1, w).astype(int)
    scale = float(np.max(np.abs(peaks))) or 1.0
    mid = h / 2.0
    # Python floats only: PySide6 mishandles references when numpy scalars reach Qt calls
    # (seen as "Fatal Python error: none_dealloc"), so convert the whole outline with tolist().
    top = (mid - peaks[cols, 1] / scale * (mid - 1)).tolist()
    bottom = (mid - peaks[cols, 0] / scale * (mid - 1)).tolist()
    outline = [QPointF(x, y) for x, y in enumerate(top)]
    outline += [QPointF(x, y) for x, y in zip(range(w - 1, -1, -1), reversed(bottom))]
    path = QPainterPath()
    path.addPolygon(QPolygonF(outline))
    path.closeSubpath()
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    p.drawPath(path)
    p.end()
    return pm


def _draw_chip(painter: QPainter, rect: QRectF, text: str, colour: str, style: str) -> None:
    """Draw a chip: ``filled`` (tinted pill), ``outline`` (pill border) or ``plain`` (text)."""
    h = rect.height()
    c = QColor(colour)
    if style == "filled":
        bg = QColor(c)
        bg.setAlpha(46)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(bg)
        painter.drawRoundedRect(rect, h / 2, h / 2)
    elif style == "outline":
        edge = QColor(c)
        edge.setAlpha(120)
        painter.setPen(QPen(edge, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), h / 2, h / 2)
    painter.setPen(c)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def _paint_analysing(painter: QPainter, option: QStyleOptionViewItem, item: SuggestionItem) -> None:
    """A card of a file still being analysed (``item.analysing``): greyed, no rank, score or
    waveform; its name and folder at the left, "analysing…" where kind, BPM and key go. The
    "+N more being analysed" line (``sample_id`` < 0) is its text alone."""
    painter.save()
    r = QRect(option.rect).adjusted(8, 3, -8, -3)
    selected = bool(option.state & QStyle.StateFlag.State_Selected)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.CARD_SELECTED if selected else theme.PANEL))
    painter.drawRoundedRect(QRectF(r), 6, 6)
    content = CardDelegate.content_rect(option.rect)
    name_font, why_font, chip_font = _fonts(option.font)
    painter.setPen(QColor(theme.TEXT_FAINT))
    if item.sample_id < 0:
        painter.setFont(why_font)
        painter.drawText(content, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, item.name)
        painter.restore()
        return
    painter.setFont(chip_font)
    note_w = QFontMetrics(chip_font).horizontalAdvance(item.kind) + 12
    painter.drawText(
        QRect(content.right() - 10 - note_w, content.top(), note_w, content.height()),
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
        item.kind,
    )
    text_w = max(20, content.width() - note_w - 22)
    half = content.height() // 2
    for font, text, top in ((name_font, item.name, content.top() + 4), (why_font, item.folder, content.top() + half)):
        painter.setFont(font)
        elided = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideMiddle, text_w)
        painter.drawText(
            QRect(content.left(), top, text_w, half - 4),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            elided,
        )
    painter.restore()


def _triangle(painter: QPainter, slot: QRect, colour: QColor) -> None:
    c = slot.center()
    path = QPainterPath(QPointF(c.x() - 4, c.y() - 6))
    path.lineTo(c.x() + 6, c.y())
    path.lineTo(c.x() - 4, c.y() + 6)
    path.closeSubpath()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawPath(path)


def _dots(painter: QPainter, slot: QRect, colour: QColor) -> None:
    c = slot.center()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    for dx in (-6, 0, 6):
        painter.drawEllipse(QPointF(c.x() + dx, c.y()), 2, 2)


class SuggestionView(QListView):
    """The list: cards, single selection, drag out to the DAW.

    Args:
        model: the :class:`SuggestionModel`.
        mime_for: builds the drag's mime data for a card (the controller decides: the file, its
            render in tempo and key…); returning None cancels the drag.
        on_dropped: called with the card and the drop action after a drag that was accepted.

    Signals:
        activated_item(object): a card was double-clicked (auditions it).
    """

    activated_item = Signal(object)

    def __init__(
        self,
        model: SuggestionModel,
        mime_for: Callable[[SuggestionItem], QMimeData | None] | None = None,
        on_dropped: Callable[[SuggestionItem, Qt.DropAction], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setItemDelegate(CardDelegate(model, self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSpacing(0)
        # cards always take the viewport's width (their layout adapts), never scroll sideways
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.mime_for = mime_for
        self.on_dropped = on_dropped
        self.doubleClicked.connect(lambda idx: self.activated_item.emit(idx.data(ItemRole)))

    def current_item(self) -> SuggestionItem | None:
        """The selected card, or None."""
        idx = self.currentIndex()
        return idx.data(ItemRole) if idx.isValid() else None

    def select_row(self, row: int) -> None:
        """Make ``row`` current and selected (clamped)."""
        n = self.model().rowCount()
        if n == 0:
            return
        idx = self.model().index(max(0, min(row, n - 1)), 0)
        self.setCurrentIndex(idx)
        self.scrollTo(idx)

    def startDrag(self, supported: Qt.DropAction) -> None:
        item = self.current_item()
        if item is None or self.mime_for is None:
            return
        mime = self.mime_for(item)
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        model = self.model()
        peaks = model.peaks.get(item.path) if isinstance(model, SuggestionModel) else None
        if peaks is not None:
            drag.setPixmap(
                waveform_pixmap(peaks, QSize(160, 36), QColor(theme.WAVE_SELECTED), QColor(theme.CARD_SELECTED))
            )
        action = drag.exec(Qt.DropAction.CopyAction | Qt.DropAction.LinkAction, Qt.DropAction.CopyAction)
        if action != Qt.DropAction.IgnoreAction and self.on_dropped is not None:
            self.on_dropped(item, action)
