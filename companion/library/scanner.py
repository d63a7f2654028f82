"""The library scanner: index first, analyse after, resumable at any point.

Phase 1 (*index*) walks the folders and lists every audio file in the catalog within seconds,
with tags from its folders and name, so it is findable at once. Unchanged files (same size and
mtime) are left alone; files gone from disk are marked ``missing`` (their analysis is kept).

Phase 2 (*analyse*) hands the ``pending`` files to worker processes
(:mod:`companion.library.scan_worker`), which hash, decode, analyse and fingerprint them, and
writes each batch of results in one transaction. A file whose content is already analysed (a
moved or copied file) is only hashed. Interrupting the scan (Ctrl-C, ``kill -9``, a crash)
loses at most the batch in flight: finished files stay finished, pending ones are picked up by
the next scan, and SQLite's WAL keeps the catalog consistent.

Phase 3 refreshes the vector index of each embedding space touched (derived data).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.analysis.audio import SUPPORTED_EXTENSIONS
from companion.embedding.fingerprint import FINGERPRINT_SPACE
from companion.errors import CompanionError
from companion.library import vectors
from companion.library.backfill import backfill
from companion.library.catalog import ANALYSER_VERSION, Catalog, analysis_row, sample_tags
from companion.library.db import transaction
from companion.library.scan_worker import FileResult, init_worker, process_file

log = logging.getLogger(__name__)

_INDEX_BATCH = 2000
#: While walking, a progress report goes at least this often (s) and after this many files.
_INDEX_REPORT_EVERY_S = 0.25
_INDEX_REPORT_EVERY = 100
_WRITE_BATCH = 64
_WRITE_EVERY_S = 1.0


@dataclass
class ScanProgress:
    """A progress report: ``phase`` is ``index``, ``analyse`` or ``vectors``; ``done`` of ``total``
    files (``total`` is None while still walking); ``path`` is the latest file."""

    phase: str
    done: int
    total: int | None
    path: str | None = None


@dataclass
class ScanReport:
    """What a scan did. Times in seconds."""

    roots: list[str]
    found: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    missing: int = 0
    analysed: int = 0
    reused: int = 0
    problems: int = 0
    pending_left: int = 0
    embedded: int = 0
    interrupted: bool = False
    index_s: float = 0.0
    analyse_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain-dict form for ``--json`` output."""
        return dict(self.__dict__)


ProgressCallback = Callable[[ScanProgress], None]


def _path_range(root: str) -> tuple[str, str]:
    """SQL range ``[lo, hi)`` of the paths below ``root`` ('/' is 0x2F, '0' is 0x30)."""
    return root.rstrip(os.sep) + os.sep, root.rstrip(os.sep) + chr(ord(os.sep) + 1)


def walk_audio(root: Path) -> Iterator[os.DirEntry[str]]:
    """Audio files below ``root`` (recursive, sorted, hidden files and folders skipped)."""
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.path)
                elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in SUPPORTED_EXTENSIONS:
                    yield entry
            except OSError:
                continue
        stack.extend(reversed(subdirs))


