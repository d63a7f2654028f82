"""Fixtures of the packaging tests: an ALSA configuration with a null default PCM, isolated
user folders, and a tiny exported CLAP model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.alsa_conf import hermetic_alsa_config

REPO = Path(__file__).resolve().parents[2]
ALSA_CONF = Path("/usr/share/alsa/alsa.conf")


def write_alsa_conf(folder: Path, pcm: str = "type null") -> str:
    """An ``ALSA_CONFIG_PATH`` value whose default PCM is ``pcm`` and that reads none of the
    machine's or user's ALSA files (:func:`tests.alsa_conf.hermetic_alsa_config`).

    ``type null`` is ALSA's null plugin (accepts and discards audio), so an output stream opens
    on a machine without a sound card; ``type hw card 99`` names a card that does not exist.
    """
    if not ALSA_CONF.is_file():
        pytest.fail("ALSA's configuration is missing (libasound2-data): run ./dev setup")
    return hermetic_alsa_config(folder, pcm)


@pytest.fixture()
def app_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a companion process: null audio output, user folders under ``tmp_path``,
    no CLAP model, OSC on a free port."""
    env = dict(os.environ)
    for name in ("RECS_CLAP_MODEL_DIR", "RECS_USE_CLAP", "COMPANION_LIBRARY_DB", "RECS_OSC_PORT"):
        env.pop(name, None)
    env.update(
        ALSA_CONFIG_PATH=write_alsa_conf(tmp_path / "alsa"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        XDG_STATE_HOME=str(tmp_path / "xdg-state"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        RECS_OSC_PORT="0",
        PYTHONPATH=str(REPO),
    )
    return env


@pytest.fixture(scope="session")
def tiny_clap_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny CLAP checkpoint exported with the real exporter (ONNX folder)."""
    pytest.importorskip("torch", reason="the export extra builds the test model: ./dev setup")
    from companion.embedding.clap.export import export_clap
    from companion.embedding.clap.random_model import build_random_checkpoint

    checkpoint = build_random_checkpoint(tmp_path_factory.mktemp("checkpoint") / "tiny", audio="tiny", seed=2)
    out = tmp_path_factory.mktemp("model") / "tiny-onnx"
    export_clap(str(checkpoint), out, log=lambda _line: None)
    return out


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built app folder (``<dist>/companion``).

    ``COMPANION_BUNDLE`` names one built already (``packaging/build.sh``, e.g. by a CI step
    before the tests); otherwise ``packaging/build.sh`` builds one here with this interpreter's
    environment (a few minutes).
    """
    import subprocess
    import sys

    prebuilt = os.environ.get("COMPANION_BUNDLE")
    if prebuilt:
        folder = Path(prebuilt)
        if not (folder / "companion").is_file():
            pytest.fail(f"COMPANION_BUNDLE={prebuilt} is not a built app folder (no companion executable)")
        return folder
    out = tmp_path_factory.mktemp("bundle")
    proc = subprocess.run(
        [
            "bash",
            str(REPO / "packaging" / "build.sh"),
            "--python",
            sys.executable,
            "--dist",
            str(out / "dist"),
            "--work",
            str(out / "work"),
            "--no-self-test",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        pytest.fail(f"packaging/build.sh failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return out / "dist" / "companion"
