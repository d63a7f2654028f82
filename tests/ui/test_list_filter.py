"""Filter ▾: the ranker sends a filtered list, the list is sorted, and both survive a restart."""

from __future__ import annotations

from companion.settings import SettingsStore
from tests.ui.conftest import wait_until


def _all(window, cond) -> bool:
    items = window.model.items
    return bool(items) and all(cond(it) for it in items)


def test_filter_sort_and_restart(qtbot, make_window, tmp_path):
    window = make_window()
    c = window.controller
    assert any(it.kind == "loop" for it in window.model.items)  # unfiltered: loops too
    menu = window.filter_menu
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000):
        menu.entries["kind:one-shot"].trigger()
    wait_until(qtbot, lambda: _all(window, lambda it: it.kind == "one-shot"))
    assert window.filter_button.text() == "Filter • ▾"

    menu = window.filter_menu
    menu.entries["sort:name"].trigger()
    names = [it.name for it in window.model.items]
    assert len(names) >= 3 and names == sorted(names, key=str.casefold)
    assert c.settings.filter_kind == "one-shot" and c.settings.sort_by == "name"
    window.close()

    # a new window on the same settings file: the filter and the sort are still on
    from companion.ui.controller import AppController
    from companion.ui.main_window import MainWindow

    store = SettingsStore(tmp_path / "settings.json", environment=False)
    assert store.settings.filter_kind == "one-shot"
    controller = AppController(store)
    again = MainWindow(controller)
    qtbot.addWidget(again)
    again.show()
    try:
        with qtbot.waitSignal(controller.suggestions_ready, timeout=20000):
            controller.start()
        wait_until(qtbot, lambda: again.latest is not None and bool(again.model.items))
        assert _all(again, lambda it: it.kind == "one-shot")
        names = [it.name for it in again.model.items]
        assert names == sorted(names, key=str.casefold)
        assert again.filter_menu.entries["kind:one-shot"].isChecked()
        assert again.filter_button.text() == "Filter • ▾"
    finally:
        again.close()


def test_search_results_are_filtered_too(qtbot, make_window):
    window = make_window()
    c = window.controller
    with qtbot.waitSignal(c.suggestions_ready, timeout=10000):
        window.filter_menu.entries["kind:loop"].trigger()
    with qtbot.waitSignal(c.results_ready, timeout=10000):
        c.finder.search("loop")
    wait_until(qtbot, lambda: window.showing == "search")
    assert _all(window, lambda it: it.kind == "loop")
