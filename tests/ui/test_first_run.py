"""First run: choose folders, the scan starts with progress, problems are listed, data location
is shown; watched folders pick up new files by themselves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

from companion.library.catalog import Catalog
from companion.settings import SettingsStore
from companion.ui import app as app_module
from companion.ui.controller import AppController
from companion.ui.main_window import MainWindow
from tests.ui.conftest import wait_until


def _pack(folder: Path, sonic_pi: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy2(sonic_pi / n, folder / n)
    return folder


def _window(qtbot, tmp_path: Path, **fields: object) -> MainWindow:
    controller = AppController(SettingsStore(tmp_path / "settings.json", environment=False, file_values=fields))
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    controller.start()
    return window


def test_first_run_picks_a_folder_scans_with_progress_and_lists_problems(qtbot, tmp_path, sonic_pi, monkeypatch):
    pack = _pack(tmp_path / "My Pack", sonic_pi, ["loop_amen.flac", "loop_garzul.flac", "bd_haus.flac", "sn_dolf.flac"])
    (pack / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot really")
    monkeypatch.setattr(app_module, "detected_libraries", lambda: [("My Pack", str(pack))])
    window = _window(qtbot, tmp_path, library_db=str(tmp_path / "data" / "library.db"), osc_enabled=False)
    c = window.controller
    progress: list[tuple[str, int, int | None]] = []
    c.scan_progress.connect(lambda p: progress.append((p.phase, p.done, p.total)))

    def answer() -> None:
        dlg = window.first_run_dialog
        assert str(tmp_path / "data" / "library.db") in " ".join(
            label.text() for label in dlg.findChildren(type(window.header))
        )
        qtbot.mouseClick(dlg.quick_buttons["My Pack"], Qt.MouseButton.LeftButton)
        assert dlg.folder_list.folders() == [str(pack)]
        qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(300, answer)
    with qtbot.waitSignal(c.scan_finished, timeout=120000) as finished:
        app_module.run_first_run(window, c.settings)
    report, error = finished.args
    assert error is None and report.analysed == 4 and report.problems == 1
    assert any(phase == "analyse" and total == 5 for phase, _, total in progress)
    assert progress[-1][1] == progress[-1][2] or progress[-1][0] == "vectors"
    assert window.library.progress.value() == window.library.progress.maximum()
    assert "4 analysed" in window.library.progress_text.text() and "1 problems" in window.library.progress_text.text()
    wait_until(qtbot, lambda: window.library.problems.topLevelItemCount() == 1)
    assert window.library.problems.topLevelItem(0).text(0) == "broken.wav"
    assert "5 samples" in window.library.stats.text()
    assert str(tmp_path / "data" / "library.db") in window.library.data_location.text()
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["folders"] == [str(pack)] and saved["first_run_done"] is True
    assert SettingsStore(tmp_path / "settings.json", environment=False).settings.folders == [str(pack)]
    wait_until(qtbot, lambda: window.model.rowCount() == 4, timeout_s=20)
    window.close()


def test_later_skips_the_first_run_for_good(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "detected_libraries", list)
    window = _window(qtbot, tmp_path, library_db=str(tmp_path / "library.db"), osc_enabled=False)
    QTimer.singleShot(200, lambda: qtbot.mouseClick(window.first_run_dialog.later_button, Qt.MouseButton.LeftButton))
    app_module.run_first_run(window, window.controller.settings)
    assert json.loads((tmp_path / "settings.json").read_text())["first_run_done"] is True
    wait_until(qtbot, lambda: window.view.empty.isVisible() and "No samples yet" in window.view.empty.text())
    window.close()


def test_watched_folder_analyses_new_files_by_itself(qtbot, tmp_path, sonic_pi):
    pack = _pack(tmp_path / "watched", sonic_pi, ["bd_haus.flac", "sn_dolf.flac"])
    window = _window(
        qtbot,
        tmp_path,
        folders=[str(pack)],
        library_db=str(tmp_path / "library.db"),
        first_run_done=True,
        osc_enabled=False,
        watch_folders=True,
    )
    c = window.controller
    with qtbot.waitSignal(c.scan_finished, timeout=60000):
        qtbot.mouseClick(window.library.scan_button, Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: c.library.watcher is not None and c.library.watcher.roots == [str(pack.resolve())])
    with qtbot.waitSignal(c.scan_finished, timeout=60000) as finished:
        shutil.copy2(sonic_pi / "loop_amen.flac", pack / "loop_amen.flac")
    assert finished.args[0].new == 1 and finished.args[0].analysed == 1
    with Catalog.open(tmp_path / "library.db") as catalog:
        assert catalog.find(pack / "loop_amen.flac").status == "analysed"
    wait_until(qtbot, lambda: any(it.name == "loop_amen.flac" for it in window.model.items), timeout_s=20)
    window.close()
