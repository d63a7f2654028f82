"""The built app's window opens on a virtual X display (Xvfb), both as the menu entry starts
it (``companion`` with no command) and as ``companion gui``, which closes cleanly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO / "packaging"))
from smoke import Xvfb, time_to_window

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

TITLE = "SampleMind Companion"


def _env(app_env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in app_env.items() if k not in ("PYTHONPATH", "QT_QPA_PLATFORM")}


def test_window_opens_from_the_menu_entry_command(bundle: Path, app_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "gui.log"
    with Xvfb() as display:
        seconds, proc = time_to_window(
            [bundle / "companion"], display, TITLE, env=_env(app_env), timeout_s=240, log_file=log
        )
        proc.terminate()
        proc.wait(timeout=60)
    assert seconds < 120, log.read_text(errors="replace")[-3000:]


def test_gui_command_opens_the_window_and_quits_cleanly(bundle: Path, app_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "gui.log"
    command = [
        bundle / "companion",
        "gui",
        "--no-osc",
        "--library-db",
        tmp_path / "library.db",
        "--settings-file",
        tmp_path / "gui.json",
        "--quit-after",
        "4",
    ]
    with Xvfb() as display:
        seconds, proc = time_to_window(command, display, TITLE, env=_env(app_env), timeout_s=240, log_file=log)
        code = proc.wait(timeout=120)
    assert code == 0, log.read_text(errors="replace")[-3000:]
    assert seconds < 120
    state = Path(app_env["XDG_STATE_HOME"]) / "samplemind-companion" / "log" / "companion.log"
    assert "starting" in state.read_text(encoding="utf-8")
