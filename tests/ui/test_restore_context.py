"""The last context (tempo, key, mood) comes back when the window is opened again."""

from __future__ import annotations

import json

from tests.ui.conftest import wait_until


def _loops(window) -> set[str]:
    return {it.name for it in window.model.items if it.kind == "loop"}


def test_context_restored_after_restart(qtbot, make_window, tmp_path):
    window = make_window()
    c = window.controller
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.bpm == 136.0):
        c.edit_context({"bpm": 136.0, "key": "F# minor", "mood_tags": "dark, warm", "playing": True})
    window.close()
    saved = json.loads((tmp_path / "context.json").read_text())["context"]
    assert saved["bpm"] == 136.0 and saved["key"] == "F# minor" and saved["mood_tags"] == ["dark", "warm"]
    assert "playing" not in saved  # the transport is the moment's, not the song's

    again = make_window()
    first = again.latest
    assert first is not None
    # the first list is already for the last context: 137 BPM amen in, 120 BPM garzul out
    assert first.context.bpm == 136.0 and first.context.key is not None and first.context.key.name == "F# minor"
    assert first.context.playing is None
    assert "loop_amen.flac" in _loops(again)
    assert "loop_garzul.flac" not in _loops(again)
    bar = again.context_bar
    wait_until(qtbot, lambda: bar.bpm.text() == "136.0 BPM")
    assert bar.key.currentText().startswith("F# minor")
    assert bar.mood.text() == "dark, warm"
    assert bar.source.text().startswith("last session")
    assert again.controller.context().updated["bpm"][0] == "restored"

    # a DAW (here: a manual edit) overrides a restored field as usual
    with qtbot.waitSignal(
        again.controller.suggestions_ready, timeout=10000, check_params_cb=lambda b: b.context.bpm == 120.0
    ):
        again.controller.edit_context({"bpm": 120.0})
    assert again.controller.context().updated["bpm"][0] == "manual"
    assert again.controller.context().mood_tags == ("dark", "warm")


def test_context_saved_while_running(qtbot, make_window, tmp_path):
    """A change is saved about a second after it settles, without closing the window."""
    window = make_window()
    window.controller.edit_context({"bpm": 90.0, "genre": "Dub"})
    wait_until(qtbot, lambda: (tmp_path / "context.json").exists(), timeout_s=5)
    saved = json.loads((tmp_path / "context.json").read_text())["context"]
    assert saved["bpm"] == 90.0 and saved["genre"] == "dub"


def test_window_comes_back_at_its_size(qtbot, make_window, tmp_path):
    """Sized to sit beside the DAW, the window opens at that size next time (one column)."""
    window = make_window()
    window.resize(500, 720)
    wait_until(qtbot, lambda: window.width() == 500)
    assert window.compact
    window.close()
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["window_geometry"]
    again = make_window(window_geometry=saved["window_geometry"])  # the settings file's value
    assert (again.width(), again.height()) == (500, 720)
    wait_until(qtbot, lambda: again.compact)
