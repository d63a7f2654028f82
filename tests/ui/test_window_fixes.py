"""Small window fixes from a user test: Ctrl+Q, undo hints, expiring status messages, the
keyboard after the settings dialog, arrows from the search box, the CLAP note."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import wait_until


def test_ctrl_q_quits(qtbot, make_window):
    window = make_window()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    wait_until(qtbot, lambda: not window.isVisible())
    assert window.controller._closed  # closing stopped the services


def test_ban_and_skip_say_how_to_undo(qtbot, make_window):
    window = make_window()
    window.view.select_row(0)
    window.view.setFocus()
    item = window.selected()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    message = window.statusBar().currentMessage()
    assert item.name in message and message.endswith("— Ctrl+Z to undo"), message

    banned = window.selected()
    assert banned is not None and banned.name != item.name
    qtbot.keyClick(window.view, Qt.Key.Key_B)
    message = window.statusBar().currentMessage()
    assert banned.name in message and "Banned" in message and message.endswith("— Ctrl+Z to undo"), message

    qtbot.keyClick(window.view, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    message = window.statusBar().currentMessage()
    assert "folder" in message and message.endswith("— Ctrl+Z to undo"), message


def test_status_messages_expire_errors_later(qtbot, make_window, monkeypatch):
    from companion.ui import main_window

    monkeypatch.setattr(main_window, "STATUS_MS", 200)
    monkeypatch.setattr(main_window, "ERROR_MS", 1500)
    window = make_window()
    bar = window.statusBar()
    window.controller.message.emit("New files found — analysing them")
    assert bar.currentMessage() == "New files found — analysing them"
    wait_until(qtbot, lambda: bar.currentMessage() == "", 3)

    window.controller.problem.emit("cannot save settings: disk full")
    qtbot.wait(400)  # a note would be gone by now; an error stays
    assert bar.currentMessage() == "cannot save settings: disk full"
    wait_until(qtbot, lambda: bar.currentMessage() == "", 5)

    # the audition note at the right of the status bar goes too (it used to stay forever)
    item = window.model.item(0)
    window._preview_state(item.sample_id, "error", "no output device")
    assert window.audio_label.text() == "audition failed"
    wait_until(qtbot, lambda: window.audio_label.text() == "", 5)


def test_keyboard_works_after_the_settings_dialog_without_a_click(qtbot, make_window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    window = make_window()
    window.view.select_row(0)
    window.search.setFocus()  # e.g. the producer had been typing a search

    def close_it() -> None:
        dialog = window.settings_dialog
        dialog.osc_port.setFocus()
        dialog.reject()

    QTimer.singleShot(300, close_it)
    window.open_settings()
    wait_until(qtbot, lambda: hasattr(window, "settings_dialog") and not window.settings_dialog.isVisible())
    qtbot.wait(50)
    assert QApplication.focusWidget() is window.view
    item = window.selected()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Delete)  # a list shortcut, no click first
    assert item.name not in [it.name for it in window.model.items]


def test_down_and_enter_in_the_search_box_reach_the_results(qtbot, make_window):
    from PySide6.QtWidgets import QApplication

    window = make_window()
    c = window.controller
    window.search.setFocus()
    with qtbot.waitSignal(c.results_ready, timeout=10000):
        qtbot.keyClicks(window.search, "loop")
    assert window.showing == "search" and window.model.rowCount() >= 2
    qtbot.keyClick(window.search, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is window.view
    assert window.view.currentIndex().row() == 0
    qtbot.keyClick(window.view, Qt.Key.Key_Down)
    assert window.view.currentIndex().row() == 1

    window.search.setFocus()
    window.search.clear()
    with qtbot.waitSignal(c.results_ready, timeout=10000):
        qtbot.keyClicks(window.search, "amen")
        qtbot.keyClick(window.search, Qt.Key.Key_Return)  # before the 250 ms typing pause: searches now
        assert QApplication.focusWidget() is window.view
    wait_until(qtbot, lambda: window.selected() is not None and window.selected().name == "loop_amen.flac")
    assert window.view.hasFocus()


@pytest.mark.parametrize("model_dir", [None, "missing-model"])
def test_without_clap_mood_genre_and_search_say_so_in_one_line(qtbot, make_window, tmp_path, model_dir):
    overrides = {} if model_dir is None else {"clap_model_dir": str(tmp_path / model_dir)}
    window = make_window(**overrides)
    clap = window.controller.session.clap
    assert clap is not None and clap.embedder is None  # no model on the test machine / a broken one
    line = window.clap_note()
    assert line is not None and "\n" not in line and "names and tags only" in line
    if model_dir is not None:
        assert clap.problem and line.startswith(clap.problem)
    bar = window.context_bar
    assert bar.mood.toolTip() == line and bar.genre.toolTip() == line
    assert bar.boxes["mood"].caption.text() == "MOOD · TAGS ONLY"
    assert bar.boxes["genre"].caption.text() == "GENRE · TAGS ONLY"
    assert window.search.toolTip() == line
    with qtbot.waitSignal(window.controller.results_ready, timeout=10000):
        qtbot.keyClicks(window.search, "amen")
    assert line in window.header.text()


def test_the_daw_stays_connected_while_it_sends_nothing_new(qtbot, make_window):
    """DAWs send on change: an idle DAW is silent, so silence keeps the dot green and says when."""
    import time

    from pythonosc.udp_client import SimpleUDPClient

    window = make_window()
    c = window.controller
    states: list[tuple[str, str]] = []
    c.bridge_state.connect(lambda state, text, _tip: states.append((state, text)))
    SimpleUDPClient("127.0.0.1", c.listener.port).send_message("/context/bpm", 128.0)
    wait_until(qtbot, lambda: c.context().bpm == 128.0)
    c._poll_bridge()
    assert states[-1] == ("connected", f"OSC :{c.listener.port} · DAW connected")
    c._last_packet_at = time.monotonic() - 185.0  # three minutes of an idle session
    c._poll_bridge()
    state, text = states[-1]
    assert state == "connected" and text.endswith("DAW connected · last heard 3 min ago"), states[-1]


def test_decisions_go_to_the_log(qtbot, make_window, caplog):
    window = make_window()
    window.view.select_row(0)
    window.view.setFocus()
    with caplog.at_level("INFO", logger="companion.ui.decisions_adapter"):
        skipped = window.selected()
        qtbot.keyClick(window.view, Qt.Key.Key_Delete)
        banned = window.selected()
        qtbot.keyClick(window.view, Qt.Key.Key_B)
        pinned = window.selected()
        qtbot.keyClick(window.view, Qt.Key.Key_P)
        qtbot.keyClick(window.view, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    lines = [r.getMessage() for r in caplog.records if r.name == "companion.ui.decisions_adapter"]
    assert f"skipped {skipped.path} (sample {skipped.sample_id})" in lines
    assert f"banned {banned.path} (sample {banned.sample_id})" in lines
    assert f"pinned {pinned.path} (sample {pinned.sample_id})" in lines
    assert any(line.startswith("banned folder ") for line in lines), lines


def test_a_pinned_card_spends_its_rationale_line_on_reasons(qtbot, make_window):
    window = make_window()
    window.resize(1280, 800)
    window.view.select_row(2)
    window.view.setFocus()
    item = window.selected()
    qtbot.keyClick(window.view, Qt.Key.Key_P)
    wait_until(qtbot, lambda: any(it.pinned and it.sample_id == item.sample_id for it in window.model.items))
    pinned = next(it for it in window.model.items if it.sample_id == item.sample_id)
    assert pinned.rationale[0] == "pinned"  # the ranker says so; the card shows it with ● and its bar
    delegate = window.view.itemDelegate()
    delegate.painted.clear()
    window.view.viewport().repaint()
    layout = delegate.painted[item.sample_id]
    assert layout.text("name").text.startswith("● ")
    why = layout.text("why")
    assert why is not None and not why.full.startswith("pinned") and why.full == " · ".join(pinned.rationale[1:])
    assert "pinned" in pinned.tooltip_html()


def test_the_highlight_follows_the_sample_through_more_like_this_and_back(qtbot, make_window):
    window = make_window()
    window.view.select_row(3)
    window.view.setFocus()
    item = window.selected()
    qtbot.keyClick(window.view, Qt.Key.Key_M)
    wait_until(qtbot, lambda: window.showing == "similar")
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    wait_until(qtbot, lambda: window.showing == "suggestions")
    assert window.selected() is not None and window.selected().sample_id == item.sample_id
