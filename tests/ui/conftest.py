"""Desktop-app tests: pytest-qt offscreen, a real scanned catalog, real audio on ALSA null.

* ``QT_QPA_PLATFORM=offscreen`` is set before Qt loads, so no display is needed.
* ALSA's default PCM becomes a null sink (``tests/preview/alsa_null.py``), so auditions play
  through a real sounddevice/PortAudio stream on a machine with no sound card.
* A small library (Sonic Pi loops and one-shots) is scanned once per session into a template
  catalog; each test gets its own copy (catalog + vector index), so tests can ban, pin and
  correct freely.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.preview.alsa_null import use_null_alsa

use_null_alsa()

from companion.library.catalog import Catalog
from companion.music.keys import parse_key
from companion.ui.scan_process import ScanProcess

#: The test library: Sonic Pi loops and one-shots (Debian package sonic-pi-samples).
LIBRARY_FILES = (
    "loop_amen.flac",
    "loop_breakbeat.flac",
    "loop_garzul.flac",
    "loop_mika.flac",
    "loop_safari.flac",
    "loop_tabla.flac",
    "loop_industrial.flac",
    "bd_haus.flac",
    "sn_dolf.flac",
    "ambi_piano.flac",
    "bass_hit_c.flac",
    "elec_blip.flac",
)
#: Tempo and key of the loops, stored as the producer's corrections so that the tests do not
#: depend on what the analyser estimates (that is tested in tests/analysis).
LOOP_FACTS = {
    "loop_amen.flac": (137.0, None),
    "loop_breakbeat.flac": (126.0, None),
    "loop_garzul.flac": (120.0, None),
    "loop_mika.flac": (120.0, "F# minor"),
    "loop_safari.flac": (160.0, "Db major"),
    "loop_tabla.flac": (90.0, "Bb major"),
    "loop_industrial.flac": (76.0, None),
}


@pytest.fixture(scope="session")
def scanned_library(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path) -> tuple[Path, Path]:
    """``(sample folder, template catalog)``: the test library, scanned once."""
    root = tmp_path_factory.mktemp("ui-library")
    folder = root / "samples"
    folder.mkdir()
    for name in LIBRARY_FILES:
        shutil.copy2(sonic_pi / name, folder / name)
    db = root / "template" / "library.db"
    # a spawned process, as the app scans: forking this (threaded) test process could deadlock
    report = ScanProcess(db, [str(folder)], workers=2).run()
    assert report.analysed == len(LIBRARY_FILES), report
    with Catalog.open(db) as catalog:
        for name, (bpm, key) in LOOP_FACTS.items():
            catalog.set_override(folder / name, bpm=bpm, key=parse_key(key) if key else None, kind="loop")
    return folder, db


@pytest.fixture()
def library_db(tmp_path: Path, scanned_library: tuple[Path, Path]) -> Path:
    """A private copy of the scanned catalog (with its vector index)."""
    _, template = scanned_library
    target = tmp_path / "catalog" / "library.db"
    target.parent.mkdir()
    for f in template.parent.iterdir():
        if f.is_dir():
            shutil.copytree(f, target.parent / f.name)
        else:
            shutil.copy2(f, target.parent / f.name)
    return target


@pytest.fixture()
def make_window(qtbot, tmp_path: Path, library_db: Path, scanned_library) -> Iterator[Callable[..., object]]:
    """Build a started main window on the test catalog; closed (and its services stopped) after."""
    from companion.settings import SettingsStore
    from companion.ui.controller import AppController
    from companion.ui.main_window import MainWindow

    windows = []

    def make(*, wait_for_list: bool = True, **overrides: object) -> MainWindow:
        folder, _ = scanned_library
        fields = dict(
            folders=[str(folder)],
            library_db=str(library_db),
            first_run_done=True,
            osc_port=0,
            watch_folders=False,
            auto_preview=False,
        )
        fields.update(overrides)
        store = SettingsStore(tmp_path / "settings.json", environment=False, file_values=fields)
        controller = AppController(store)
        window = MainWindow(controller)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if wait_for_list:
            with qtbot.waitSignal(controller.suggestions_ready, timeout=20000):
                controller.start()
            wait_until(qtbot, lambda: window.latest is not None)  # shown one event-loop turn later
        else:
            controller.start()
        return window

    yield make
    for w in windows:
        w.close()


def events(db: Path, event_type: str | None = None) -> list[tuple]:
    """``(type, sample_id, metadata_json)`` rows of the events table, oldest first."""
    with Catalog.open(db) as catalog:
        sql = "SELECT type, sample_id, metadata_json FROM events"
        args: tuple = ()
        if event_type is not None:
            sql += " WHERE type = ?"
            args = (event_type,)
        return catalog.conn.execute(sql + " ORDER BY created_at", args).fetchall()


def wait_until(qtbot, condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Process Qt events until ``condition()`` holds (fails after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        qtbot.wait(20)
