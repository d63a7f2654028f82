"""The library panel: sample folders, scanning with progress, watching, problems, data location."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)


def _title(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("SectionTitle")
    return label


class LibraryPanel(QFrame):
    """Folders, scan, watch and problems.

    Signals:
        folders_changed(list): the producer added or removed folders (absolute paths).
        scan_requested(): scan every folder now.
        cancel_requested(): stop the scan after the files in flight.
        watch_toggled(bool): watch folders for new files.
    """

    folders_changed = Signal(list)
    scan_requested = Signal()
    cancel_requested = Signal()
    watch_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibraryPanel")
        self.setMinimumWidth(250)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 14, 14, 14)
        lay.setSpacing(8)

        lay.addWidget(_title("Sample folders"))
        self.folders = QListWidget()
        self.folders.setMaximumHeight(130)
        self.folders.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.folders.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lay.addWidget(self.folders)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.remove_button = QPushButton("Remove")
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.watch = QCheckBox("Watch for new files")
        self.watch.setToolTip("New or changed files in these folders are analysed automatically")
        self.watch.toggled.connect(self.watch_toggled.emit)
        lay.addWidget(self.watch)

        lay.addSpacing(6)
        lay.addWidget(_title("Scan"))
        scan_row = QHBoxLayout()
        self.scan_button = QPushButton("Scan now")
        self.scan_button.setObjectName("Primary")
        self.scan_button.clicked.connect(self.scan_requested.emit)
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.cancel_button.setEnabled(False)
        scan_row.addWidget(self.scan_button)
        scan_row.addWidget(self.cancel_button)
        scan_row.addStretch(1)
        lay.addLayout(scan_row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFixedHeight(6)
        self.progress.setTextVisible(False)
        lay.addWidget(self.progress)
        self.progress_text = QLabel("")
        self.progress_text.setObjectName("Dim")
        self.progress_text.setWordWrap(True)
        lay.addWidget(self.progress_text)

        lay.addSpacing(6)
        lay.addWidget(_title("Library"))
        self.stats = QLabel("—")
        self.stats.setObjectName("Dim")
        self.stats.setWordWrap(True)
        lay.addWidget(self.stats)

        lay.addSpacing(6)
        self.problems_title = _title("Problems")
        lay.addWidget(self.problems_title)
        self.problems = QTreeWidget()
        self.problems.setHeaderLabels(["File", "Reason"])
        self.problems.setRootIsDecorated(False)
        self.problems.setColumnWidth(0, 120)
        self.problems.setVisible(False)
        lay.addWidget(self.problems, 1)
        self.no_problems = QLabel("None — every file was read.")
        self.no_problems.setObjectName("Faint")
        lay.addWidget(self.no_problems)
        self.spacer = QWidget()
        lay.addWidget(self.spacer, 1)

        self.data_location = QLabel("")
        self.data_location.setObjectName("Faint")
        self.data_location.setWordWrap(True)
        self.data_location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.data_location)

    # ------------------------------------------------------------------ state
    def set_folders(self, folders: list[str]) -> None:
        """Show the folder list (no signal)."""
        self.folders.clear()
        for f in folders:
            self.folders.addItem(f)
            self.folders.item(self.folders.count() - 1).setToolTip(f)
        self.scan_button.setEnabled(bool(folders) and not self.cancel_button.isEnabled())

    def folder_list(self) -> list[str]:
        """The folders shown."""
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def set_scanning(self, scanning: bool) -> None:
        """Enable Stop while a scan runs, Scan otherwise."""
        self.cancel_button.setEnabled(scanning)
        self.scan_button.setEnabled(not scanning and self.folders.count() > 0)
        if scanning:
            self.progress.setRange(0, 0)  # busy until the first count arrives
            self.progress_text.setText("Finding files…")

    def show_progress(self, phase: str, done: int, total: int | None, path: str | None) -> None:
        """Show one progress report of the scanner: ``phase`` is ``index``, ``analyse``, ``embed``
        or ``vectors``; ``done`` of ``total`` files (None: not known yet); ``path`` the latest file.
        The text always names the phase, e.g. "Finding files… 120 found", "Analysing 35 / 480"."""
        name = path.rsplit("/", 1)[-1] if path else ""
        if phase == "index":
            self.progress.setRange(0, 0)
            self.progress_text.setText(f"Finding files… {done} found")
        elif phase in ("analyse", "embed") and total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            verb = "Analysing" if phase == "analyse" else "Embedding for text search"
            self.progress_text.setText(f"{verb} {done} / {total}" + (f"  ·  {name}" if name else ""))
        elif phase == "vectors":
            self.progress.setRange(0, 0)
            self.progress_text.setText("Updating the similarity index…")
        else:
            self.progress.setRange(0, 0)
            self.progress_text.setText(f"{phase.capitalize()}… {done}" + (f" / {total}" if total else ""))

    def show_done(self, text: str) -> None:
        """The scan ended: full bar and a summary."""
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress_text.setText(text)

    def show_stats(self, stats: dict[str, Any], problems: list[dict[str, Any]]) -> None:
        """Counts and the problem list."""
        by_kind = stats.get("by_kind", {})
        by_status = stats.get("by_status", {})
        parts = [f"{stats.get('samples', 0)} samples"]
        if by_kind:
            parts.append(", ".join(f"{n} {k}s" for k, n in sorted(by_kind.items())))
        pending = by_status.get("pending", 0)
        if pending:
            parts.append(f"{pending} waiting for analysis")
        missing = by_status.get("missing", 0)
        if missing:
            parts.append(f"{missing} missing on disk")
        self.stats.setText("\n".join(parts))
        self.problems_title.setText(f"PROBLEMS ({len(problems)})" if problems else "PROBLEMS")
        self.problems.clear()
        self.problems.setVisible(bool(problems))
        self.no_problems.setVisible(not problems)
        self.spacer.setVisible(not problems)
        for p in problems[:500]:
            name = p["path"].rsplit("/", 1)[-1]
            it = QTreeWidgetItem([name, p["reason"]])
            it.setToolTip(0, p["path"])
            it.setToolTip(1, f"{p['stage']}: {p['reason']}")
            self.problems.addTopLevelItem(it)

    def set_data_location(self, catalog: str, prefs: str) -> None:
        """Where the data lives."""
        self.data_location.setText(f"Catalog: {catalog}\nSettings: {prefs}")

    # ------------------------------------------------------------------ folder edits
    def _add(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a sample folder")
        if folder and folder not in self.folder_list():
            self.folders.addItem(folder)
            self.folders_changed.emit(self.folder_list())

    def _remove(self) -> None:
        row = self.folders.currentRow()
        if row >= 0:
            self.folders.takeItem(row)
            self.folders_changed.emit(self.folder_list())
