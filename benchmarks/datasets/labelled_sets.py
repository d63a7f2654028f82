"""Labelled sets for fitting and validating the kind and instrument models, with cached
descriptors.

* Generated sets (``make_oneshots.py``, ``make_loops.py``) carry ``labels.json``.
* The Debian libraries (Sonic Pi, LMMS) are labelled from their names: instrument by
  :func:`companion.analysis.instruments.instrument_from_words` over the folder and file name,
  kind by the pack's own layout (Sonic Pi ``loop_*``, LMMS ``beats/`` and ``bassloops/`` are
  loops; everything else is a one-shot). They are never fitted on: they are whole packs held
  out.

Descriptors (:func:`companion.analysis.descriptors.describe`, computed through the same decode
and features as the scanner) are cached in ``descriptors.npz`` beside the labels, and the
instrument network's inputs (:func:`companion.analysis.mel_cnn.mel_patch`) in ``mels.npz``.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

SONIC_PI = Path("/usr/share/sonic-pi/samples")
LMMS = Path("/usr/share/lmms/samples")
LMMS_LOOP_FOLDERS = ("beats", "bassloops")
LMMS_FOLDERS = ("basses", "bassloops", "beats", "drums", "effects", "instruments", "latin", "misc", "stringsnpads")


def _describe(audio) -> np.ndarray:
    from companion.analysis.descriptors import describe
    from companion.analysis.features import compute_features

    return describe(audio.y, audio.sr, compute_features(audio.y, audio.sr), audio.duration_s)


def _patch(audio) -> np.ndarray:
    from companion.analysis.mel_cnn import mel_patch

    return mel_patch(audio.y, audio.sr)


def _one(compute, path: str) -> list | None:
    from companion.analysis.audio import decode

    try:
        audio = decode(Path(path))
    except Exception:  # noqa: BLE001 - a labelled set keeps going past an unreadable file
        return None
    return compute(audio).tolist()


def _per_file(
    paths: list[Path], cache: Path | None, name: str, shape: tuple[int, ...], compute, workers: int, stored=np.float32
) -> np.ndarray:
    """(n, *shape) float32 of ``compute(decoded audio)`` per path (NaN for unreadable files), read
    from / written to ``cache`` (array ``name``, stored as ``stored``) when given and up to date:
    the same paths, the same shape and the same ``ANALYSIS_VERSION`` (a cache written by an older
    analysis, whose decoding or features may differ, is recomputed)."""
    from companion.analysis.pipeline import ANALYSIS_VERSION

    keys = [str(p) for p in paths]
    if cache is not None and cache.exists():
        data = np.load(cache, allow_pickle=False)
        fresh = "analysis" in data.files and str(data["analysis"]) == ANALYSIS_VERSION
        if fresh and list(data["paths"]) == keys and data[name].shape[1:] == shape:
            return data[name].astype(np.float32)
    with ProcessPoolExecutor(workers) as pool:
        out = list(pool.map(partial(_one, compute), keys, chunksize=8))
    values = np.full((len(keys), *shape), np.nan, dtype=np.float32)
    for i, value in enumerate(out):
        if value is not None:
            values[i] = value
    if cache is not None:
        np.savez(cache, **{name: values.astype(stored)}, paths=np.asarray(keys), analysis=np.asarray(ANALYSIS_VERSION))
    return values


def describe_files(paths: list[Path], cache: Path | None = None, workers: int = 2) -> np.ndarray:
    """(n, N_DESCRIPTORS) float32 descriptors of ``paths`` (NaN rows for unreadable files),
    read from / written to ``cache`` when given and up to date."""
    from companion.analysis.descriptors import N_DESCRIPTORS

    return _per_file(paths, cache, "X", (N_DESCRIPTORS,), _describe, workers)


def patch_files(paths: list[Path], cache: Path | None = None, workers: int = 2) -> np.ndarray:
    """(n, N_MELS, N_FRAMES) float32 inputs of the instrument network (NaN for unreadable
    files), read from / written to ``cache`` when given and up to date (stored as float16)."""
    from companion.analysis.mel_cnn import N_FRAMES, N_MELS

    return _per_file(paths, cache, "M", (N_MELS, N_FRAMES), _patch, workers, stored=np.float16)


def generated_patches(folder: Path) -> np.ndarray:
    """Instrument-network inputs of a generated folder, in the order of its ``labels.json``."""
    rows = json.loads((folder / "labels.json").read_text())
    return patch_files([folder / r["file"] for r in rows], folder / "mels.npz")


def debian_patches(rows: list[dict]) -> np.ndarray:
    """Instrument-network inputs of the rows of :func:`debian_sets`."""
    return patch_files([Path(r["file"]) for r in rows], Path("/tmp/samplemind-debian-mels.npz"))


def generated_set(folder: Path) -> tuple[np.ndarray, list[dict]]:
    """Descriptors and label rows of a generated folder (``labels.json``); each row gains
    ``path``, the file's full path."""
    rows = [{**r, "path": str(folder / r["file"])} for r in json.loads((folder / "labels.json").read_text())]
    X = describe_files([folder / r["file"] for r in rows], folder / "descriptors.npz")
    return X, rows


def loop_set(folder: Path, source: str, family: str) -> tuple[np.ndarray, list[dict]]:
    """A ``make_loops.py`` folder as rows with instrument and kind labels: drum loops and loops
    with drums are ``drums``; drum-free loops are labelled by their one part (bass, pad, arp →
    lead/keys); one-shots keep their GM class where known."""
    X, rows = generated_set(folder)
    out = []
    for r in rows:
        style = r["style"]
        inst = None
        if r["kind"] == "loop":
            inst = "drums" if r["drums"] else {"bass": "bass", "pad": "pad"}.get(style)
        elif style == "oneshot_fx":
            inst = "fx"
        out.append({**r, "instrument": inst, "source": source, "family": family})
    return X, out


def debian_sets() -> tuple[np.ndarray, list[dict]]:
    """Sonic Pi and LMMS with labels from their names (see the module docstring)."""
    from companion.analysis.audio import SUPPORTED_EXTENSIONS
    from companion.analysis.instruments import instrument_from_words, words_of

    paths: list[Path] = []
    rows: list[dict] = []
    if SONIC_PI.exists():
        for p in sorted(SONIC_PI.glob("*.flac")):
            paths.append(p)
            rows.append(
                {
                    "file": str(p),
                    "source": "sonic-pi",
                    "family": "sonic-pi",
                    "kind": "loop" if p.stem.startswith("loop_") else "one-shot",
                    "instrument": instrument_from_words(words_of(p.stem)),
                }
            )
    for folder in LMMS_FOLDERS:
        for p in sorted((LMMS / folder).glob("*")):
            if p.suffix.lower() not in SUPPORTED_EXTENSIONS:
                continue
            paths.append(p)
            rows.append(
                {
                    "file": str(p),
                    "source": "lmms",
                    "family": "lmms",
                    "kind": "loop" if folder in LMMS_LOOP_FOLDERS else "one-shot",
                    "instrument": instrument_from_words(words_of(f"{folder} {p.stem}")),
                }
            )
    cache = Path("/tmp/samplemind-debian-descriptors.npz")
    X = describe_files(paths, cache)
    return X, rows
