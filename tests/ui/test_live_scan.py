"""While a scan runs, the suggestion list fills in: files show as "analysing…" once indexed,
then turn into ranked cards as their analyses land, before the scan ends."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from companion.settings import SettingsStore
from companion.ui.controller import AppController
from companion.ui.main_window import MainWindow
from tests.ui.conftest import events, wait_until

#: Enough files that one analysis process takes a few seconds over them (more than the list shows).
FILES = 70


def test_the_list_fills_in_while_the_scan_analyses(qtbot, tmp_path: Path, sonic_pi: Path) -> None:
    pack = tmp_path / "first pack"
    pack.mkdir()
    names = sorted(p.name for p in sonic_pi.glob("*.flac"))[:FILES]
    for n in names:
        shutil.copy2(sonic_pi / n, pack / n)
    db = tmp_path / "data" / "library.db"
    store = SettingsStore(
        tmp_path / "settings.json",
        environment=False,
        file_values=dict(
            folders=[str(pack)],
            library_db=str(db),
            first_run_done=True,
            osc_enabled=False,
            watch_folders=False,
            auto_preview=False,
            scan_workers=1,
            top_k=20,
        ),
    )
    c = AppController(store)
    window = MainWindow(c)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(c.engine_ready, timeout=20000):
        c.start()
    c.library.follow_every_ms = 200  # follow often: the few seconds of analysis see many steps

    finished: list[object] = []
    seen: list[tuple[bool, list[tuple[str, bool]]]] = []  # (scan finished?, [(name, analysing)])
    window.model.modelReset.connect(
        lambda: seen.append((bool(finished), [(it.name, it.analysing) for it in window.model.items]))
    )
    tried: list[tuple[str, str]] = []  # (action, status bar text) on a card still being analysed
    previews: list[object] = []
    c.preview_state.connect(lambda sid, state, _d: previews.append(sid) if state == "loading" else None)

    def try_actions_on_an_analysing_card() -> None:
        # connected after the window's own slot: the cards are on screen now, the scan running
        rows = [r for r, it in enumerate(window.model.items) if it.analysing and it.sample_id >= 0]
        if tried or not rows:
            return
        window.view.select_row(rows[0])
        item = window.selected()
        assert item is not None and item.analysing
        for name, act in (("play", window.toggle_play), ("use", window.accept_current), ("pin", window.pin_current)):
            window.statusBar().clearMessage()
            act()
            tried.append((name, window.statusBar().currentMessage()))
        tried.append(("drag", "no drag" if window.view.mime_for(item) is None else "drag"))

    c.library.pending_changed.connect(try_actions_on_an_analysing_card)
    c.scan_finished.connect(lambda report, error: finished.append(report))
    c.library.start_scan()
    wait_until(qtbot, lambda: bool(finished), timeout_s=90)
    report = finished[0]
    assert report is not None and report.analysed == FILES

    during = [rows for done, rows in seen if not done]
    analysing = {name for rows in during for name, a in rows if a}
    assert analysing & set(names), "no file showed as analysing during the scan"
    assert any(re.fullmatch(r"\+\d+ more being analysed", n) for n in analysing), "the list was not capped"
    # ranked cards before the end of the scan, ahead of the files still being analysed
    mixed = [rows for rows in during if any(not a for _, a in rows) and any(a for _, a in rows)]
    assert mixed, "no ranked card came in while files were still being analysed"
    for rows in mixed:
        flags = [a for _, a in rows]
        assert flags == sorted(flags), rows  # ranked first, then the analysing ones
        assert {n for n, a in rows if not a} <= set(names)

    # Play, Enter, pin and drag on an analysing card do nothing but say why
    assert [name for name, _ in tried] == ["play", "use", "pin", "drag"]
    for name, text in tried[:3]:
        assert "still being analysed" in text, (name, text)
    assert tried[3] == ("drag", "no drag")
    assert previews == []
    assert events(db, "accept") == [] and events(db, "pin") == []

    # after the scan: ranked cards only
    wait_until(qtbot, lambda: window.model.rowCount() == 20 and not any(it.analysing for it in window.model.items))
    assert "being analysed" not in window.header.text()
    window.close()


def test_a_slow_reload_is_followed_less_often(qtbot, tmp_path: Path, sonic_pi: Path, monkeypatch) -> None:
    """Reloading a large library costs a CPU the scan needs: the next step waits ten times as
    long as the last one took (FOLLOW_COST_FACTOR), never less than follow_every_ms."""
    from companion.app.pending import ScanFollower
    from companion.ui.library_adapter import FOLLOW_COST_FACTOR

    step = ScanFollower.step
    took: list[float] = []

    def slow_step(self, *args, **kwargs):  # a 100k library's reload takes about this long
        start = time.perf_counter()
        time.sleep(0.4)
        try:
            return step(self, *args, **kwargs)
        finally:
            took.append(time.perf_counter() - start)

    monkeypatch.setattr(ScanFollower, "step", slow_step)
    pack = tmp_path / "pack"
    pack.mkdir()
    for p in sorted(sonic_pi.glob("*.flac"))[:FILES]:
        shutil.copy2(p, pack / p.name)
    store = SettingsStore(
        tmp_path / "settings.json",
        environment=False,
        file_values=dict(
            folders=[str(pack)],
            library_db=str(tmp_path / "library.db"),
            first_run_done=True,
            osc_enabled=False,
            watch_folders=False,
            auto_preview=False,
            scan_workers=1,
        ),
    )
    c = AppController(store)
    window = MainWindow(c)
    qtbot.addWidget(window)
    with qtbot.waitSignal(c.engine_ready, timeout=20000):
        c.start()
    c.library.follow_every_ms = 200
    finished: list[object] = []
    c.scan_finished.connect(lambda report, error: finished.append(report))
    c.library.start_scan()
    wait_until(qtbot, lambda: (bool(took) and c.library._follow_timer.isActive()) or bool(finished), timeout_s=60)
    assert not finished, "the scan ended before its first step: too few files to follow"
    interval = c.library._follow_timer.interval()
    assert interval >= FOLLOW_COST_FACTOR * took[0] * 1000.0 * 0.95, (interval, took)
    assert interval >= 3800
    wait_until(qtbot, lambda: bool(finished), timeout_s=90)
    assert took, "the scan was never followed"
    window.close()
