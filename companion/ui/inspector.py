"""The inspector under the list: the selected sample's waveform, its facts and corrections.

* The waveform shows a playhead while the sample plays; dragging across it selects a region
  (auditioned and dragged out on its own); dragging *from inside* the region drags that region
  into the DAW. Double-click clears the region.
* BPM, key and kind are editable in place: *Apply* stores the producer's correction (it wins
  over every estimate and survives rescans).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDrag, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from companion.music.keys import parse_key
from companion.ui import theme
from companion.ui.context_bar import key_choices
from companion.ui.items import SuggestionItem
from companion.ui.suggestions import waveform_pixmap

Region = tuple[float, float]  # fractions 0–1 of the sample's length


class WaveformView(QWidget):
    """A large waveform with playhead and region selection.

    Signals:
        region_changed(object): ``(start, end)`` fractions, or None when cleared.
        clicked_at(float): a click (no drag) at this fraction — play from there.
    """

    region_changed = Signal(object)
    clicked_at = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.peaks: np.ndarray | None = None
        self.region: Region | None = None
        self.playhead: float | None = None
        self._press_x: float | None = None
        self._dragging_region = False
        self._pixmap_key: tuple[int, int, int] | None = None
        self._pixmap: QPixmap | None = None
        #: Builds the mime data for dragging the region out (set by the main window).
        self.region_mime: Callable[[Region], QMimeData | None] | None = None

    def set_peaks(self, peaks: np.ndarray | None) -> None:
        """Show a thumbnail ((bins, 2) float32) or nothing; clears the region."""
        self.peaks = peaks
        self.region = None
        self.playhead = None
        self._pixmap_key = None
        self.update()

    def set_playhead(self, fraction: float | None) -> None:
        """Move the playhead (None hides it)."""
        if fraction != self.playhead:
            self.playhead = fraction
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(600, 90)

    def _frac(self, x: float) -> float:
        return min(1.0, max(0.0, x / max(1, self.width())))

    def mousePressEvent(self, e: QMouseEvent) -> None:
        if e.button() != Qt.MouseButton.LeftButton or self.peaks is None:
            return
        f = self._frac(e.position().x())
        self._dragging_region = self.region is not None and self.region[0] <= f <= self.region[1]
        self._press_x = e.position().x()

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self._press_x is None:
            return
        x = e.position().x()
        if abs(x - self._press_x) < 4:
            return
        if self._dragging_region and self.region is not None and self.region_mime is not None:
            mime = self.region_mime(self.region)
            self._press_x = None
            if mime is not None:
                drag = QDrag(self)
                drag.setMimeData(mime)
                drag.exec(Qt.DropAction.CopyAction)
            return
        a, b = sorted((self._frac(self._press_x), self._frac(x)))
        self.region = (a, b)
        self.update()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if self._press_x is None:
            return
        moved = abs(e.position().x() - self._press_x) >= 4
        self._press_x = None
        if moved and not self._dragging_region:
            self.region_changed.emit(self.region)
        elif not moved:
            self.clicked_at.emit(self._frac(e.position().x()))

    def mouseDoubleClickEvent(self, e: QMouseEvent) -> None:
        self.region = None
        self.update()
        self.region_changed.emit(None)

    def paintEvent(self, e: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.BG))
        w, h = self.width(), self.height()
        if self.peaks is None:
            p.setPen(QColor(theme.TEXT_FAINT))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "select a suggestion")
            p.end()
            return
        if self.region is not None:
            a, b = self.region
            p.fillRect(QRectF(a * w, 0, (b - a) * w, h), QColor(theme.ACCENT_DIM).darker(140))
        key = (id(self.peaks), w, h)
        if key != self._pixmap_key:
            self._pixmap = waveform_pixmap(self.peaks, QSize(w, h - 8), QColor(theme.WAVE))
            self._pixmap_key = key
        assert self._pixmap is not None  # drawn above for the current key
        p.drawPixmap(0, 4, self._pixmap)
        if self.region is not None:
            p.setPen(QPen(QColor(theme.ACCENT), 1))
            for f in self.region:
                p.drawLine(QPointF(f * w, 0), QPointF(f * w, h))
        if self.playhead is not None:
            p.setPen(QPen(QColor(theme.ACCENT), 2))
            x = self.playhead * w
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.end()


#: The Play button's text and tooltip while the selected card is silent / playing.
PLAY_TEXT, PLAY_TIP = "Play  ␣", "Play in the session's tempo and key (Space)"
STOP_TEXT, STOP_TIP = "Stop  ␣", "Stop playing (Space)"


class Inspector(QFrame):
    """Facts, corrections and actions of the selected card.

    The Play button reads Stop while the selected card plays (:meth:`set_playing`).

    Signals:
        correction(object, dict): apply ``{"bpm": float|None, "key": Key|None, "kind": str}`` to the item.
        action(str): a button: ``play``, ``more``, ``pin``, ``dismiss``, ``ban``, ``ban_folder``, ``accept``.
    """

    correction = Signal(object, dict)
    action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Inspector")
        self.item: SuggestionItem | None = None
        self._playing_id: int | None = None
        self._title_text = self._path_text = ""
        outer = QGridLayout(self)
        outer.setContentsMargins(16, 10, 16, 12)
        outer.setHorizontalSpacing(18)
        outer.setVerticalSpacing(10)
        self._outer = outer
        #: True while facts, corrections and buttons are stacked (a narrow window).
        self.compact = False
        self._wide_min: int | None = None

        left = QVBoxLayout()
        left.setSpacing(4)
        self.title = QLabel("")
        self.title.setObjectName("InspectorTitle")
        self.path = QLabel("")
        self.path.setObjectName("Faint")
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plan = QLabel("")
        self.plan.setObjectName("Dim")
        self.wave = WaveformView()
        for text_label in (self.title, self.path, self.plan):  # a long name or path never widens the window
            text_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        left.addWidget(self.title)
        left.addWidget(self.path)
        left.addWidget(self.wave, 1)
        left.addWidget(self.plan)
        self.wave.setMinimumWidth(140)
        self._parts: list[QLayout] = [left]

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        self.bpm = QDoubleSpinBox()
        self.bpm.setRange(19.0, 999.0)
        self.bpm.setSpecialValueText("—")
        self.bpm.setDecimals(1)
        self.bpm.setSuffix(" BPM")
        self.key = QComboBox()
        self._keys = key_choices()
        for label, _k in self._keys:
            self.key.addItem(label)
        self.kind = QComboBox()
        self.kind.addItems(["loop", "one-shot"])
        self.apply = QPushButton("Apply correction")
        self.apply.setToolTip("Your BPM, key and kind win over the analysis and survive rescans (E)")
        self.apply.clicked.connect(self._apply)
        for row, (label, w) in enumerate((("BPM", self.bpm), ("Key", self.key), ("Kind", self.kind))):
            cap = QLabel(label.upper())
            cap.setObjectName("FieldLabel")
            grid.addWidget(cap, row, 0)
            grid.addWidget(w, row, 1)
        grid.addWidget(self.apply, 3, 1)
        self.drag_rendered = QCheckBox("Drag in project tempo && key")
        self.drag_rendered.setToolTip("Drag the stretched, transposed render instead of the original file")
        grid.addWidget(self.drag_rendered, 4, 0, 1, 2)
        self._parts.append(grid)

        buttons = QGridLayout()
        buttons.setSpacing(6)
        self.buttons: dict[str, QPushButton] = {}
        specs = (
            ("play", PLAY_TEXT, PLAY_TIP),
            ("accept", "Use  ↵", "I used it (Enter)"),
            ("more", "More like this  M", "Samples that sound like this one (M)"),
            ("pin", "Pin  P", "Keep it at the top (P)"),
            ("dismiss", "Skip  Del", "Hide for this session (Delete)"),
            ("ban", "Ban  B", "Never suggest this sample (B)"),
            ("ban_folder", "Ban folder  ⇧B", "Never suggest anything from its folder (Shift+B)"),
        )
        for i, (name, text, tip) in enumerate(specs):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda _=False, n=name: self.action.emit(n))
            if name == "play":
                b.setObjectName("Primary")
            buttons.addWidget(b, i // 2, i % 2)
            self.buttons[name] = b
        self._parts.append(buttons)
        self._arrange()
        self.show_item(None)

    def _arrange(self) -> None:
        """Facts | corrections | buttons on one row, or (compact) the facts above the other two."""
        left, grid, buttons = self._parts
        for part in self._parts:
            self._outer.removeItem(part)
        for col in range(3):
            self._outer.setColumnStretch(col, 0)
        if self.compact:
            self._outer.addLayout(left, 0, 0, 1, 2)
            self._outer.addLayout(grid, 1, 0)
            self._outer.addLayout(buttons, 1, 1)
            self._outer.setColumnStretch(1, 1)
        else:
            self._outer.addLayout(left, 0, 0)
            self._outer.addLayout(grid, 0, 1)
            self._outer.addLayout(buttons, 0, 2)
            self._outer.setColumnStretch(0, 1)

    def set_compact(self, compact: bool) -> None:
        """Put the facts above the corrections and buttons (True) or all side by side (False)."""
        if compact != self.compact:
            self.compact = compact
            self._arrange()
            self.updateGeometry()

    def resizeEvent(self, event: Any) -> None:
        """Stack the parts when the side-by-side layout no longer fits the width."""
        if not self.compact:
            self._wide_min = self._outer.totalMinimumSize().width()
        super().resizeEvent(event)
        if self._wide_min is not None:
            self.set_compact(event.size().width() < self._wide_min)
        self._elide()

    def _elide(self) -> None:
        """Fit the name and folder to their labels (the whole text is in the tooltip)."""
        for label, text in ((self.title, self._title_text), (self.path, self._path_text)):
            width = max(label.width(), 40)
            label.setText(label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, width))
            label.setToolTip(text if label.text() != text else "")

    def show_item(self, item: SuggestionItem | None, peaks: np.ndarray | None = None) -> None:
        """Show a card's facts (None: nothing selected)."""
        self.item = item
        enabled = item is not None
        for w in (self.bpm, self.key, self.kind, self.apply, *self.buttons.values()):
            w.setEnabled(enabled)
        if item is None:
            self._title_text, self._path_text = "Nothing selected", ""
            self._elide()
            self.plan.setText("")
            self.wave.set_peaks(None)
            self._show_play_state()
            return
        self._title_text, self._path_text = item.name, item.folder
        self._elide()
        self.bpm.setValue(item.bpm if item.bpm is not None else 19.0)
        key_idx = 0
        if item.key:
            try:
                k = parse_key(item.key)
                key_idx = 1 + k.pitch_class * 2 + (1 if k.mode == "minor" else 0)
            except ValueError:
                key_idx = 0
        self.key.setCurrentIndex(key_idx)
        self.kind.setCurrentText(item.kind if item.kind in ("loop", "one-shot") else "one-shot")
        self.wave.set_peaks(peaks)
        self.buttons["pin"].setText("Unpin  P" if item.pinned else "Pin  P")
        self._show_play_state()

    def set_playing(self, sample_id: int | None) -> None:
        """The sample that plays now (None: nothing plays); the Play button reads Stop while it
        is the selected one. Call on the GUI thread (the player's state arrives by a Qt signal)."""
        self._playing_id = sample_id
        self._show_play_state()

    @property
    def playing_selected(self) -> bool:
        """True while the selected card plays (the Play button reads Stop)."""
        return self.item is not None and self._playing_id is not None and self.item.sample_id == self._playing_id

    def _show_play_state(self) -> None:
        button = self.buttons["play"]
        text, tip = (STOP_TEXT, STOP_TIP) if self.playing_selected else (PLAY_TEXT, PLAY_TIP)
        button.setText(text)
        button.setToolTip(tip)

    def set_plan_text(self, text: str) -> None:
        """The audition line, e.g. ``"plays at 128 BPM, +2 st · 240 ms render"``."""
        self.plan.setText(text)

    def focus_correction(self) -> None:
        """Put the cursor in the BPM field (shortcut E)."""
        self.bpm.setFocus()
        self.bpm.selectAll()

    def _apply(self) -> None:
        if self.item is None:
            return
        bpm = self.bpm.value()
        self.correction.emit(
            self.item,
            {
                "bpm": None if bpm <= 19.0 + 1e-6 else bpm,
                "key": self._keys[self.key.currentIndex()][1],
                "kind": self.kind.currentText(),
            },
        )
