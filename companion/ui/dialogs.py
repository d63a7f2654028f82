"""First-run and settings dialogs: they edit a copy of the :class:`~companion.settings.Settings`;
the caller saves and applies it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from companion.preview.player import OutputDevice
from companion.settings import Settings
from companion.ui.model_dialog import ModelFetchPanel

if TYPE_CHECKING:
    from companion.ui.model_fetch import ModelAdapter

#: Libraries offered with one click on the first run when they are installed.
KNOWN_LIBRARIES = (
    ("Sonic Pi samples", "/usr/share/sonic-pi/samples"),
    ("LMMS samples", "/usr/share/lmms/samples"),
)


class FolderList(QWidget):
    """A list of folders with Add… and Remove."""

    def __init__(self, folders: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setMinimumHeight(90)
        self.list.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for f in folders:
            self.list.addItem(f)
        lay.addWidget(self.list)
        row = QHBoxLayout()
        add = QPushButton("Add folder…")
        add.clicked.connect(self._browse)
        remove = QPushButton("Remove")
        remove.clicked.connect(lambda: self.list.takeItem(self.list.currentRow()))
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        lay.addLayout(row)

    def add_folder(self, folder: str) -> None:
        """Add a folder (once)."""
        folder = str(Path(folder).expanduser())
        if folder and folder not in self.folders():
            self.list.addItem(folder)

    def folders(self) -> list[str]:
        """The folders listed."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a sample folder")
        if folder:
            self.add_folder(folder)


