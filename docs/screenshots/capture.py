"""Capture the README screenshots of the desktop app (offscreen Qt, real services).

Scans a few dozen Sonic Pi samples (Debian package sonic-pi-samples) into a temporary catalog,
opens the window at 1280×800, drives it like a producer (context from an OSC packet, a selected
loop auditioned in the session's tempo and key, a search, "more like this", the first-run and
settings dialogs, a scan in progress) and saves one PNG per state next to this file.

Run:  python docs/screenshots/capture.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.preview.alsa_null import use_null_alsa

use_null_alsa()

from PySide6.QtCore import QEventLoop, QTimer
from pythonosc.udp_client import SimpleUDPClient

from companion.ui.app import application
from companion.ui.controller import AppController
from companion.ui.dialogs import FirstRunDialog, SettingsDialog
from companion.ui.main_window import MainWindow
from companion.ui.preferences import Preferences
from companion.ui.scan_process import ScanProcess

SONIC_PI = Path("/usr/share/sonic-pi/samples")
OUT = Path(__file__).resolve().parent
PICK = ("loop_", "bd_", "sn_", "bass_", "ambi_", "elec_", "drum_")


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(cond, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        wait(20)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="companion-shots-"))
    samples = work / "Sonic Pi samples"
    samples.mkdir()
    files = [p for p in sorted(SONIC_PI.glob("*.flac")) if p.name.startswith(PICK)]
    for p in files[::2][:48]:
        shutil.copy2(p, samples / p.name)
    db = work / "library.db"
    print(f"scanning {len(list(samples.iterdir()))} samples …", file=sys.stderr)
    ScanProcess(db, [str(samples)]).run()

    app = application()  # noqa: F841 - keeps the QApplication alive
    prefs = Preferences(
        folders=[str(samples)],
        library_db=str(db),
        first_run_done=True,
        osc_port=0,
        watch_folders=True,
        auto_preview=False,
    )
    controller = AppController(prefs, prefs_file=work / "gui.json")
    window = MainWindow(controller)
    window.resize(1280, 800)
    window.show()
    controller.start()
    wait_for(lambda: window.latest is not None and controller.listener is not None)
    osc = SimpleUDPClient("127.0.0.1", controller.listener.port)
    osc.send_message("/context/bpm", 124.0)
    osc.send_message("/context/key", "A minor")
    osc.send_message("/context/mood", ["dark"])
    wait_for(lambda: window.latest is not None and window.latest.context.bpm == 124.0)
    wait(1500)
    loops = [i for i, it in enumerate(window.model.items) if it.kind == "loop"]
    window.view.select_row(loops[0] if loops else 0)
    window.view.setFocus()
    window.toggle_play()
    wait_for(lambda: "plays" in window.inspector.plan.text(), 30)
    controller.stop_preview()
    wait(1200)
    window.grab().save(str(OUT / "main.png"))

    window.search.setText("bass")
    wait_for(lambda: window.showing == "search")
    wait(1200)
    window.grab().save(str(OUT / "search.png"))
    window.back_to_suggestions()

    window.view.select_row(0)
    window.more_like_current()
    wait_for(lambda: window.showing == "similar")
    wait(1200)
    window.grab().save(str(OUT / "similar.png"))
    window.back_to_suggestions()

    first = FirstRunDialog(
        Preferences(),
        controller.catalog_path,
        controller.prefs_file,
        [("Sonic Pi samples", str(SONIC_PI)), ("LMMS samples", "/usr/share/lmms/samples")],
        window,
    )
    first.folder_list.add_folder(str(SONIC_PI))
    first.show()
    wait(300)
    first.grab().save(str(OUT / "first_run.png"))
    first.close()

    from dataclasses import replace

    from companion.preview.player import output_devices

    settings = SettingsDialog(replace(controller.prefs, osc_port=9137), output_devices(), window)
    settings.show()
    wait(300)
    settings.grab().save(str(OUT / "settings.png"))
    settings.close()

    more = work / "new pack"
    more.mkdir()
    for p in files[1::2][:40]:
        shutil.copy2(p, more / p.name)
    controller.set_folders([str(samples), str(more)])
    window.library.set_folders([str(samples), str(more)])
    wait_for(lambda: window.library.progress.maximum() > 1 and window.library.progress.value() >= 8, 120)
    window.grab().save(str(OUT / "scanning.png"))
    wait_for(lambda: not controller.scanning, 300)

    window.close()
    shutil.rmtree(work, ignore_errors=True)
    print("saved:", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
