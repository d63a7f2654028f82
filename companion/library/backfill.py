"""Backfill: embed the analysed samples that have no vector in a model's space yet.

Used by ``companion embed --backfill`` (files analysed before a CLAP model was installed) and
after a scan when a model is present. Vectors are keyed by content hash in the catalog, so a
sound stored in several files is embedded once. Results are committed every ``commit_every``
files: an interrupted backfill keeps what it finished and the next run does the rest. The
space's vector index is refreshed at the end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from companion.library.catalog import Catalog
from companion.library.indexes import load_or_build


class FileEmbedder(Protocol):
    """What the backfill needs of an embedder (:class:`~companion.embedding.clap.runtime.ClapEmbedder`)."""

    space: str
    dim: int

    def embed_files(
        self, paths: Any, progress: Callable[[int, int], None] | None = None
    ) -> Any:  # Iterator[tuple[int, np.ndarray | Exception]]
        """Yield ``(index, vector | error)`` per path."""
        ...


@dataclass
class BackfillReport:
    """What a backfill did.

    Attributes:
        space: the embedding space filled.
        todo: distinct contents that lacked a vector.
        embedded: vectors stored.
        failed: ``(path, reason)`` of files that could not be embedded.
        indexed: vectors in the space's index afterwards (None if not refreshed).
        seconds: wall time.
        interrupted: stopped early through ``stop``.
    """

    space: str
    todo: int = 0
    embedded: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    indexed: int | None = None
    seconds: float = 0.0
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "space": self.space,
            "todo": self.todo,
            "embedded": self.embedded,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "indexed": self.indexed,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
        }


def backfill(
    catalog: Catalog,
    embedder: FileEmbedder,
    progress: Callable[[int, int], None] | None = None,
    *,
    stop: threading.Event | None = None,
    commit_every: int = 32,
    refresh_index: bool = True,
) -> BackfillReport:
    """Embed every analysed sample that lacks a vector in ``embedder.space``.

    Args:
        catalog: the open catalog (written through ``put_embeddings``).
        embedder: a loaded embedder (``space``, ``dim``, ``embed_files``).
        progress: ``progress(done, total)`` per distinct content.
        stop: set it to stop after the file in hand (finished vectors are kept).
        commit_every: vectors per catalog transaction.
        refresh_index: rebuild/update the space's vector index at the end.

    Returns:
        A :class:`BackfillReport`.
    """
    t0 = time.perf_counter()
    report = BackfillReport(space=embedder.space)
    by_hash: dict[str, int] = {}
    paths: list[Path] = []
    ids: list[int] = []
    for ref in catalog.samples_missing_embedding(embedder.space):
        if ref.content_hash is None or ref.content_hash in by_hash:
            continue  # one file per content: vectors are stored by content hash
        by_hash[ref.content_hash] = ref.id
        paths.append(Path(ref.path))
        ids.append(ref.id)
    report.todo = len(paths)
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        if pending:
            report.embedded += catalog.put_embeddings(embedder.space, embedder.dim, pending)
            pending.clear()

    results = embedder.embed_files(paths, progress=progress)
    try:
        for i, result in results:
            if isinstance(result, Exception):
                report.failed.append((str(paths[i]), str(result)))
            else:
                pending.append((ids[i], result))
                if len(pending) >= commit_every:
                    flush()
            if stop is not None and stop.is_set():
                report.interrupted = True
                break
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        flush()
    if refresh_index and (report.embedded or report.todo):
        idx_ids, _vecs, _index = load_or_build(catalog, embedder.space)
        report.indexed = len(idx_ids)
    report.seconds = time.perf_counter() - t0
    return report
