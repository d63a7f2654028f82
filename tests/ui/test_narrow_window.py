"""The window beside a DAW: usable at 480 px, one column below 760 px, cards never cut off,
stay on top."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import combinations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from companion.settings import SettingsStore
from companion.ui.main_window import COMPACT_BELOW, MainWindow
from tests.ui.conftest import wait_until


def _resize(qtbot, window: MainWindow, width: int) -> None:
    window.resize(width, 800)
    wait_until(qtbot, lambda: window.width() == width)
    _settle(qtbot, window)


def _settle(qtbot, window: MainWindow) -> None:
    """Wait until the layouts have settled (panels fold, the inspector stacks, the context bar
    re-flows): the window's minimum size hint the same for 5 event-loop turns in a row. Each
    nested layout that changes asks the one above it on a later turn, so a fixed short wait
    can end half way on a loaded machine, with the hint still that of the old width."""
    seen: list = []

    def settled() -> bool:
        seen.append(window.minimumSizeHint())
        return len(seen) >= 6 and all(hint == seen[-1] for hint in seen[-6:])

    wait_until(qtbot, settled, timeout_s=10.0)


@pytest.fixture(params=[None, 12.0], ids=["system-font", "12pt-font"])
def font_size(request) -> Iterator[float | None]:
    """The application font's point size: the platform's, or a larger one, as another desktop's
    default font or a producer's accessibility setting makes it (restored after the test)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.font()
    if request.param is not None:
        font = QFont(before)
        font.setPointSizeF(request.param)
        app.setFont(font)
    yield request.param
    app.setFont(before)


@pytest.mark.parametrize("width", [480, 800, 1280])
def test_the_window_fits_its_width_and_cards_are_not_cut_off(qtbot, make_window, font_size, width):
    window = make_window()
    _resize(qtbot, window, width)
    assert window.minimumWidth() <= 480  # the producer can make it this narrow
    # what the current layout needs fits the window: nothing is squeezed or overlaps
    assert window.minimumSizeHint().width() <= width, (font_size, window.two_column_width())
    if width < COMPACT_BELOW:
        assert window.compact and window.minimumSizeHint().width() <= 480
    elif width >= window.two_column_width():
        assert not window.compact  # wide enough: the side panels stay
    view = window.view
    assert not view.horizontalScrollBar().isVisible()
    assert view.horizontalScrollBar().maximum() == 0  # the cards are no wider than the list

    delegate = view.itemDelegate()
    delegate.painted.clear()
    view.viewport().grab()  # paint the visible cards now
    viewport = view.viewport().rect()
    checked: dict[str, int] = {"name": 0, "kind": 0, "bpm": 0, "key": 0}
    for row in range(window.model.rowCount()):
        card = view.visualRect(window.model.index(row))
        if not viewport.contains(card):
            continue  # only whole cards: a card scrolled half out of view is not cut off by us
        item = window.model.item(row)
        layout = delegate.painted[item.sample_id]
        wanted = {"name": item.name, "kind": item.kind, "bpm": item.bpm_text, "key": item.key_text}
        for role, full in wanted.items():
            if not full:
                continue  # e.g. a one-shot without a tempo
            text = layout.text(role)
            assert text is not None, (width, item.name, role, layout)
            assert text.text == full and not text.elided, (width, role, text)
            assert card.contains(text.rect) and viewport.contains(text.rect), (width, role, text.rect, card)
            checked[role] += 1
        for a, b in combinations(layout.texts, 2):
            assert not a.rect.intersects(b.rect), (width, item.name, a, b)
    assert checked["name"] >= 5 and checked["bpm"] >= 2 and checked["key"] >= 1, checked
    if width == 480:
        assert all(layout.narrow for layout in delegate.painted.values())


def test_narrow_window_folds_the_side_panels(qtbot, make_window):
    window = make_window()
    assert window.library.isVisible() and window.inspector.isVisible()
    _resize(qtbot, window, 480)
    assert window.compact
    assert not window.library.isVisible() and not window.inspector.isVisible()
    assert window.view.isVisible()
    assert window.context_bar.rows > 1  # its fields wrap onto more rows

    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.library.isVisible() and not window.view.isVisible()  # the library takes the column
    assert window.minimumSizeHint().width() <= 480
    qtbot.keyClick(window.library, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not window.library.isVisible() and window.view.isVisible()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    assert window.inspector.isVisible() and window.view.isVisible()  # below the list
    assert window.inspector_action.isChecked()

    _resize(qtbot, window, 1280)
    assert not window.compact
    assert window.library.isVisible() and window.inspector.isVisible() and window.view.isVisible()
    assert window.context_bar.rows == 1


def test_stay_on_top_sets_the_window_flag_and_is_saved(qtbot, make_window, tmp_path):
    window = make_window()
    assert not window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    window.stay_on_top_action.trigger()
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert window.isVisible()  # changing the flag hid it; it is shown again
    assert json.loads((tmp_path / "settings.json").read_text())["stay_on_top"] is True

    # the next start reads it back
    store = SettingsStore(tmp_path / "settings.json", environment=False)
    assert store.settings.stay_on_top is True
    again = MainWindow(window.controller)
    qtbot.addWidget(again)
    assert again.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert again.stay_on_top_action.isChecked()

    window.stay_on_top_action.trigger()
    assert not window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert json.loads((tmp_path / "settings.json").read_text())["stay_on_top"] is False
