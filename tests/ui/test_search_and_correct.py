"""Search by name and tags, "more like this", and correcting BPM/key/kind in place."""

from __future__ import annotations

from PySide6.QtCore import Qt

from companion.library.catalog import Catalog
from companion.music.keys import parse_key
from tests.ui.conftest import wait_until


def test_search_by_name_then_escape_back(qtbot, make_window):
    window = make_window()
    c = window.controller
    with qtbot.waitSignal(c.results_ready, timeout=10000):
        qtbot.keyClicks(window.search, "amen")
    assert window.showing == "search"
    assert [it.name for it in window.model.items] == ["loop_amen.flac"]
    assert "names and tags" in window.header.text()
    assert window.model.items[0].source == "search"
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert window.showing == "suggestions" and window.search.text() == ""
    assert window.model.rowCount() == len(window.latest.items)


def test_search_with_no_match_says_so(qtbot, make_window):
    window = make_window()
    with qtbot.waitSignal(window.controller.results_ready, timeout=10000):
        qtbot.keyClicks(window.search, "zzzz-nothing")
    assert window.model.rowCount() == 0
    assert window.view.empty.isVisible() and window.view.empty.text() == "No matches."


def test_more_like_this(qtbot, make_window):
    window = make_window()
    c = window.controller
    row = next(i for i, it in enumerate(window.model.items) if it.kind == "one-shot")
    window.view.select_row(row)
    window.view.setFocus()
    item = window.selected()
    with qtbot.waitSignal(c.results_ready, timeout=10000):
        qtbot.keyClick(window.view, Qt.Key.Key_M)
    assert window.showing == "similar"
    assert window.header.text().startswith(f"More like {item.name}")
    names = [it.name for it in window.model.items]
    assert names and item.name not in names
    scores = [it.score for it in window.model.items]
    assert scores == sorted(scores, reverse=True)
    window.escape()
    assert window.showing == "suggestions"


def test_correct_bpm_key_and_kind_in_place(qtbot, make_window, library_db):
    window = make_window()
    c = window.controller
    row = next(i for i, it in enumerate(window.model.items) if it.name == "bd_haus.flac")
    window.view.select_row(row)
    window.view.setFocus()
    insp = window.inspector
    assert insp.title.text() == "bd_haus.flac"
    qtbot.keyClick(window.view, Qt.Key.Key_E)  # jumps to the BPM field
    assert insp.bpm.hasFocus()
    insp.bpm.setValue(128.0)
    insp.key.setCurrentIndex(1 + 9 * 2 + 1)  # A minor
    insp.kind.setCurrentText("loop")
    with qtbot.waitSignal(c.suggestions_ready, timeout=20000):
        qtbot.mouseClick(insp.apply, Qt.MouseButton.LeftButton)
    with Catalog.open(library_db) as catalog:
        fixed = catalog.find(insp.item.path)
    assert fixed.bpm == 128.0 and fixed.bpm_source == "user"
    assert fixed.key == "A minor" and fixed.kind == "loop"
    assert "Saved your correction" in window.statusBar().currentMessage()
    # the ranking uses it: in a 128 BPM A minor session the corrected sample is a loop at 128
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.bpm == 128.0):
        c.edit_context({"bpm": 128.0, "key": parse_key("Am")})
    wait_until(
        qtbot,
        lambda: any(it.name == "bd_haus.flac" and it.kind == "loop" and it.bpm == 128.0 for it in window.model.items),
    )
