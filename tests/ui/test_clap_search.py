"""Search through CLAP when a model is installed: a tiny random CLAP exported with the real
exporter, the test library backfilled with `companion embed --backfill`, then the search box."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ui.conftest import wait_until


@pytest.fixture(scope="module")
def tiny_clap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from companion.embedding.clap.export import export_clap
    from companion.embedding.clap.random_model import build_random_checkpoint

    checkpoint = build_random_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", audio="tiny", seed=1)
    out = tmp_path_factory.mktemp("model") / "tiny-onnx"
    export_clap(str(checkpoint), out, quantize="int8", log=lambda _line: None)
    return out


@pytest.mark.slow
def test_search_goes_through_clap_when_a_model_is_loaded(qtbot, make_window, library_db, tiny_clap):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "companion",
            "embed",
            "--backfill",
            "--model",
            str(tiny_clap),
            "--library-db",
            str(library_db),
        ],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    window = make_window(clap_model_dir=str(tiny_clap))
    c = window.controller
    assert c.engine.text_embedder is not None
    with qtbot.waitSignal(c.results_ready, timeout=20000):
        qtbot.keyClicks(window.search, "dark techno loop")
    wait_until(qtbot, lambda: window.showing == "search")
    assert "through CLAP" in window.header.text()
    items = window.model.items
    assert len(items) == 12 and all(it.source == "clap" for it in items)  # every sample has a vector
    scores = [it.score for it in items]
    assert scores == sorted(scores, reverse=True)
    assert window.model.items[0].rationale[0].startswith("text match")
