"""Getting the CLAP model from the window: "Get the CLAP model…" beside the list header, the
Settings button and the first-run checkbox download it in a child process (``companion models
fetch --progress-json``) from a real HTTP server speaking the Hub's protocol
(:class:`tests.clap.fakehub.FakeHub`, reached through ``HF_ENDPOINT``), the session loads it and
a library scan embeds the samples with it; Cancel, an unreachable hub and a corrupt file install
nothing and leave no part files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer

from companion.embedding.clap.fetch import DEFAULT_REPO, staging_dir
from companion.embedding.clap.manifest import Manifest
from companion.embedding.clap.store import installed, models_root
from companion.library.catalog import Catalog
from companion.ui import app as app_module
from companion.ui.model_fetch import CANCELLED_TEXT, CORRUPT_TEXT, OFFLINE_TEXT, PREPARING_NOTE, FetchState
from tests.clap.fakehub import FakeHub, folder_files
from tests.ui.conftest import wait_until

pytest.importorskip("huggingface_hub")


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Path) -> Iterator[FakeHub]:
    """The tiny model published as the default repository, on a hub the app reaches through
    ``HF_ENDPOINT``; models install into this test's own data dir."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("RECS_CLAP_MODEL_DIR", raising=False)
    server = FakeHub()
    server.repos[DEFAULT_REPO] = folder_files(tiny_model)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.close()


def _nothing_left() -> bool:
    """No model installed and nothing under the models root (no part files, no staging)."""
    root = models_root()
    return installed() == [] and not staging_dir().exists() and (not root.exists() or not any(root.iterdir()))


def _search(qtbot, window, text: str) -> str:
    window.search.clear()
    with qtbot.waitSignal(window.controller.results_ready, timeout=10000):
        qtbot.keyClicks(window.search, text)
    wait_until(qtbot, lambda: window.showing == "search")
    return window.header.text()


def test_get_the_model_from_the_window(qtbot, make_window, hub, tiny_model, library_db):
    name = Manifest.read(tiny_model).name
    window = make_window()
    c = window.controller
    assert c.engine.text_embedder is None and window.clap_note() is not None
    assert window.get_model_button.isVisible()
    assert "No CLAP model installed" in _search(qtbot, window, "loop")

    states: list[FetchState] = []
    c.models.changed.connect(states.append)
    notes: list[tuple[str | None, bool]] = []  # what the window says of search when the fetch ends; scanning?
    c.models.finished.connect(lambda _ok, _text: notes.append((window.clap_note(), c.library.scanning)))
    scans: list[tuple[object, object]] = []
    c.scan_finished.connect(lambda report, error: scans.append((report, error)))
    embedding: list[str] = []
    c.scan_progress.connect(
        lambda p: embedding.append(window.library.progress_text.text()) if p.phase == "embed" else None
    )
    with qtbot.waitSignal(c.models.finished, timeout=30000) as finished:
        qtbot.mouseClick(window.get_model_button, Qt.MouseButton.LeftButton)
        assert window.model_dialog is not None and window.model_dialog.isVisible()  # modeless: returns at once
    assert finished.args == [
        True,
        f"installed {name} — preparing your library for search by sound (progress in the library panel); "
        "until then search matches names and tags",
    ]
    assert notes == [(PREPARING_NOTE, True)]  # the library has no vectors of the model yet: a scan makes them

    # progress in bytes, against a total known from the start
    manifest = Manifest.read(tiny_model)
    sizes = {f.path: f.bytes for f in manifest.files.values()}
    planned = [s for s in states if s.files]
    assert planned and dict(planned[0].files) == sizes and planned[0].total == sum(sizes.values())
    done = [s.done for s in states if s.stage == "download"]
    assert done == sorted(done) and done[-1] == planned[0].total and any(0 < d < planned[0].total for d in done)
    assert [s.stage for s in states][-3:] == ["install", "loading", "done"]
    panel = window.model_dialog.panel
    assert panel.bar.value() == panel.bar.maximum() and panel.bar.format().endswith(
        f"{sum(sizes.values()) / 1e6:.1f} MB"
    )
    assert f"✓ audio_encoder.onnx  {sizes['audio_encoder.onnx'] / 1e6:.1f} MB" in panel.files.text()
    assert panel.status.text() == finished.args[1] and not panel.cancel_button.isVisible()
    assert window.statusBar().currentMessage() == finished.args[1]

    # installed, and the session uses it; a scan embeds the library, then search goes through CLAP
    assert [m.name for m in installed()] == [name] and not staging_dir().exists()
    assert c.engine.text_embedder is not None and c.engine.text_embedder.folder == installed()[0].path
    wait_until(qtbot, lambda: bool(scans), timeout_s=120)
    report, error = scans[0]
    assert error is None and report.new == 0 and report.analysed == 0 and report.embedded == 12, report
    assert embedding and embedding[-1].startswith("Embedding for text search 12 / 12")
    with Catalog.open(library_db) as catalog:  # every analysed sample has a vector of the model
        assert catalog.embedding_coverage()[c.engine.text_embedder.space] == (12, 12)
    wait_until(qtbot, lambda: "through CLAP" in window.header.text())  # the search shown ran again
    assert window.clap_note() is None and not window.get_model_button.isVisible()
    assert window.context_bar.boxes["mood"].caption.text() == "MOOD"
    assert window.model.items[0].source == "clap"


