"""Starting the desktop app: QApplication, theme, first run, main window, crash dialogs."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from companion.ui.controller import AppController
from companion.ui.dialogs import KNOWN_LIBRARIES, FirstRunDialog
from companion.ui.main_window import MainWindow
from companion.ui.preferences import Preferences, load_preferences, preferences_path
from companion.ui.theme import apply_theme

log = logging.getLogger(__name__)


def detected_libraries() -> list[tuple[str, str]]:
    """Sample libraries installed on this machine (offered on the first run)."""
    return [(label, folder) for label, folder in KNOWN_LIBRARIES if os.path.isdir(folder)]


#: How often a Python thread holding the GIL hands it over when another thread waits (s).
#: CPython's default is 5 ms; with ranking, thumbnails and telemetry on worker threads, 1 ms
#: lets the GUI thread back in sooner after a queued signal wakes it.
GIL_SWITCH_INTERVAL_S = 0.001


def application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), themed; the GIL switch interval lowered for the GUI."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app = QApplication.instance()
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv or sys.argv[:1])
        app.setApplicationName("SampleMind Companion")
        app.setOrganizationName("SampleMind")
        app.setDesktopFileName("io.samplemind.Companion")  # matches assets/io.samplemind.Companion.desktop
    apply_theme(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def run_first_run(window: MainWindow, prefs: Preferences) -> None:
    """Ask for sample folders (modal); saving them starts the first scan."""
    controller = window.controller
    dlg = FirstRunDialog(prefs, controller.catalog_path, controller.prefs_file, detected_libraries(), window)
    window.first_run_dialog = dlg
    if dlg.exec():
        chosen = dlg.result_preferences()
        controller.prefs = replace(controller.prefs, watch_folders=chosen.watch_folders, first_run_done=True)
        window.library.set_folders(chosen.folders)
        window.library.watch.setChecked(chosen.watch_folders)
        controller.set_folders(chosen.folders)
    else:
        controller.prefs.first_run_done = True
        controller.save_prefs()


class _CrashRelay(QObject):
    """Shows crash reports from any thread as a message box on the GUI thread."""

    show = Signal(object)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.show.connect(self._show, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _show(self, report: object) -> None:
        title = getattr(report, "title", "SampleMind Companion")
        error = getattr(report, "error", str(report))
        where = getattr(report, "report_path", None) or getattr(report, "log_path", None)
        text = error + (f"\n\nDetails: {where}" if where else "")
        QMessageBox.warning(None, title, text)


def run(library_db: Path | None = None, *, osc_port: int | None = None, no_osc: bool = False,
        prefs_file: Path | None = None, quit_after_ms: int | None = None) -> int:
    """Open the window and run the event loop. Returns the exit code.

    Args:
        library_db: catalog file (overrides the preferences).
        osc_port / no_osc: override the OSC listener settings for this run.
        prefs_file: preferences file (default ``<data dir>/gui.json``).
        quit_after_ms: close after this long (smoke tests).
    """
    from companion.logging_setup import (
        install_excepthook,
        set_crash_notifier,
        setup_logging,
    )

    setup_logging()
    install_excepthook()
    app = application()
    relay = _CrashRelay(app)
    set_crash_notifier(lambda report: relay.show.emit(report))
    prefs_file = prefs_file or preferences_path()
    prefs = load_preferences(prefs_file)
    if library_db is not None:
        prefs.library_db = str(library_db)
    if osc_port is not None:
        prefs.osc_port = osc_port
    if no_osc:
        prefs.osc_enabled = False
    controller = AppController(prefs, prefs_file=prefs_file)
    window = MainWindow(controller)
    window.show()
    controller.start()
    if not prefs.first_run_done:
        QTimer.singleShot(0, lambda: run_first_run(window, prefs))
    if quit_after_ms is not None:
        QTimer.singleShot(quit_after_ms, window.close)
    code = app.exec()
    controller.shutdown()
    set_crash_notifier(None)
    return int(code)
