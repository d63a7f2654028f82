"""Installed CLAP models under the user's data dir, and which one is used.

Layout::

    <data dir>/models/clap/
        default                  # text file: name of the model used when none is given
        clap-htsat-unfused/      # one folder per model: manifest.json + its files
            manifest.json
            audio_encoder.onnx …

A model can also be used straight from any folder (``--model DIR`` or
``RECS_CLAP_MODEL_DIR``) without installing it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from companion.embedding.clap.manifest import Manifest
from companion.errors import ModelError
from companion.settings import data_dir

log = logging.getLogger(__name__)

DEFAULT_FILE = "default"


def models_root(root: Path | None = None) -> Path:
    """``<data dir>/models/clap`` (or ``root`` when given)."""
    return Path(root) if root is not None else data_dir() / "models" / "clap"


@dataclass
class InstalledModel:
    """One model folder under :func:`models_root`.

    Attributes:
        name: folder name (the model name).
        path: the folder.
        manifest: its manifest, or None when unreadable (``problem`` says why).
        default: whether it is the model used when none is named.
        problem: why the folder is unusable, or None.
    """

    name: str
    path: Path
    manifest: Manifest | None
    default: bool
    problem: str | None = None


def installed(root: Path | None = None) -> list[InstalledModel]:
    """Every model folder under the models root, sorted by name (unreadable ones included)."""
    base = models_root(root)
    if not base.is_dir():
        return []
    default = default_name(base)
    out = []
    for d in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            man: Manifest | None = Manifest.read(d)
            problem = None
        except ModelError as exc:
            man, problem = None, str(exc)
        out.append(InstalledModel(d.name, d, man, d.name == default, problem))
    return out


def default_name(root: Path | None = None) -> str | None:
    """The default model's name: the ``default`` file, else the only usable model, else None
    (folders whose name starts with a dot are work folders, never models)."""
    base = models_root(root)
    marker = base / DEFAULT_FILE
    if marker.is_file():
        name = marker.read_text(encoding="utf-8").strip()
        if name and (base / name).is_dir():
            return name
    if not base.is_dir():
        return None
    names = [
        p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file()
    ]  # dot folders: a fetch's staging, an install in progress
    return names[0] if len(names) == 1 else None


def default_model_dir(root: Path | None = None) -> Path | None:
    """Folder of the default installed model, or None if none is installed."""
    name = default_name(root)
    return models_root(root) / name if name else None


def set_default(name: str, root: Path | None = None) -> None:
    """Make the installed model ``name`` the default.

    Raises:
        ModelError: if no such model is installed.
    """
    base = models_root(root)
    if not (base / name / "manifest.json").is_file():
        raise ModelError(f"no installed CLAP model named {name!r} — see `companion models list`")
    (base / DEFAULT_FILE).write_text(name + "\n", encoding="utf-8")


def install(folder: Path, root: Path | None = None, *, make_default: bool = True) -> Path:
    """Copy a model folder into the models root, atomically, after checking every sha256.

    Args:
        folder: a model folder with a manifest.
        root: models root (default: :func:`models_root`).
        make_default: make it the default model.

    Returns:
        The installed folder, ``<root>/<manifest.name>``; an older copy is replaced.

    Raises:
        ModelError: if the folder's manifest or files do not check out.
    """
    man = Manifest.read(folder)
    man.check(folder, hashes=True)
    base = models_root(root)
    base.mkdir(parents=True, exist_ok=True)
    target = base / man.name
    staging = Path(tempfile.mkdtemp(prefix=f".{man.name}.", dir=base))
    try:
        for f in man.files.values():
            dst = staging / f.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(folder) / f.path, dst)
        man.write(staging)
        old = None
        if target.exists():
            old = base / f".{man.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if make_default:
        set_default(man.name, base)
    log.info("installed CLAP model %s (%s) in %s", man.name, man.space, target)
    return target
