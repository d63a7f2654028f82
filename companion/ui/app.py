"""Starting the desktop app: QApplication, theme, first run, main window, crash dialogs."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import cast

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from companion.settings import Settings, SettingsStore
from companion.ui.controller import AppController
from companion.ui.dialogs import KNOWN_LIBRARIES, FirstRunDialog
from companion.ui.main_window import MainWindow
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
    # PySide6 types instance() as QCoreApplication; in this process it is always a QApplication.
    app = cast("QApplication | None", QApplication.instance())
    if app is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv or sys.argv[:1])
        app.setApplicationName("SampleMind Companion")
        app.setOrganizationName("SampleMind")
        app.setDesktopFileName("io.samplemind.Companion")  # matches assets/io.samplemind.Companion.desktop
    apply_theme(app)
    return app


def run_first_run(window: MainWindow, settings: Settings) -> None:
    """Ask for sample folders (modal); saving them starts the first scan, and the CLAP model
    download when the producer ticked it."""
    controller = window.controller
    clap = controller.session.clap
    dlg = FirstRunDialog(
        settings,
        controller.catalog_path,
        controller.store.path,
        detected_libraries(),
        window,
        offer_model=clap is None or clap.embedder is None,
    )
    window.first_run_dialog = dlg
    if dlg.exec():
        chosen = dlg.result_settings()
        controller.edit_settings(watch_folders=chosen.watch_folders, first_run_done=True)
        window.library.set_folders(chosen.folders)
        window.library.watch.setChecked(chosen.watch_folders)
        controller.library.set_folders(chosen.folders)
        if dlg.wants_model():
            window.get_model()
    else:
        controller.edit_settings(first_run_done=True)


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


def run(
    library_db: Path | None = None,
    *,
    osc_port: int | None = None,
    no_osc: bool = False,
    prefs_file: Path | None = None,
    quit_after_ms: int | None = None,
) -> int:
    """Open the window and run the event loop. Returns the exit code.

    Args:
        library_db: catalog file, for this run only.
        osc_port / no_osc: the OSC listener's port, or no listener, for this run only (flags are
            never saved: :class:`~companion.settings.SettingsStore`).
        prefs_file: settings file (default ``<config dir>/settings.json``).
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
    store = SettingsStore(
        prefs_file,
        flags={
            "library_db": library_db,
            "osc_port": osc_port,
            "osc_enabled": False if no_osc else None,
        },
    )
    controller = AppController(store)
    window = MainWindow(controller)
    window.show()
    controller.start()
    if not store.settings.first_run_done:
        QTimer.singleShot(0, lambda: run_first_run(window, store.settings))
    if quit_after_ms is not None:
        QTimer.singleShot(quit_after_ms, window.close)
    code = app.exec()
    controller.shutdown()
    set_crash_notifier(None)
    return int(code)
