"""Fixtures shared by the whole suite: the real Debian sample libraries, audio writers, a tiny
CLAP model exported with the real exporter (``tiny_model``), and one embedded PostgreSQL with
pgvector for the hub and sync tests.

The suite is hermetic (:func:`pytest_configure`): it runs with a fresh HOME and fresh XDG
folders, without the user's ``RECS_*`` / ``COMPANION_*`` settings, so nothing of the machine's
user (settings file, catalog, ``~/.asoundrc``, Qt's configuration) changes what a test sees,
and no test writes into the user's folders.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import soundfile as sf

if TYPE_CHECKING:
    from samplemind_hub.testing import EmbeddedPostgres

SONIC_PI = Path("/usr/share/sonic-pi/samples")
LMMS = Path("/usr/share/lmms/samples")

#: Environment a test run keeps: the CI's finished app folder (tests/packaging/test_bundle.py).
KEPT_ENV = frozenset({"COMPANION_BUNDLE"})


def pytest_configure(config: pytest.Config) -> None:
    """A fresh HOME and XDG folders for the whole run (child processes inherit them), and none
    of the user's companion settings from the environment."""
    home = Path(tempfile.mkdtemp(prefix="companion-tests-home-"))
    folders = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_RUNTIME_DIR": home / "runtime",
    }
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ[name] = str(folder)
    for name in [n for n in os.environ if n.startswith(("RECS_", "COMPANION_")) and n not in KEPT_ENV]:
        del os.environ[name]
    config.stash[_HOME] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's HOME."""
    home = config.stash.get(_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


_HOME = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def sonic_pi() -> Path:
    """The Sonic Pi sample library (Debian package sonic-pi-samples)."""
    if not SONIC_PI.is_dir():
        pytest.fail("sonic-pi-samples is not installed: run ./dev setup")
    return SONIC_PI


@pytest.fixture(scope="session")
def lmms() -> Path:
    """The LMMS sample library (Debian package lmms-common)."""
    if not LMMS.is_dir():
        pytest.fail("lmms-common is not installed: run ./dev setup")
    return LMMS


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


def invoke_cli(*args: str) -> tuple[int, str, str]:
    """Run the ``companion`` CLI in process (typer's runner): ``(exit code, stdout, stderr)``.

    Raises:
        Exception: whatever the command raised other than ``SystemExit``, so a crash fails the
            test with its own traceback instead of an exit code.
    """
    from typer.testing import CliRunner

    from companion.cli.main import app

    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def copy_samples(src: Path, dest: Path, names: list[str]) -> list[Path]:
    """Copy named files of a library into ``dest`` (so tests may move, touch and corrupt them)."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        target = dest / name
        shutil.copy2(src / name, target)
        out.append(target)
    return out


def write_tone(path: Path, freq_hz: float = 440.0, seconds: float = 1.0, sr: int = 44100) -> Path:
    """Write a decaying sine tone as a 16-bit WAV."""
    t = np.arange(int(seconds * sr)) / sr
    y = 0.5 * np.sin(2 * np.pi * freq_hz * t) * np.exp(-3 * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), sr, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    """One embedded PostgreSQL 16 + pgvector for the session (each suite makes its own
    databases), deleted afterwards."""
    from samplemind_hub.testing import EmbeddedPostgres

    # Not under pytest's basetemp: a concurrent pytest session chmods /tmp/pytest-of-<user> to
    # 0700, which would lock the server's own user ('pgserver' when run as root) out of its data.
    folder = Path(tempfile.mkdtemp(prefix="samplemind-pg-"))
    server = EmbeddedPostgres(folder)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)
