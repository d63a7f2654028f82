"""Settings dialog, the stall watchdog, the worker pools and `companion gui` (flags not saved)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from companion.settings import SettingsStore
from companion.ui.stall import StallMonitor
from companion.ui.tasks import TaskRunner
from tests.ui.conftest import wait_until


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_settings_dialog_applies_port_audio_and_mode(qtbot, make_window, tmp_path):
    window = make_window()
    c = window.controller
    port = _free_port()

    def edit() -> None:
        dlg = window.settings_dialog
        assert dlg.device.count() >= 2  # system default + the devices PortAudio lists
        dlg.osc_port.setValue(port)
        dlg.mode.setCurrentIndex(1)
        dlg.follow_key.setChecked(False)
        dlg.sync_url.setText("http://127.0.0.1:9")
        dlg.sync_token.setText("secret")
        dlg.accept()

    QTimer.singleShot(300, edit)
    with qtbot.waitSignal(c.suggestions_ready, timeout=20000, check_params_cb=lambda b: b.mode == "rules"):
        window.open_settings()
    wait_until(qtbot, lambda: c.listener is not None and c.listener.port == port)  # restarted off the GUI thread
    assert c.auditioner.follow_key is False
    assert window.context_bar.mode_buttons["rules"].isChecked()
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["osc_port"] == port and saved["recommendation_mode"] == "rules" and saved["sync_token"] == "secret"
    assert oct((tmp_path / "settings.json").stat().st_mode & 0o777) == "0o600"  # it holds a token
    wait_until(qtbot, lambda: window.sync_label.text().startswith("sync"), 5)


def test_osc_port_in_use_is_reported_not_fatal(qtbot, make_window):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        window = make_window(osc_port=busy.getsockname()[1])
        wait_until(qtbot, lambda: window.context_bar.connection.state == "error")
    assert "unavailable" in window.context_bar.connection.text.text()
    assert window.model.rowCount() > 0  # the app works without the bridge


def test_stall_monitor_measures_a_blocked_event_loop(qtbot):
    monitor = StallMonitor(interval_ms=5)
    monitor.start()
    qtbot.wait(100)
    QTimer.singleShot(0, lambda: time.sleep(0.12))  # block the GUI thread for 120 ms
    qtbot.wait(200)
    monitor.stop()
    assert monitor.ticks > 10
    assert monitor.max_stall_ms >= 100
    assert monitor.percentile_stall_ms(50) < 50


def test_task_results_come_back_on_the_gui_thread(qtbot):
    import threading

    runner = TaskRunner()
    gui = threading.current_thread()
    seen = []
    runner.run(lambda: threading.current_thread(), lambda r, e: seen.append((r, e, threading.current_thread())))
    runner.run(lambda: 1 / 0, lambda r, e: seen.append((r, type(e), threading.current_thread())), pool="db")
    wait_until(qtbot, lambda: len(seen) == 2)
    worker_thread, _err, cb_thread = next(s for s in seen if s[1] is None)
    assert worker_thread is not gui and cb_thread is gui
    assert any(s[1] is ZeroDivisionError and s[2] is gui for s in seen)
    assert runner.wait()


def test_a_runner_deleted_while_a_task_runs_waits_for_it_quietly(qtbot, capfd):
    # A runner deleted mid-task (a controller never shut down, collected at exit): its pools wait
    # for the task, which then emits its result. The relay used to be deleted first, and the
    # worker printed "RuntimeError: Signal source has been deleted" (seen once at the end of CI).
    import shiboken6

    runner = TaskRunner()
    started, finished = [], []

    def work() -> int:
        started.append(1)
        time.sleep(0.3)
        finished.append(1)
        return 1

    runner.run(work, lambda r, e: None)
    wait_until(qtbot, lambda: bool(started))
    shiboken6.delete(runner)  # returns once the running task has ended
    assert finished
    err = capfd.readouterr().err
    assert "Signal source has been deleted" not in err and "Error calling Python override" not in err


def test_companion_gui_opens_and_closes(tmp_path: Path, library_db: Path):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
    )
    settings = tmp_path / "gui.json"  # a format-1 file: migrated when read
    settings.write_text(json.dumps({"first_run_done": True, "osc_enabled": False}))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "gui",
            "--library-db",
            str(library_db),
            "--settings-file",
            str(settings),
            "--quit-after",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "library_db" not in json.loads(settings.read_text())  # a flag is never saved


def test_no_osc_holds_for_one_run_only(tmp_path: Path, library_db: Path):
    """``companion gui --no-osc`` once, then a normal start listens again (the flag is not saved,
    although the window saves a setting the producer changed during that run)."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
    )
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"version": 2, "first_run_done": True, "osc_port": 0}))
    code = (  # `companion gui --no-osc`, moving the volume slider before it closes
        "import sys; from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication;"
        "from companion.ui.app import application; app = application();"
        "QTimer.singleShot(1500, lambda: [w.volume.setValue(40) for w in app.topLevelWidgets() if hasattr(w, 'volume')]);"
        "from companion.cli.main import app as cli;"
        f"sys.argv = ['companion', 'gui', '--no-osc', '--library-db', {str(library_db)!r},"
        f" '--settings-file', {str(settings)!r}, '--quit-after', '3']; cli()"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    saved = json.loads(settings.read_text())
    assert saved["volume"] == 0.4  # the run saved what the producer changed…
    assert "osc_enabled" not in saved and "library_db" not in saved  # …and none of its flags
    normal = SettingsStore(settings, environment=False).settings  # what the next plain start reads
    assert normal.osc_enabled is True


@pytest.mark.parametrize("argv", [[]])
def test_companion_without_arguments_opens_the_app(tmp_path: Path, library_db: Path, argv):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_DATA_HOME=str(tmp_path / "xdg"),
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
        COMPANION_LIBRARY_DB=str(library_db),
    )
    # an earlier version's settings (format 1, in the data dir): a finished first run, no OSC
    from companion.settings import APP_NAME

    data = tmp_path / "xdg" / APP_NAME
    data.mkdir(parents=True)
    (data / "gui.json").write_text(json.dumps({"first_run_done": True, "osc_enabled": False}))
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    code = (
        "import sys; from PySide6.QtCore import QTimer; from PySide6.QtWidgets import QApplication;"
        "from companion.ui.app import application; app = application();"
        "QTimer.singleShot(2000, app.closeAllWindows);"
        "from companion.cli.main import app as cli; sys.argv = ['companion']; cli()"
    )
    proc = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "first-run" not in proc.stderr  # read the old file: no first-run dialog


def test_pyside_signal_emit_keeps_reference_counts():
    """PySide6 6.12.0's ``emit`` drops a reference to the bool it returns: after enough emits the
    interpreter aborts with "bool_dealloc" / "none_dealloc". The app emits constantly, so a
    PySide6 with that bug must not be used (pin: PySide6-Essentials != 6.12.0)."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Source(QObject):
        changed = Signal(object)

    src = Source()
    got = []
    src.changed.connect(got.append)
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(200):
        src.changed.emit(None)
    assert len(got) == 200
    true_delta = sys.getrefcount(True) - before[0]
    none_delta = sys.getrefcount(None) - before[1]
    assert abs(true_delta) < 20  # 6.12.0: -200
    assert abs(none_delta - 200) < 20  # the 200 Nones now held by ``got``
