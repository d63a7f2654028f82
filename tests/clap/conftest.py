"""Fixtures of the CLAP tests: the PyTorch reference of the tiny checkpoint, and an isolated
user data dir. The tiny checkpoint and its ONNX export (``tiny_checkpoint``, ``tiny_model``) are
in tests/conftest.py: the window's tests fetch that model too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from companion.settings import Settings, get_settings


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
