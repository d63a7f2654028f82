"""A CLAP model in use and a library without its vectors: the window embeds the library by
itself, in a library scan with the panel's progress, and text search then goes through CLAP.
Real data: the test library (Sonic Pi files, scanned without CLAP) and the tiny exported CLAP."""

from __future__ import annotations

from pathlib import Path

from companion.app.clap import vectors_missing
from companion.library.catalog import Catalog
from companion.ui.model_fetch import PREPARING_NOTE
from tests.ui.conftest import LIBRARY_FILES, wait_until


def test_a_library_without_vectors_of_the_model_is_embedded_at_start(
    qtbot, make_window, library_db: Path, tiny_model: Path
) -> None:
    n = len(LIBRARY_FILES)
    window = make_window(clap_model_dir=str(tiny_model), wait_for_list=False)  # opens on a worker
    c = window.controller
    started: list[tuple[str | None, str, str]] = []  # note, mood caption, search placeholder
    c.scan_started.connect(
        lambda: started.append(
            (window.clap_note(), window.context_bar.boxes["mood"].caption.text(), window.search.placeholderText())
        )
    )
    embedding: list[tuple[int, int | None, str]] = []
    c.scan_progress.connect(
        lambda p: (
            embedding.append((p.done, p.total, window.library.progress_text.text())) if p.phase == "embed" else None
        )
    )
    scans: list[tuple[object, object]] = []
    c.scan_finished.connect(lambda report, error: scans.append((report, error)))

    wait_until(qtbot, lambda: bool(scans), timeout_s=120)  # nobody asked for this scan
    assert c.engine.text_embedder is not None
    space = c.engine.text_embedder.space
    report, error = scans[0]
    assert error is None and report.new == 0 and report.analysed == 0 and report.embedded == n, report
    # while it ran, the window said why search matched names and tags, and showed the embed phase
    assert started == [(PREPARING_NOTE, "MOOD · TAGS ONLY", "Search names and tags  (Ctrl+F)")]
    assert embedding and embedding[-1][:2] == (n, n)
    assert embedding[-1][2].startswith(f"Embedding for text search {n} / {n}")
    assert (
        window.library.progress_text.text() == f"{n} files · 0 analysed · 0 problems · {n} embedded for search by sound"
    )
    with Catalog.open(library_db) as catalog:  # every analysed sample has a vector of the model
        assert catalog.embedding_coverage()[space] == (n, n) and vectors_missing(catalog, space) == 0

    # afterwards: no note, and text search goes through CLAP over the whole library
    wait_until(qtbot, lambda: window.clap_note() is None)
    assert window.context_bar.boxes["mood"].caption.text() == "MOOD"
    assert not window.get_model_button.isVisible()
    with qtbot.waitSignal(c.results_ready, timeout=20000):
        qtbot.keyClicks(window.search, "dark techno loop")
    wait_until(qtbot, lambda: window.showing == "search")
    assert "through CLAP" in window.header.text()
    assert len(window.model.items) == n and all(it.source == "clap" for it in window.model.items)
