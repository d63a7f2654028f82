"""The CLAP model download on screen: repository, each file and its size, a progress bar in
bytes, one status line, Cancel / Try again.

:class:`ModelFetchPanel` follows a :class:`~companion.ui.model_fetch.ModelAdapter`; the Settings
dialog embeds one under its model field, and :class:`ModelFetchDialog` (modeless) holds one for
the window's "Get the model…" actions. Closing either leaves the download running; the status
bar says how it ended.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from companion.ui.model_fetch import CANCELLABLE, FetchState, ModelAdapter

#: Steps of the progress bar (bytes are scaled to it: a model can pass 2 GiB, a bar's int limit).
BAR_STEPS = 1000


def megabytes(size: int) -> str:
    """``"104.6 MB"``; ``"< 0.1 MB"`` for small files."""
    return f"{size / 1e6:.1f} MB" if size >= 50_000 else "< 0.1 MB"


def file_lines(state: FetchState) -> list[str]:
    """One line per file: ``"✓ onnx/audio_model.onnx  104.6 MB"`` (✓ done, ↓ downloading, · to come)."""
    lines, end = [], 0
    for path, size in state.files:
        end += size
        mark = "✓" if state.done >= end else "↓" if path == state.current else "·"
        lines.append(f"{mark} {path}  {megabytes(size)}")
    return lines


class ModelFetchPanel(QWidget):
    """Shows one model download and offers Cancel (while downloading) and Try again (after a
    failure or a cancel).

    Args:
        models: the controller's model adapter (its current state is shown at once).
    """

    def __init__(self, models: ModelAdapter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.repo = QLabel()
        self.repo.setObjectName("Dim")
        lay.addWidget(self.repo)
        self.files = QLabel()
        self.files.setObjectName("Faint")
        lay.addWidget(self.files)
        self.bar = QProgressBar()
        self.bar.setRange(0, BAR_STEPS)
        lay.addWidget(self.bar)
        row = QHBoxLayout()
        self.status = QLabel()
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(models.cancel)
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(lambda: models.fetch(models.state.repo))
        row.addWidget(self.cancel_button)
        row.addWidget(self.retry_button)
        lay.addLayout(row)
        models.changed.connect(self.show_state)
        self.show_state(models.state)

    def show_state(self, state: FetchState) -> None:
        """Redraw for ``state``."""
        self.repo.setText(f"{state.repo}  ·  from {state.hub}")
        self.files.setText("\n".join(file_lines(state)))
        self.files.setVisible(bool(state.files))
        if state.total:
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(min(BAR_STEPS, round(BAR_STEPS * state.done / state.total)))
            self.bar.setFormat(f"{state.done / 1e6:.1f} of {state.total / 1e6:.1f} MB")
        elif state.running:
            self.bar.setRange(0, 0)  # busy until the sizes are known
        else:
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(0)
            self.bar.setFormat("")
        self.status.setText(state.text)
        self.cancel_button.setVisible(state.running)
        self.cancel_button.setEnabled(state.stage in CANCELLABLE)
        self.retry_button.setVisible(state.stage in ("failed", "cancelled"))


class ModelFetchDialog(QDialog):
    """Modeless: the CLAP model download beside the window; Close hides it (the download goes on).

    Args:
        models: the controller's model adapter.
    """

    def __init__(self, models: ModelAdapter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Get the CLAP model")
        self.setModal(False)
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 16)
        intro = QLabel(
            "A CLAP model lets you search by describing a sound and makes mood and genre match how "
            "samples sound, not only their names. It is downloaded from the Hugging Face Hub, "
            "checked against its checksums and installed for this user."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.panel = ModelFetchPanel(models, self)
        lay.addWidget(self.panel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.hide)
        lay.addWidget(buttons)