def index_root(catalog: Catalog, root: Path, report: ScanReport, progress: ProgressCallback | None) -> None:
    """Phase 1 for one folder: list new/changed files as ``pending``, mark vanished ones ``missing``."""
    conn = catalog.conn
    root_s = str(root)
    lo, hi = _path_range(root_s)
    known = {
        r[0]: (r[1], r[2], r[3], r[4])
        for r in conn.execute(
            "SELECT path, id, size, mtime_ns, status FROM samples WHERE path >= ? AND path < ?", (lo, hi)
        )
    }
    started = time.time()
    batch: list[tuple[str, int, int]] = []
    last_report = time.monotonic()
    if progress:
        progress(ScanProgress("index", report.found, None, path=None))

    def flush() -> None:
        now = time.time()
        with transaction(conn):
            for path, size, mtime_ns in batch:
                old = known.get(path)
                if old is None:
                    conn.execute(
                        "INSERT INTO samples (path, root, folder, name, size, mtime_ns, status,"
                        " name_tags, added_at, seen_at) VALUES (?,?,?,?,?,?,'pending',?,?,?)",
                        (
                            path,
                            root_s,
                            os.path.dirname(path),
                            os.path.basename(path),
                            size,
                            mtime_ns,
                            sample_tags(path, root_s),
                            now,
                            now,
                        ),
                    )
                    report.new += 1
                elif old[1] == size and old[2] == mtime_ns and old[3] != "missing":
                    conn.execute("UPDATE samples SET seen_at = ? WHERE id = ?", (now, old[0]))
                    report.unchanged += 1
                else:
                    conn.execute(
                        "UPDATE samples SET size = ?, mtime_ns = ?, status = 'pending', seen_at = ? WHERE id = ?",
                        (size, mtime_ns, now, old[0]),
                    )
                    report.changed += 1
        batch.clear()
        if progress:
            progress(ScanProgress("index", report.found, None, path=None))

    for entry in walk_audio(root):
        try:
            st = entry.stat()
        except OSError:
            continue
        batch.append((os.path.abspath(entry.path), st.st_size, st.st_mtime_ns))
        report.found += 1
        if len(batch) >= _INDEX_BATCH:
            flush()
            last_report = time.monotonic()
        elif progress and (
            report.found % _INDEX_REPORT_EVERY == 0 or time.monotonic() - last_report >= _INDEX_REPORT_EVERY_S
        ):
            last_report = time.monotonic()
            progress(ScanProgress("index", report.found, None, path=entry.path))
    if batch:
        flush()
    if progress:
        progress(ScanProgress("index", report.found, report.found))
    with transaction(conn):
        cur = conn.execute(
            "UPDATE samples SET status = 'missing' WHERE path >= ? AND path < ? AND seen_at < ?"
            " AND status != 'missing'",
            (lo, hi, started),
        )
        report.missing += cur.rowcount
        # Results of an older analyser are redone.
        conn.execute(
            "UPDATE samples SET status = 'pending' WHERE path >= ? AND path < ? AND status = 'analysed'"
            " AND content_hash IN (SELECT content_hash FROM analyses WHERE analyser_version != ?)",
            (lo, hi, ANALYSER_VERSION),
        )


def pending_files(catalog: Catalog, roots: Sequence[str]) -> list[tuple[int, str]]:
    """``(sample_id, path)`` of the pending files below the given folders."""
    out: list[tuple[int, str]] = []
    for root in roots:
        lo, hi = _path_range(root)
        out += catalog.conn.execute(
            "SELECT id, path FROM samples WHERE status = 'pending' AND path >= ? AND path < ? ORDER BY path",
            (lo, hi),
        ).fetchall()
    return out


def write_results(catalog: Catalog, results: Sequence[FileResult]) -> None:
    """Store a batch of worker results in one transaction."""
    conn = catalog.conn
    now = time.time()
    with transaction(conn):
        for r in results:
            if r.problem is not None:
                conn.execute(
                    "UPDATE samples SET status = 'problem', content_hash = ?, size = ?, mtime_ns = ?,"
                    " analysed_at = ? WHERE id = ?",
                    (r.content_hash, r.size, r.mtime_ns, now, r.sample_id),
                )
                conn.execute(
                    "INSERT OR REPLACE INTO problems (path, sample_id, stage, reason, at) VALUES (?,?,?,?,?)",
                    (r.path, r.sample_id, r.problem[0], r.problem[1], now),
                )
                continue
            assert r.content_hash is not None
            if r.analysis is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO analyses (content_hash, analyser_version, duration_s, kind,"
                    " bpm, key_pc, mode, pitched, loudness_lufs, analysis_json, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    analysis_row(r.content_hash, r.analysis),
                )
            if r.fingerprint is not None:
                a = r.analysis
                meta = (
                    {}
                    if a is None
                    else {
                        "duration_s": a.duration_s,
                        "kind": a.kind,
                        "bpm": a.bpm,
                        "key_pc": a.key_pc,
                        "mode": a.mode,
                    }
                )
                vectors.put_vectors(
                    conn,
                    FINGERPRINT_SPACE,
                    [(r.content_hash, r.fingerprint)],
                    metadata={r.content_hash: meta},
                )
            conn.execute(
                "UPDATE samples SET status = 'analysed', content_hash = ?, size = ?, mtime_ns = ?,"
                " analysed_at = ? WHERE id = ?",
                (r.content_hash, r.size, r.mtime_ns, now, r.sample_id),
            )
            conn.execute("DELETE FROM problems WHERE path = ?", (r.path,))


