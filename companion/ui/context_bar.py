"""The context bar: tempo, key, mood and genre as the DAW sends them, each editable by hand.

Values shown are the session context (:class:`~companion.ranking.context.SessionContext`), from
whichever source set them last (OSC, Link, manual); the chip beside them says which and when.
Editing a field emits :attr:`ContextBar.edited` with the changed field; the controller writes it
to the context store as a ``manual`` update. Incoming updates never overwrite a field the
producer is typing in.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from companion.music.keys import Key
from companion.ranking.context import SessionContext
from companion.ui import theme

NO_BPM = 19.0  # the spin box's "—" value (below the 20 BPM minimum)
ROW_SPACING = 14  # px between fields
SOURCE_NAMES = {
    "osc": "OSC",
    "link": "Link",
    "manual": "manual",
    "cli": "CLI",
    "ableton": "Live",
    "restored": "last session",
}


def key_choices() -> list[tuple[str, Key | None]]:
    """The key menu: ``(label, key)``, "—" first, then C major, C minor, C♯/D♭ major …"""
    out: list[tuple[str, Key | None]] = [("—", None)]
    for pc in range(12):
        for mode in ("major", "minor"):
            k = Key(pc, mode)
            out.append((f"{k.name}  ·  {k.camelot}", k))
    return out


def _field(label: str, widget: QWidget) -> QWidget:
    """``widget`` under a small caption (the box's ``caption`` attribute)."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    cap = QLabel(label.upper())
    cap.setObjectName("FieldLabel")
    lay.addWidget(cap)
    lay.addWidget(widget)
    box.caption = cap  # type: ignore[attr-defined]
    return box


class ConnectionIndicator(QWidget):
    """A coloured dot and a short text: ``OSC :9137 · listening`` / ``connected`` / error."""

    COLOURS: ClassVar[dict[str, str]] = {
        "connected": theme.OK,
        "listening": theme.TEXT_FAINT,
        "off": theme.TEXT_FAINT,
        "error": theme.ERROR,
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        self.dot = QLabel()
        self.dot.setFixedSize(10, 10)
        self.text = QLabel()
        self.text.setObjectName("Dim")
        lay.addWidget(self.dot)
        lay.addWidget(self.text)
        self.state = "off"
        self.set_state("off", "OSC off")

    def set_state(self, state: str, text: str, tooltip: str = "") -> None:
        """Show ``state`` (connected, listening, off, error) with ``text``."""
        self.state = state
        colour = self.COLOURS.get(state, theme.TEXT_FAINT)
        self.dot.setStyleSheet(f"background: {colour}; border-radius: 5px;")
        self.text.setText(text)
        self.setToolTip(tooltip or text)


class ContextBar(QFrame):
    """Tempo, key, mood, genre, their source, the bridge connection and the ranking mode.

    Signals:
        edited(dict): the producer changed fields, e.g. ``{"bpm": 124.0}`` or ``{"key": None}``.
        mode_changed(str): ``fusion`` or ``rules``.
        done_editing(): Enter in a field; the window hands the keyboard back to the list.
    """

    edited = Signal(dict)
    mode_changed = Signal(str)
    done_editing = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ContextBar")
        self._rows = QVBoxLayout(self)
        self._rows.setContentsMargins(16, 10, 16, 10)
        self._rows.setSpacing(8)

        self.bpm = QDoubleSpinBox()
        self.bpm.setRange(NO_BPM, 999.0)
        self.bpm.setDecimals(1)
        self.bpm.setSingleStep(1.0)
        self.bpm.setSpecialValueText("—")
        self.bpm.setSuffix(" BPM")
        self.bpm.setKeyboardTracking(False)
        self.bpm.setFixedWidth(110)
        self.bpm.setValue(NO_BPM)
        self.bpm.setAccessibleName("Tempo")
        self.bpm.valueChanged.connect(self._bpm_edited)
        self.bpm.editingFinished.connect(self.done_editing.emit)

        self.key = QComboBox()
        self._keys = key_choices()
        for label, _k in self._keys:
            self.key.addItem(label)
        self.key.setFixedWidth(150)
        self.key.setAccessibleName("Key")
        self.key.activated.connect(self._key_edited)
        self.key.activated.connect(lambda _: self.done_editing.emit())

        self.mood = QLineEdit()
        self.mood.setPlaceholderText("dark, warm …")
        self.mood.setFixedWidth(160)
        self.mood.setAccessibleName("Mood")
        self.mood.editingFinished.connect(lambda: self._text_edited("mood_tags", self.mood))
        self.mood.returnPressed.connect(self.done_editing.emit)

        self.genre = QLineEdit()
        self.genre.setPlaceholderText("techno …")
        self.genre.setFixedWidth(120)
        self.genre.setAccessibleName("Genre")
        self.genre.editingFinished.connect(lambda: self._text_edited("genre", self.genre))
        self.genre.returnPressed.connect(self.done_editing.emit)

        self.boxes: dict[str, QWidget] = {
            name.lower(): _field(name, w)
            for name, w in (("Tempo", self.bpm), ("Key", self.key), ("Mood", self.mood), ("Genre", self.genre))
        }

        self.source = QLabel("no context yet")
        self.source.setObjectName("Faint")
        self.boxes["source"] = _field("Source", self.source)

        self.connection = ConnectionIndicator()

        seg = QWidget()
        seg_lay = QHBoxLayout(seg)
        seg_lay.setContentsMargins(0, 0, 0, 0)
        seg_lay.setSpacing(0)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QToolButton] = {}
        for mode, text, tip in (
            ("fusion", "Fusion", "Similarity to what you used + tempo, key, freshness, tags"),
            ("rules", "Rules", "Tempo, key, freshness and tags only (no similarity)"),
        ):
            b = QToolButton()
            b.setObjectName("Segment")
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(True)
            self.mode_group.addButton(b)
            self.mode_buttons[mode] = b
            seg_lay.addWidget(b)
            b.clicked.connect(lambda _=False, m=mode: self.mode_changed.emit(m))
        self.mode_buttons["fusion"].setChecked(True)
        self.boxes["mode"] = _field("Mode", seg)
        #: How many rows the fields take (1 wide … 3 narrow); see :meth:`resizeEvent`.
        self.rows = 1
        self._arrange()
        self._updated: dict[str, tuple[str, float]] = {}

    # ------------------------------------------------------------------ layout
    def _plans(self) -> list[list[list[QWidget | int]]]:
        """The arrangements, widest first: one row; two (fields and mode / source and
        connection); three (tempo, key, mode / mood, genre / source, connection). An int is a
        fixed gap (px), -1 a stretch."""
        b = self.boxes
        return [
            [[b["tempo"], b["key"], b["mood"], b["genre"], b["source"], -1, self.connection, 12, b["mode"]]],
            [[b["tempo"], b["key"], b["mood"], b["genre"], -1, b["mode"]], [b["source"], -1, self.connection]],
            [[b["tempo"], b["key"], -1, b["mode"]], [b["mood"], b["genre"], -1], [b["source"], -1, self.connection]],
        ]

    def _needed(self, plan: list[list[QWidget | int]]) -> int:
        """The width (px) an arrangement needs: its widest row's minimum (a slight overestimate)."""
        m = self._rows.contentsMargins()
        widest = 0
        for entries in plan:
            width = ROW_SPACING * (len(entries) - 1)
            for e in entries:
                if isinstance(e, QWidget):
                    width += max(e.minimumSizeHint().width(), e.minimumWidth())
                elif e > 0:
                    width += e
            widest = max(widest, width)
        return widest + m.left() + m.right()

    def _arrange(self) -> None:
        """Put the fields on :attr:`rows` rows."""
        while self._rows.count():
            item = self._rows.takeAt(0)
            row = item.layout() if item is not None else None
            if row is not None:
                while row.count():
                    row.takeAt(0)
                row.deleteLater()
        for entries in self._plans()[self.rows - 1]:
            row = QHBoxLayout()
            row.setSpacing(ROW_SPACING)
            for entry in entries:
                if isinstance(entry, QWidget):
                    row.addWidget(entry)
                elif entry < 0:
                    row.addStretch(1)
                else:
                    row.addSpacing(entry)
            self._rows.addLayout(row)

    def set_rows(self, rows: int) -> None:
        """Arrange the fields on 1, 2 or 3 rows."""
        rows = max(1, min(3, rows))
        if rows != self.rows:
            self.rows = rows
            self._arrange()
            self.updateGeometry()

    @property
    def compact(self) -> bool:
        """True while the fields take more than one row (a narrow window)."""
        return self.rows > 1

    def resizeEvent(self, event: Any) -> None:
        """Take the fewest rows whose arrangement fits the new width."""
        super().resizeEvent(event)
        width = event.size().width()
        plans = self._plans()
        fits = [i for i, plan in enumerate(plans) if self._needed(plan) <= width]
        self.set_rows(1 + (fits[0] if fits else len(plans) - 1))

    # ------------------------------------------------------------------ showing
    def set_clap_note(self, note: str | None) -> None:
        """Say on the mood and genre fields that they match tags and names only (``note``: the
        one-line reason, e.g. no CLAP model installed), or None when a CLAP model is loaded."""
        for name, field in (("mood", self.mood), ("genre", self.genre)):
            caption: QLabel = self.boxes[name].caption  # type: ignore[attr-defined]
            caption.setText(name.upper() + (" · TAGS ONLY" if note else ""))
            caption.setToolTip(note or "")
            field.setToolTip(note or "")

    def show_context(self, ctx: SessionContext) -> None:
        """Show a context snapshot; a field the producer is typing in keeps their text."""
        typing_bpm = (
            self.bpm.hasFocus()
            and self.bpm.lineEdit().text() != self.bpm.textFromValue(self.bpm.value()) + self.bpm.suffix()
            and self.bpm.lineEdit().text() != self.bpm.specialValueText()
        )
        if not typing_bpm:
            self.bpm.blockSignals(True)
            self.bpm.setValue(ctx.bpm if ctx.bpm is not None else NO_BPM)
            self.bpm.blockSignals(False)
        if not self.key.view().isVisible():
            idx = 0 if ctx.key is None else 1 + ctx.key.pitch_class * 2 + (1 if ctx.key.mode == "minor" else 0)
            self.key.setCurrentIndex(idx)
        if not self.mood.isModified():
            self.mood.setText(", ".join(ctx.mood_tags))
        if not self.genre.isModified():
            self.genre.setText(ctx.genre or "")
        self._updated = {name: (src, at) for name, (src, at) in ctx.updated.items()}
        self.refresh_source()

    def refresh_source(self, now: float | None = None) -> None:
        """Update the source chip (latest update's source and age)."""
        if not self._updated:
            self.source.setText("no context yet")
            self.source.setToolTip("")
            return
        now = time.time() if now is None else now
        _name, (src, at) = max(self._updated.items(), key=lambda kv: kv[1][1])
        age = max(0.0, now - at)
        when = "now" if age < 2 else f"{age:.0f} s ago" if age < 60 else f"{age / 60:.0f} min ago"
        self.source.setText(f"{SOURCE_NAMES.get(src, src)} · {when}")
        self.source.setToolTip(
            "\n".join(
                f"{n}: {SOURCE_NAMES.get(s, s)}, {max(0, now - t):.0f} s ago"
                for n, (s, t) in sorted(self._updated.items())
            )
        )

    def set_mode(self, mode: str) -> None:
        """Check the button of ``mode`` without emitting."""
        b = self.mode_buttons.get(mode)
        if b is not None:
            b.setChecked(True)

    # ------------------------------------------------------------------ editing
    def _bpm_edited(self, value: float) -> None:
        self.edited.emit({"bpm": None if value <= NO_BPM + 1e-6 else float(value)})

    def _key_edited(self, index: int) -> None:
        key = self._keys[index][1]
        self.edited.emit({"key": key})

    def _text_edited(self, name: str, widget: QLineEdit) -> None:
        if not widget.isModified():
            return
        widget.setModified(False)
        text = widget.text().strip()
        value: Any = text or None
        if name == "mood_tags":
            value = [w.strip() for w in text.split(",") if w.strip()] or None
        self.edited.emit({name: value})

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            focused = self.focusWidget()
            if focused is not None:
                focused.clearFocus()
            return
        super().keyPressEvent(event)
