"""Fixtures of the CLAP tests: a small random ClapModel checkpoint, exported once per session.

The checkpoint is built from a ``ClapConfig`` with tiny dimensions (``companion.embedding.clap.random_model``) and
exported with the real exporter (fp32 + int8), exactly as a user's checkpoint would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from companion.settings import Settings, get_settings


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny ClapModel checkpoint folder (weights, tokenizer, preprocessor)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from companion.embedding.clap.random_model import build_random_checkpoint

    return build_random_checkpoint(tmp_path_factory.mktemp("checkpoint") / "tiny", audio="tiny", seed=1)


@pytest.fixture(scope="session")
def tiny_model(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported to an ONNX model folder, with the int8 audio encoder."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from companion.embedding.clap.export import export_clap

    out = tmp_path_factory.mktemp("model") / "tiny-onnx"
    export_clap(str(tiny_checkpoint), out, quantize="int8", log=lambda _line: None)
    return out


@pytest.fixture(scope="session")
def torch_model(tiny_checkpoint: Path) -> Any:
    """The PyTorch reference: the same checkpoint loaded with transformers."""
    from transformers import ClapModel

    return ClapModel.from_pretrained(str(tiny_checkpoint)).eval()


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user data dir (XDG_DATA_HOME) and fresh settings, so no installed model leaks in."""
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("RECS_CLAP_MODEL_DIR", raising=False)
    monkeypatch.delenv("RECS_USE_CLAP", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def settings(data_home: Path) -> Settings:
    """Default settings with the isolated data dir."""
    return Settings()
