"""Small window fixes from a user test: Ctrl+Q, undo hints, expiring status messages, the
keyboard after the settings dialog, arrows from the search box, the CLAP note."""

from __future__ import annotations

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
