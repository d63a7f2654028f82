"""Context from a real OSC packet and from the context bar updates the list."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pythonosc.udp_client import SimpleUDPClient

from companion.music.keys import parse_key
from tests.ui.conftest import wait_until


def _loop_bpms(window) -> dict[str, float | None]:
    return {it.name: it.bpm for it in window.model.items if it.kind == "loop"}


def test_osc_packet_updates_context_bar_and_suggestions(qtbot, make_window):
    window = make_window()
    c = window.controller
    assert c.listener is not None and c.listener.port > 0
    osc = SimpleUDPClient("127.0.0.1", c.listener.port)
    with qtbot.waitSignal(
        c.suggestions_ready,
        timeout=10000,
        check_params_cb=lambda b: b.context.bpm == 160.0 and b.context.key is not None,
    ):
        osc.send_message("/context/bpm", 160.0)
        osc.send_message("/context/key", "Db major")
    wait_until(qtbot, lambda: window.latest is not None and window.latest.context.bpm == 160.0)
    # what the producer sees: the tempo, the key, where they came from, and loops that fit
    assert window.context_bar.bpm.text() == "160.0 BPM"
    assert window.context_bar.key.currentText().startswith("Db major")
    assert window.context_bar.source.text().startswith("OSC")
    loops = _loop_bpms(window)
    assert "loop_safari.flac" in loops  # 160 BPM, Db major
    assert "loop_garzul.flac" not in loops  # 120 BPM does not fit 160
    assert all(abs(b - 160) <= 5 or abs(b * 2 - 160) <= 5 or abs(b / 2 - 160) <= 5 for b in loops.values() if b)
    assert "160 BPM" in window.header.text()
    wait_until(qtbot, lambda: window.context_bar.connection.state == "connected", 5)
    assert "DAW connected" in window.context_bar.connection.text.text()

    # the next packet moves the list again
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.bpm == 120.0):
        osc.send_message("/context/bpm", 120.0)
    wait_until(qtbot, lambda: "loop_garzul.flac" in _loop_bpms(window))
    assert "loop_safari.flac" not in _loop_bpms(window)


def test_manual_edit_in_context_bar(qtbot, make_window):
    window = make_window()
    c = window.controller
    bar = window.context_bar
    bar.bpm.setFocus()
    bar.bpm.lineEdit().selectAll()
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.bpm == 136.0):
        qtbot.keyClicks(bar.bpm.lineEdit(), "136")
        qtbot.keyClick(bar.bpm.lineEdit(), Qt.Key.Key_Return)
    assert c.context().updated["bpm"][0] == "manual"
    assert window.view.hasFocus()  # Enter hands the keyboard back to the list
    wait_until(qtbot, lambda: "loop_amen.flac" in _loop_bpms(window))  # 137 BPM
    # key from the menu
    index = next(i for i, (_, k) in enumerate(bar._keys) if k == parse_key("Am"))
    with qtbot.waitSignal(
        c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.key == parse_key("Am")
    ):
        bar.key.setCurrentIndex(index)
        bar.key.activated.emit(index)
    # mood words
    bar.mood.setFocus()
    with qtbot.waitSignal(
        c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.mood_tags == ("dark", "gritty")
    ):
        qtbot.keyClicks(bar.mood, "dark, gritty")
        qtbot.keyClick(bar.mood, Qt.Key.Key_Return)
    wait_until(qtbot, lambda: "dark, gritty" in window.header.text())


def test_an_incoming_update_does_not_overwrite_a_field_being_typed(qtbot, make_window):
    window = make_window()
    bar = window.context_bar
    bar.genre.setFocus()
    qtbot.keyClicks(bar.genre, "hou")
    window.controller.engine.context.update("osc", genre="techno", bpm=128.0)
    wait_until(qtbot, lambda: bar.bpm.value() == 128.0)
    assert bar.genre.text() == "hou"


def test_mode_switch_reranks(qtbot, make_window):
    window = make_window()
    c = window.controller
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.mode == "rules"):
        qtbot.mouseClick(window.context_bar.mode_buttons["rules"], Qt.MouseButton.LeftButton)
    assert c.settings.recommendation_mode == "rules"
    assert c.store.file_values["recommendation_mode"] == "rules"  # remembered
    wait_until(qtbot, lambda: window.latest is not None and window.latest.mode == "rules")
    assert all(it.components.get("similarity", 0.0) == 0.0 for it in window.model.items)
    assert "rules" in window.header.text()