def analyse_pending(
    catalog: Catalog,
    todo: Sequence[tuple[int, str]],
    report: ScanReport,
    *,
    workers: int,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Phase 2: analyse ``todo`` in ``workers`` processes, writing results in batches.

    Raises:
        KeyboardInterrupt: re-raised after the finished results are committed.
    """
    total = len(todo)
    if total == 0:
        return
    done = 0
    buffer: list[FileResult] = []
    last_write = time.monotonic()

    def take(result: FileResult) -> None:
        nonlocal done, last_write
        buffer.append(result)
        done += 1
        if result.problem is not None:
            report.problems += 1
            log.warning("problem with %s: %s (%s)", result.path, result.problem[1], result.problem[0])
        elif result.reused:
            report.reused += 1
        else:
            report.analysed += 1
        if len(buffer) >= _WRITE_BATCH or time.monotonic() - last_write >= _WRITE_EVERY_S:
            write_results(catalog, buffer)
            buffer.clear()
            last_write = time.monotonic()
        if progress:
            progress(ScanProgress("analyse", done, total, result.path))

    initargs = (str(catalog.path), ANALYSER_VERSION, FINGERPRINT_SPACE)
    try:
        if workers <= 1:
            init_worker(*initargs)
            for sample_id, path in todo:
                if stop is not None and stop.is_set():
                    report.interrupted = True
                    break
                take(process_file(sample_id, path))
        else:
            _run_pool(todo, workers, initargs, take, stop, report)
    finally:
        if buffer:
            write_results(catalog, buffer)
            buffer.clear()


def _run_pool(
    todo: Sequence[tuple[int, str]],
    workers: int,
    initargs: tuple[str, str, str],
    take: Callable[[FileResult], None],
    stop: threading.Event | None,
    report: ScanReport,
) -> None:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    queue = iter(todo)
    in_flight: set[cf.Future[FileResult]] = set()
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker, initargs=initargs)
    try:

        def refill() -> None:
            while len(in_flight) < workers * 4:
                nxt = next(queue, None)
                if nxt is None:
                    return
                in_flight.add(pool.submit(process_file, *nxt))

        refill()
        while in_flight:
            finished, _ = cf.wait(in_flight, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                in_flight.discard(fut)
                take(fut.result())
            if stop is not None and stop.is_set():
                report.interrupted = True
                break
            refill()
    except cf.process.BrokenProcessPool as exc:
        report.errors.append(f"an analysis worker died ({exc}); run the scan again to resume")
        report.interrupted = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def scan(
    catalog: Catalog,
    roots: Sequence[Path | str],
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    refresh_index: bool = True,
    embedder: Any | None = None,
    load_embedder: Callable[[], Any | None] | None = None,
) -> ScanReport:
    """Scan folders into the catalog: index, analyse, refresh vector indexes.

    Args:
        catalog: the open catalog (this process is its only writer during the scan).
        roots: folders to scan (recursively).
        workers: analysis processes (default: CPU count).
        progress: called with :class:`ScanProgress` from this thread.
        stop: set it to stop after the files in flight (the UI's cancel button).
        refresh_index: rebuild/update the vector index of each space afterwards.
        embedder: a CLAP embedder (:func:`companion.embedding.clap.runtime.load_clap`); when
            given, analysed files without a vector in its space are embedded after the
            analysis (phase ``embed``), interruptibly, keeping what finished.
        load_embedder: instead of ``embedder``: called once the analysis has finished, and
            what it returns (or None: no phase ``embed``) is used as ``embedder``. The model
            then loads after the analysis workers are gone (they are forked from this process,
            better before inference threads exist), and not at all when the scan was stopped.

    Returns:
        A :class:`ScanReport`. On KeyboardInterrupt, finished work is committed and the
        interrupt is re-raised.

    Raises:
        CompanionError: none of the roots is a folder.
    """
    resolved = [Path(r).expanduser().resolve() for r in roots]
    report = ScanReport(roots=[str(r) for r in resolved])
    valid = []
    for r in resolved:
        if r.is_dir():
            valid.append(r)
        else:
            report.errors.append(f"{r} is not a folder — skipped")
    if not valid:
        raise CompanionError("nothing to scan: " + "; ".join(report.errors))
    n_workers = workers or os.cpu_count() or 1
    log.info("scan started: %s (%d workers)", ", ".join(map(str, valid)), n_workers)
    for error in report.errors:
        log.warning("%s", error)
    log.info("phase index started: walking %d folder(s)", len(valid))
    t0 = time.perf_counter()
    for root in valid:
        index_root(catalog, root, report, progress)
    report.index_s = time.perf_counter() - t0
    todo = pending_files(catalog, [str(r) for r in valid])
    log.info(
        "phase analyse started: %d files to analyse (%d found: %d new, %d changed, %d unchanged, %d missing)",
        len(todo),
        report.found,
        report.new,
        report.changed,
        report.unchanged,
        report.missing,
    )
    t1 = time.perf_counter()
    try:
        analyse_pending(catalog, todo, report, workers=n_workers, progress=progress, stop=stop)
    finally:
        report.analyse_s = time.perf_counter() - t1
        report.pending_left = len(pending_files(catalog, [str(r) for r in valid]))
    try:
        if embedder is None and load_embedder is not None and not report.interrupted:
            embedder = load_embedder()
        _finish(catalog, report, progress, stop, refresh_index, embedder)
    finally:
        log.info(
            "scan %s in %.1f s: %d new, %d changed, %d unchanged, %d missing, %d analysed, %d reused,"
            " %d problems, %d embedded, %d still pending",
            "stopped" if report.interrupted else "finished",
            time.perf_counter() - t0,
            report.new,
            report.changed,
            report.unchanged,
            report.missing,
            report.analysed,
            report.reused,
            report.problems,
            report.embedded,
            report.pending_left,
        )
    return report


def _finish(
    catalog: Catalog,
    report: ScanReport,
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    refresh_index: bool,
    embedder: Any | None,
) -> None:
    """Phase 3 of :func:`scan`: embed with CLAP (when given), then refresh the vector indexes."""
    if embedder is not None and not report.interrupted:
        log.info("phase embed started: analysed files without a %s vector", getattr(embedder, "space", "CLAP"))

        def on_embed(done: int, total: int) -> None:
            if progress:
                progress(ScanProgress("embed", done, total))

        filled = backfill(catalog, embedder, on_embed, stop=stop, refresh_index=False)
        report.embedded = filled.embedded
        report.interrupted = report.interrupted or filled.interrupted
        report.errors += [f"cannot embed {p}: {why}" for p, why in filled.failed]
        for p, why in filled.failed:
            log.warning("cannot embed %s: %s", p, why)
        log.info(
            "phase embed %s in %.1f s: %d of %d embedded, %d failed",
            "stopped" if filled.interrupted else "finished",
            filled.seconds,
            filled.embedded,
            filled.todo,
            len(filled.failed),
        )
    if refresh_index and (report.analysed or report.reused or report.missing or report.changed or report.embedded):
        from companion.library.indexes import refresh_indexes

        log.info("phase vectors started: refreshing the vector indexes")
        if progress:
            progress(ScanProgress("vectors", 0, None))
        counts = refresh_indexes(catalog)
        if progress:
            total = sum(counts.values())
            progress(ScanProgress("vectors", total, total))
