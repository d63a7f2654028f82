"""Capture the README screenshots of the desktop app (offscreen Qt, real services).

Scans a few dozen Sonic Pi samples (Debian package sonic-pi-samples) into a temporary catalog,
opens the window at 1280×800, drives it like a producer (context from an OSC packet, a selected
loop auditioned in the session's tempo and key, a search, "more like this", the first-run and
settings dialogs, a scan in progress) and saves one PNG per state next to this file, plus the
main window at 480, 800 and 1280 px wide (``main-480.png`` …: the one-column layout beside a
DAW, and the full one).

Run:  python docs/screenshots/capture.py [--out DIR] [--only widths,main,…] [--samples N]

``--only`` picks shots: ``main``, ``widths``, ``search``, ``similar``, ``first_run``,
``settings``, ``scanning`` (default: all). tests/ui/test_screenshots.py runs
``--only widths`` into a temporary folder, so CI runs this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.preview.alsa_null import use_null_alsa

use_null_alsa()

from PySide6.QtCore import QEventLoop, QTimer
from pythonosc.udp_client import SimpleUDPClient

from companion.settings import Settings, SettingsStore
from companion.ui.app import application
from companion.ui.controller import AppController
from companion.ui.dialogs import KNOWN_LIBRARIES, FirstRunDialog, SettingsDialog
from companion.ui.main_window import MainWindow
from companion.ui.scan_process import ScanProcess

SONIC_PI = Path("/usr/share/sonic-pi/samples")
HERE = Path(__file__).resolve().parent
PICK = ("loop_", "bd_", "sn_", "bass_", "ambi_", "elec_", "drum_")
SHOTS = ("main", "widths", "search", "similar", "first_run", "settings", "scanning")
#: Window widths of the ``widths`` shots (px): one column beside a DAW, side panels, full.
WIDTHS = (480, 800, 1280)
HEIGHT = 800


def wait(ms: int) -> None:
    """Run the event loop for ``ms`` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(cond: Callable[[], bool], timeout_s: float = 60) -> bool:
    """Run the event loop until ``cond()`` holds or ``timeout_s`` seconds pass; returns it."""
    deadline = time.monotonic() + timeout_s
    while not cond() and time.monotonic() < deadline:
        wait(20)
    return cond()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--out DIR``, ``--only a,b``, ``--samples N``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the PNGs (default: next to this file)")
    parser.add_argument("--only", default=",".join(SHOTS), help=f"comma-separated shots of {', '.join(SHOTS)}")
    parser.add_argument("--samples", type=int, default=48, help="Sonic Pi samples to scan (default 48)")
    args = parser.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = args.only - set(SHOTS)
    if unknown:
        parser.error(f"unknown shots: {', '.join(sorted(unknown))} (choose from {', '.join(SHOTS)})")
    return args


def main(argv: list[str] | None = None) -> None:
    """Scan, open the window, save the PNGs asked for; prints the files saved."""
    args = parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    only: set[str] = args.only
    saved: list[Path] = []

    def save(widget: object, name: str) -> None:
        path = out / name
        widget.grab().save(str(path))  # type: ignore[attr-defined]
        saved.append(path)

    work = Path(tempfile.mkdtemp(prefix="companion-shots-"))
    samples = work / "Sonic Pi samples"
    samples.mkdir()
    files = [p for p in sorted(SONIC_PI.glob("*.flac")) if p.name.startswith(PICK)]
    for p in files[::2][: args.samples]:
        shutil.copy2(p, samples / p.name)
    db = work / "library.db"
    print(f"scanning {len(list(samples.iterdir()))} samples …", file=sys.stderr)
    ScanProcess(db, [str(samples)]).run()

    app = application()  # noqa: F841 - keeps the QApplication alive
    store = SettingsStore(
        work / "settings.json",
        environment=False,
        file_values={
            "folders": [str(samples)],
            "library_db": str(db),
            "first_run_done": True,
            "osc_port": 0,
            "watch_folders": True,
            "auto_preview": False,
        },
    )
    controller = AppController(store)
    window = MainWindow(controller)
    window.resize(1280, HEIGHT)
    window.show()
    controller.start()
    if not wait_for(lambda: window.latest is not None and controller.listener is not None):
        raise SystemExit("the window did not show suggestions within 60 s")
    listener = controller.listener
    assert listener is not None
    osc = SimpleUDPClient("127.0.0.1", listener.port)
    osc.send_message("/context/bpm", 124.0)
    osc.send_message("/context/key", "A minor")
    osc.send_message("/context/mood", ["dark"])
    wait_for(lambda: window.latest is not None and window.latest.context.bpm == 124.0)
    wait(1500)
    loops = [i for i, it in enumerate(window.model.items) if it.kind == "loop"]
    window.view.select_row(loops[0] if loops else 0)
    window.view.setFocus()

    if "main" in only:
        window.toggle_play()
        wait_for(lambda: "plays" in window.inspector.plan.text(), 30)
        controller.audition.stop()
        wait(1200)
        save(window, "main.png")

    if "widths" in only:
        for width in WIDTHS:
            window.resize(width, HEIGHT)
            wait_for(lambda w=width: window.width() == w, 5)
            wait(600)  # panels fold, the context bar re-flows, cards repaint
            save(window, f"main-{width}.png")
        window.resize(1280, HEIGHT)
        wait(300)

    if "search" in only:
        window.search.setText("bass")
        wait_for(lambda: window.showing == "search")
        wait(1200)
        save(window, "search.png")
        window.back_to_suggestions()

    if "similar" in only:
        window.view.select_row(0)
        window.more_like_current()
        wait_for(lambda: window.showing == "similar")
        wait(1200)
        save(window, "similar.png")
        window.back_to_suggestions()

    if "first_run" in only:
        first = FirstRunDialog(
            Settings(), controller.catalog_path, controller.store.path, list(KNOWN_LIBRARIES), window
        )
        first.folder_list.add_folder(str(SONIC_PI))
        first.show()
        wait(300)
        save(first, "first_run.png")
        first.close()

    if "settings" in only:
        from companion.preview.player import output_devices

        dialog = SettingsDialog(controller.settings.model_copy(update={"osc_port": 9137}), output_devices(), window)
        dialog.show()
        wait(300)
        save(dialog, "settings.png")
        dialog.close()

    if "scanning" in only:
        more = work / "new pack"
        more.mkdir()
        for p in files[1::2][:40]:
            shutil.copy2(p, more / p.name)
        controller.library.set_folders([str(samples), str(more)])
        window.library.set_folders([str(samples), str(more)])
        wait_for(lambda: window.library.progress.maximum() > 1 and window.library.progress.value() >= 8, 120)
        save(window, "scanning.png")
        wait_for(lambda: not controller.library.scanning, 300)

    window.close()
    shutil.rmtree(work, ignore_errors=True)
    print("saved:", ", ".join(str(p) for p in saved))


if __name__ == "__main__":
    main()
