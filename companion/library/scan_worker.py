"""What one analysis worker process does with one file: hash, decode, analyse, fingerprint.

Runs in a worker process of the scanner's pool; returns a picklable :class:`FileResult` and
never raises for a bad file (the error becomes the result's ``problem``). A file whose content
is already analysed (a copy, a moved file, a touched file) is only hashed: the worker looks the
hash up in the catalog through its own read-only connection.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion.analysis.result import Analysis
from companion.errors import CompanionError

_HASH_BLOCK = 1 << 20
_catalog_ro = None  # per-process read-only connection, opened by init_worker
_analyser_version = ""
_space = ""


@dataclass
class FileResult:
    """Outcome of one file.

    Attributes:
        sample_id: catalog id of the sample.
        path: absolute path.
        size / mtime_ns: what the worker saw when it hashed the file.
        content_hash: blake2b-128 hex of the bytes (None if the file could not be read).
        analysis: the new analysis, or None when reused or failed.
        fingerprint: (512,) float32 L2-normalised, or None when reused or failed.
        reused: the content was already analysed (and fingerprinted) in the catalog.
        problem: ``(stage, reason)`` when the file could not be used.
    """

    sample_id: int
    path: str
    size: int = 0
    mtime_ns: int = 0
    content_hash: str | None = None
    analysis: Analysis | None = None
    fingerprint: np.ndarray | None = None
    reused: bool = False
    problem: tuple[str, str] | None = None


def content_hash(path: str | Path) -> str:
    """blake2b digest (128 bits, hex) of a file's bytes (RFC 7693; hashlib)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def pin_blas() -> None:
    """Limit this process's BLAS (and OpenMP) pools to one thread.

    The scanner's pool already runs one process per core; BLAS threads on top of that only
    contend (a small matrix product took ~15 ms with two OpenBLAS threads under load). The limit
    is applied with threadpoolctl because the BLAS library is already loaded when a forked
    worker starts, so environment variables would come too late. Benchmarks that time the
    pipeline in their own pools use it as their initializer, to measure what the scanner runs.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def init_worker(catalog_path: str, analyser_version: str, fingerprint_space: str) -> None:
    """Pool initializer: open a read-only catalog connection and pin BLAS to one thread
    (:func:`pin_blas`)."""
    global _catalog_ro, _analyser_version, _space
    from companion.library.db import connect

    pin_blas()

    _catalog_ro = connect(catalog_path, readonly=True)
    _analyser_version = analyser_version
    _space = fingerprint_space


def _already_done(chash: str) -> bool:
    if _catalog_ro is None:
        return False
    row = _catalog_ro.execute(
        "SELECT 1 FROM analyses a WHERE a.content_hash = ? AND a.analyser_version = ? AND EXISTS "
        "(SELECT 1 FROM embeddings e JOIN embedding_spaces sp ON sp.id = e.space_id "
        " WHERE sp.space = ? AND e.content_hash = a.content_hash)",
        (chash, _analyser_version, _space),
    ).fetchone()
    return row is not None


def process_file(sample_id: int, path: str) -> FileResult:
    """Hash, and unless already known, decode + analyse + fingerprint one file."""
    from companion.analysis.audio import decode
    from companion.analysis.pipeline import analyse
    from companion.embedding.fingerprint import fingerprint

    result = FileResult(sample_id=sample_id, path=path)
    try:
        st = os.stat(path)
        result.size, result.mtime_ns = st.st_size, st.st_mtime_ns
        result.content_hash = content_hash(path)
    except OSError as exc:
        result.problem = ("stat", f"cannot read {Path(path).name}: {exc.strerror or exc}")
        return result
    if _already_done(result.content_hash):
        result.reused = True
        return result
    stage = "decode"
    try:
        audio = decode(Path(path))
        stage = "analyse"
        result.analysis = analyse(Path(path), audio)
        stage = "fingerprint"
        result.fingerprint = fingerprint(audio.mono, audio.sr).astype(np.float32)
    except CompanionError as exc:
        result.problem = (stage, str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad file never stops a scan
        last = traceback.extract_tb(exc.__traceback__)[-1]
        result.problem = (
            stage,
            f"{Path(path).name}: unexpected {type(exc).__name__}: {exc} "
            f"(at {Path(last.filename).name}:{last.lineno}) — skipped",
        )
    return result