class FirstRunDialog(QDialog):
    """Welcome: pick sample folders, see where data lives, start the first scan.

    Args:
        prefs: current settings (folders pre-filled).
        catalog_path / prefs_path: shown so the producer knows where the data lives.
        detected: ``(label, folder)`` libraries found on this machine, offered with one click.
        offer_model: offer to download the CLAP model too (:attr:`get_model`, off by default:
            the first run never downloads unasked).
    """

    def __init__(
        self,
        prefs: Settings,
        catalog_path: Path,
        prefs_path: Path,
        detected: list[tuple[str, str]] | None = None,
        parent: QWidget | None = None,
        *,
        offer_model: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to SampleMind Companion")
        self.setMinimumWidth(560)
        self._prefs = prefs
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 20, 24, 20)
        lay.setSpacing(12)
        title = QLabel("Which folders hold your samples?")
        title.setObjectName("InspectorTitle")
        lay.addWidget(title)
        intro = QLabel(
            "The companion analyses every file once (tempo, key, loop or one-shot, loudness) and then "
            "suggests what fits your session. Nothing leaves this computer unless you set up sync."
        )
        intro.setWordWrap(True)
        intro.setObjectName("Dim")
        lay.addWidget(intro)
        self.folder_list = FolderList(prefs.folders)
        lay.addWidget(self.folder_list)
        self.quick_buttons: dict[str, QPushButton] = {}
        if detected:
            quick = QHBoxLayout()
            quick.addWidget(QLabel("Found on this computer:"))
            for label, folder in detected:
                b = QPushButton(f"+ {label}")
                b.setToolTip(folder)
                b.clicked.connect(lambda _=False, f=folder: self.folder_list.add_folder(f))
                quick.addWidget(b)
                self.quick_buttons[label] = b
            quick.addStretch(1)
            lay.addLayout(quick)
        self.watch = QCheckBox("Watch these folders and analyse new files automatically")
        self.watch.setChecked(prefs.watch_folders)
        lay.addWidget(self.watch)
        self.get_model = QCheckBox("Also download the CLAP model: search by describing a sound")
        self.get_model.setChecked(False)
        self.get_model.setVisible(offer_model)
        self._offer_model = offer_model
        lay.addWidget(self.get_model)
        model_note = QLabel("Several hundred MB from the Hugging Face Hub; Settings can get it later too.")
        model_note.setObjectName("Faint")
        model_note.setWordWrap(True)
        model_note.setContentsMargins(24, 0, 0, 0)
        model_note.setVisible(offer_model)
        lay.addWidget(model_note)
        where = QLabel(f"Your library catalog: {catalog_path}\nSettings: {prefs_path}")
        where.setObjectName("Faint")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(where)
        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton("Start scanning", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("Primary")
        self.later_button = buttons.addButton("Later", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def wants_model(self) -> bool:
        """True when the producer asked for the CLAP model download too."""
        return self._offer_model and self.get_model.isChecked()

    def result_settings(self) -> Settings:
        """The settings with the chosen folders; ``first_run_done`` set."""
        return self._prefs.model_copy(
            update={
                "folders": self.folder_list.folders(),
                "watch_folders": self.watch.isChecked(),
                "first_run_done": True,
            }
        )


class SettingsDialog(QDialog):
    """Folders, OSC, audio device, model, sync, mode.

    Args:
        prefs: current settings.
        devices: output devices to offer (listed by the caller off the GUI thread).
        overridden: fields this run takes from a flag or the environment (``name -> "flag" |
            "environment"``); their rows say so, as an edit there replaces that value for good.
        models: the controller's model adapter: a "Get the model…" button beside the model
            field downloads the CLAP model, with its progress shown below the field.
    """

    def __init__(
        self,
        prefs: Settings,
        devices: list[OutputDevice],
        parent: QWidget | None = None,
        *,
        overridden: dict[str, str] | None = None,
        models: ModelAdapter | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._prefs = prefs
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 16)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setVerticalSpacing(10)

        self.folder_list = FolderList(prefs.folders)
        form.addRow("Sample folders", self.folder_list)
        self.watch = QCheckBox("Analyse new files automatically")
        self.watch.setChecked(prefs.watch_folders)
        form.addRow("", self.watch)

        self.osc_enabled = QCheckBox("Listen for the DAW over OSC")
        self.osc_enabled.setChecked(prefs.osc_enabled)
        form.addRow("DAW", self.osc_enabled)
        self.osc_port = QSpinBox()
        self.osc_port.setRange(0, 65535)
        self.osc_port.setSpecialValueText("any free port")
        self.osc_port.setValue(prefs.osc_port)
        self.osc_host = QComboBox()
        self.osc_host.addItems(["127.0.0.1", "0.0.0.0"])
        self.osc_host.setCurrentText(prefs.osc_host)
        self.osc_host.setToolTip("0.0.0.0 accepts a DAW on another computer")
        osc_row = QHBoxLayout()
        osc_row.addWidget(QLabel("UDP port"))
        osc_row.addWidget(self.osc_port)
        osc_row.addWidget(QLabel("on"))
        osc_row.addWidget(self.osc_host)
        osc_row.addStretch(1)
        form.addRow("", osc_row)
        self.link = QCheckBox("Follow Ableton Link (tempo, play state)")
        self.link.setChecked(prefs.link)
        self.abletonosc = QCheckBox("Follow Ableton Live through AbletonOSC")
        self.abletonosc.setChecked(prefs.abletonosc)
        form.addRow("", self.link)
        form.addRow("", self.abletonosc)
        over = overridden or {}
        for name, widget in (
            ("osc_enabled", self.osc_enabled),
            ("osc_port", self.osc_port),
            ("osc_host", self.osc_host),
            ("link", self.link),
            ("abletonosc", self.abletonosc),
        ):
            if name in over:
                source = "flag" if over[name] == "flag" else "environment variable"
                widget.setToolTip(f"Set by a {source} for this run only; a change here is saved")

        self.device = QComboBox()
        self.device.addItem("System default", None)
        for d in devices:
            self.device.addItem(d.label + ("  (default)" if d.is_default else ""), d.name)
        idx = self.device.findData(prefs.audio_device)
        self.device.setCurrentIndex(max(0, idx))
        form.addRow("Audio output", self.device)
        self.follow_tempo = QCheckBox("Play loops in the project tempo")
        self.follow_tempo.setChecked(prefs.follow_tempo)
        self.follow_key = QCheckBox("Play pitched samples in the project key")
        self.follow_key.setChecked(prefs.follow_key)
        self.auto_preview = QCheckBox("Arrow keys audition the next suggestion")
        self.auto_preview.setChecked(prefs.auto_preview)
        form.addRow("Audition", self.follow_tempo)
        form.addRow("", self.follow_key)
        form.addRow("", self.auto_preview)

        self.model_dir = QLineEdit(str(prefs.clap_model_dir or ""))
        self.model_dir.setPlaceholderText("none: fingerprint similarity, name and tag search")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_dir, 1)
        model_row.addWidget(browse)
        form.addRow("CLAP model", model_row)
        self._model_row = form.rowCount() - 1
        self._models = models
        self.fetch_panel: ModelFetchPanel | None = None
        if models is not None:
            self.get_model_button = QPushButton("Get the model…")
            self.get_model_button.setToolTip("Download the CLAP model from the Hugging Face Hub and use it")
            self.get_model_button.clicked.connect(self._get_model)
            model_row.addWidget(self.get_model_button)
            self._model_form = form
            models.finished.connect(self._model_fetched)
            if models.running:
                self._show_fetch_panel()

        self.sync_url = QLineEdit(prefs.sync_url or "")
        self.sync_url.setPlaceholderText("http://localhost:8765 (empty: no sync)")
        self.sync_token = QLineEdit(prefs.sync_token or "")
        self.sync_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.sync_token.setPlaceholderText("token from samplemind-hub token create")
        form.addRow("Sync server", self.sync_url)
        form.addRow("Sync token", self.sync_token)

        self.mode = QComboBox()
        self.mode.addItem("Fusion: similarity + rules", "fusion")
        self.mode.addItem("Rules only", "rules")
        self.mode.setCurrentIndex(0 if prefs.recommendation_mode == "fusion" else 1)
        form.addRow("Ranking", self.mode)
        self.top_k = QSpinBox()
        self.top_k.setRange(5, 200)
        self.top_k.setValue(prefs.top_k)
        form.addRow("Suggestions shown", self.top_k)
        lay.addLayout(form)

        note = QLabel("Port, model and sync changes apply when you press OK.")
        note.setObjectName("Faint")
        lay.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _show_fetch_panel(self) -> None:
        if self.fetch_panel is None and self._models is not None:
            self.fetch_panel = ModelFetchPanel(self._models, self)
            self._model_form.insertRow(self._model_row + 1, "", self.fetch_panel)

    def _get_model(self) -> None:
        """Download the CLAP model (progress below the field; the dialog may close meanwhile)."""
        assert self._models is not None
        self._models.fetch()
        self._show_fetch_panel()

    def _model_fetched(self, ok: bool, _text: str) -> None:
        if ok:  # the fetched model is installed as the default and used: no folder to name
            self.model_dir.clear()

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of an exported CLAP model")
        if folder:
            self.model_dir.setText(folder)

    def result_settings(self) -> Settings:
        """The edited settings (a validated copy)."""
        model_dir = self.model_dir.text().strip()
        return self._prefs.model_copy(
            update={
                "folders": self.folder_list.folders(),
                "watch_folders": self.watch.isChecked(),
                "osc_enabled": self.osc_enabled.isChecked(),
                "osc_port": self.osc_port.value(),
                "osc_host": self.osc_host.currentText(),
                "link": self.link.isChecked(),
                "abletonosc": self.abletonosc.isChecked(),
                "audio_device": self.device.currentData(),
                "follow_tempo": self.follow_tempo.isChecked(),
                "follow_key": self.follow_key.isChecked(),
                "auto_preview": self.auto_preview.isChecked(),
                "clap_model_dir": Path(model_dir) if model_dir else None,
                "sync_url": self.sync_url.text().strip() or None,
                "sync_token": self.sync_token.text().strip() or None,
                "recommendation_mode": self.mode.currentData(),
                "top_k": self.top_k.value(),
            }
        )
