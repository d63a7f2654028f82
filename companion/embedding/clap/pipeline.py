"""Embedding many files: decoding and front end overlapped with batched inference.

Worker threads decode each file (libsndfile, soxr), cut it into windows and compute the
log-mel features (numpy/scipy release the GIL for most of that work) while the encoder runs on
batches of windows gathered across files, ``streams`` batches at a time on their own threads
(onnxruntime releases the GIL too). At most ``prefetch`` files are prepared ahead, so memory
stays bounded (a 10-s window is 256 KB of features).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.embedding.clap.audio_io import CLAP_SR, load_audio_48k
from companion.embedding.clap.frontend import ClapFrontend
from companion.embedding.clap.pooling import pool, split_windows, window_weights

#: ``run_batch(features (b, C, 1001, 64) float32) -> raw embeddings (b, d) float32``.
BatchRunner = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[int, int], None]


@dataclass
class PreparedFile:
    """A file ready for the encoder.

    Attributes:
        features: encoder input of its windows, shape (k, C, 1001, 64) float32.
        weights: pooling weights, shape (k,) float32 (0 for silent windows).
    """

    features: np.ndarray
    weights: np.ndarray


def prepare_file(path: Path, frontend: ClapFrontend) -> PreparedFile:
    """Decode, window and featurise one file (pooling rule v1).

    Raises:
        AudioDecodeError: if the file cannot be decoded.
    """
    y = load_audio_48k(path)
    return prepare_signal(y, frontend)


def prepare_signal(y48k: np.ndarray, frontend: ClapFrontend) -> PreparedFile:
    """Window and featurise a 48 kHz mono signal, shape (n,), n ≥ 1."""
    windows = split_windows(np.asarray(y48k, dtype=np.float32), CLAP_SR, frontend.config.max_length_s)
    return PreparedFile(frontend.features(windows), window_weights(windows))


@dataclass
class _Pending:
    index: int
    prepared: PreparedFile
    vectors: np.ndarray
    left: int = field(init=False)

    def __post_init__(self) -> None:
        self.left = self.prepared.features.shape[0]


def embed_files(
    paths: Sequence[Path],
    frontend: ClapFrontend,
    run_batch: BatchRunner,
    dim: int,
    *,
    batch_size: int = 8,
    workers: int = 1,
    streams: int = 1,
    prefetch: int | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, np.ndarray | Exception]]:
    """Embed files, yielding each result as soon as its last window is through the encoder.

    Args:
        paths: audio files.
        frontend: the model's front end.
        run_batch: runs the audio encoder on a batch of features; must be thread-safe when
            ``streams`` > 1 (an onnxruntime session is).
        dim: embedding dimension.
        batch_size: windows per encoder call (files are mixed to fill a batch).
        workers: decode/front-end threads.
        streams: encoder calls in flight at once (each on its own thread).
        prefetch: files prepared ahead of the encoder (default
            ``max(2, 2 · workers, batch_size · streams)``).
        progress: called as ``progress(done, total)`` as each file is finished, just before
            it is yielded.

    Yields:
        ``(i, vector)`` with ``vector`` shape (dim,) float32 L2-normalised, or ``(i, error)``
        when file ``paths[i]`` cannot be embedded (the error is an exception instance, never
        raised here). Files come out roughly in input order.

    Raises:
        Whatever ``run_batch`` raises (a broken model is not a per-file problem).
    """
    total = len(paths)
    if total == 0:
        return
    streams = max(1, int(streams))
    ahead = prefetch if prefetch is not None else max(2, 2 * workers, batch_size * streams)
    done = 0
    queue: deque[tuple[int, Future[PreparedFile]]] = deque()
    inflight: deque[tuple[list[tuple[_Pending, int]], Future[np.ndarray]]] = deque()
    batch_rows: list[tuple[_Pending, int]] = []
    next_path = 0

    def report() -> None:
        if progress is not None:
            progress(done, total)

    with (
        ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="clap-prep") as prep,
        ThreadPoolExecutor(max_workers=streams, thread_name_prefix="clap-infer") as infer,
    ):

        def refill() -> None:
            nonlocal next_path
            while next_path < total and len(queue) < ahead:
                queue.append((next_path, prep.submit(prepare_file, Path(paths[next_path]), frontend)))
                next_path += 1

        def submit(rows: list[tuple[_Pending, int]]) -> None:
            feats = np.concatenate([p.prepared.features[w : w + 1] for p, w in rows], axis=0)
            inflight.append((rows, infer.submit(run_batch, feats)))

        def finish_oldest() -> Iterator[tuple[int, np.ndarray]]:
            rows, fut = inflight.popleft()
            out = np.asarray(fut.result(), dtype=np.float32)
            for (p, w), vec in zip(rows, out, strict=True):
                p.vectors[w] = vec
                p.left -= 1
                if p.left == 0:
                    yield p.index, pool(p.vectors, p.prepared.weights)

        try:
            refill()
            while queue or batch_rows or inflight:
                if queue:
                    i, fut = queue.popleft()
                    refill()
                    try:
                        prepared = fut.result()
                    except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
                        done += 1
                        report()
                        yield i, exc
                        continue
                    pending = _Pending(i, prepared, np.empty((prepared.features.shape[0], dim), np.float32))
                    batch_rows.extend((pending, w) for w in range(pending.left))
                    if len(batch_rows) < batch_size and queue:
                        continue
                while batch_rows and (len(batch_rows) >= batch_size or not queue):
                    rows, batch_rows = batch_rows[:batch_size], batch_rows[batch_size:]
                    while len(inflight) >= streams:
                        for index, vec in finish_oldest():
                            done += 1
                            report()
                            yield index, vec
                    submit(rows)
                if not queue and not batch_rows:
                    while inflight:
                        for index, vec in finish_oldest():
                            done += 1
                            report()
                            yield index, vec
        finally:
            for _, prep_fut in queue:
                prep_fut.cancel()
            for _, infer_fut in inflight:
                infer_fut.cancel()
