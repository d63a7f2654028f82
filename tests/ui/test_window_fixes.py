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