def test_cancel_mid_download_installs_nothing(qtbot, make_window, hub):
    for path in hub.repos[DEFAULT_REPO]:
        hub.slow[(DEFAULT_REPO, path)] = 0.2  # 16 KiB every 0.2 s: the first file takes a while
    window = make_window()
    c = window.controller
    window.get_model()
    panel = window.model_dialog.panel
    # part of a file is here, and the window has read the download plan (the child may write
    # the first bytes before the window reads its "plan" line)
    wait_until(qtbot, lambda: list(staging_dir().rglob("*.incomplete")) and c.models.state.stage == "download")
    assert c.models.state.total > 0
    assert panel.cancel_button.isEnabled()
    with qtbot.waitSignal(c.models.finished, timeout=10000) as finished:
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert finished.args == [False, CANCELLED_TEXT]
    assert _nothing_left()
    assert panel.status.text() == CANCELLED_TEXT and panel.retry_button.isVisible()
    # the window still works, still on the fingerprint embedding
    assert c.engine.text_embedder is None and window.get_model_button.isVisible()
    assert "No CLAP model installed" in _search(qtbot, window, "amen") and window.model.rowCount() >= 1


def test_offline_says_so_in_one_line(qtbot, make_window, hub, monkeypatch):
    """Asked for on the first run (off unless ticked); the hub's port is closed."""
    hub.close()
    monkeypatch.setattr(app_module, "detected_libraries", list)
    window = make_window()
    c = window.controller

    def answer() -> None:
        dlg = window.first_run_dialog
        assert dlg.get_model.isVisible() and not dlg.get_model.isChecked()  # never downloads unasked
        dlg.get_model.setChecked(True)
        qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(200, answer)
    with qtbot.waitSignal(c.models.finished, timeout=20000) as finished:
        app_module.run_first_run(window, c.settings)
    assert finished.args == [False, OFFLINE_TEXT]
    assert window.model_dialog.panel.status.text() == OFFLINE_TEXT
    assert window.statusBar().currentMessage() == OFFLINE_TEXT
    assert _nothing_left()
    assert window.clap_note() is not None and "No CLAP model installed" in _search(qtbot, window, "amen")


def test_corrupt_download_from_settings_installs_nothing(qtbot, make_window, hub, tmp_path):
    hub.corrupt.add((DEFAULT_REPO, "text_encoder.onnx"))
    window = make_window(clap_model_dir=str(tmp_path / "no-model-here"))
    c = window.controller
    seen: dict[str, object] = {}

    def fetch_in_settings() -> None:
        dlg = window.settings_dialog
        if dlg.fetch_panel is not None:  # closes the dialog on a failed check instead of hanging
            dlg.reject()
        qtbot.mouseClick(dlg.get_model_button, Qt.MouseButton.LeftButton)

        def ended(ok: bool, text: str) -> None:
            panel = dlg.fetch_panel
            seen.update(ok=ok, text=text, field=dlg.model_dir.text())
            seen.update(shown=panel.status.text() if panel is not None and panel.isVisible() else None)
            dlg.reject()

        c.models.finished.connect(ended)

    QTimer.singleShot(300, fetch_in_settings)
    with qtbot.waitSignal(c.models.finished, timeout=20000):
        window.open_settings()
    wait_until(qtbot, lambda: "ok" in seen)
    assert seen == {"ok": False, "text": CORRUPT_TEXT, "shown": CORRUPT_TEXT, "field": str(tmp_path / "no-model-here")}
    assert _nothing_left()
    assert c.engine.text_embedder is None and c.settings.clap_model_dir == tmp_path / "no-model-here"
    assert any(r.startswith(f"GET /{DEFAULT_REPO}/resolve/main/text_encoder.onnx") for r in hub.requests)
