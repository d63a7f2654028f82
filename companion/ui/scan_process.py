"""Run a library scan in a separate, freshly *spawned* process (no Qt here).

Why a process of its own: the scanner analyses in a pool of worker processes it starts with
``fork``. Forking the desktop app — a process with Qt, PortAudio, watchdog and thread-pool
threads — can deadlock a child on a lock some other thread held at the fork (seen in the tests:
analysis children stuck forever). A spawned process starts clean and single-threaded, so the
scanner may fork from it safely; the GUI process also stays free of the scan's CPU and GIL load.

Progress comes back over a :class:`multiprocessing.Queue` as plain dicts and is rebuilt into
:class:`~companion.library.scanner.ScanProgress` / :class:`~companion.library.scanner.ScanReport`.
The scanner's log records (start, phases, end, one warning per unreadable file) come back the
same way and are re-logged here under their own logger names, so they reach the app's log file.
Stopping sets a shared event: the scanner finishes the files in flight and commits them, and
the next scan resumes (the catalog is WAL SQLite; the app's own connections see the new rows).

Given the session's CLAP model (a :class:`~companion.app.clap.ClapSpec`), the child loads it once
the analysis is done (its workers are forked before any inference thread exists) and embeds the
analysed files that have no vector of it (phase ``embed``), so text search works once the scan
ends. A model that cannot be loaded there is logged; the scan goes on without embedding.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.errors import CompanionError

if TYPE_CHECKING:
    from companion.app.clap import ClapSpec

log = logging.getLogger(__name__)

#: Loggers whose records the child sends back to the app (INFO and above): the scanner, loading
#: the CLAP model, and this module's own (a model that could not be loaded).
RELAYED_LOGGERS = ("companion.library", "companion.embedding.clap", __name__)

#: The child sends progress at most this often (s); the last report of a phase always goes.
PROGRESS_EVERY_S = 0.05


def _child(
    db_path: str, roots: list[str], workers: int | None, out: Any, stop: Any, clap: ClapSpec | None = None
) -> None:
    """Entry point of the scan process."""
    from companion.library.catalog import Catalog
    from companion.library.scanner import scan

    stopper = threading.Event()

    def relay_stop() -> None:
        stop.wait()
        stopper.set()

    threading.Thread(target=relay_stop, daemon=True).start()
    relay = _Relay(out)
    for name in RELAYED_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(relay)
    last = [0.0]

    def progress(p: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or p.total is None or p.done >= (p.total or 0):
            last[0] = now
            out.put(("progress", asdict(p)))

    try:
        # the model loads once the analysis is done (see scan's load_embedder)
        load = functools.partial(_load_embedder, clap) if clap is not None else None
        with Catalog.open(db_path) as catalog:
            report = scan(catalog, roots, workers=workers, progress=progress, stop=stopper, load_embedder=load)
        out.put(("done", report.to_json()))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        out.put(("error", f"{exc}" if isinstance(exc, CompanionError) else f"{type(exc).__name__}: {exc}"))


def _load_embedder(clap: ClapSpec) -> Any | None:
    """The CLAP embedder of ``clap``, or None (logged) when it cannot be loaded here."""
    try:
        return clap.load()
    except Exception as exc:  # noqa: BLE001 - any failure: scan without embedding, never fail the scan
        log.warning("cannot load the CLAP model %s for this scan (%s) — scanning without embedding", clap.folder, exc)
        return None


class _Relay(logging.Handler):
    """Sends log records of the scan process to the app as ``("log", (name, level, message))``."""

    def __init__(self, out: Any) -> None:
        super().__init__(logging.INFO)
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._out.put(("log", (record.name, record.levelno, record.getMessage())))
        except Exception:  # noqa: BLE001 - logging must never break the scan
            self.handleError(record)


class ScanProcess:
    """One scan in a spawned process.

    Args:
        db_path: the catalog file.
        roots: folders to scan.
        workers: analysis processes (None: CPU count).
        on_progress: called with each :class:`~companion.library.scanner.ScanProgress`, on the
            thread that called :meth:`run`.
        clap: the CLAP model to embed with (loaded in the scan process), or None: no phase ``embed``.
    """

    def __init__(
        self,
        db_path: Path | str,
        roots: Sequence[str],
        *,
        workers: int | None = None,
        on_progress: Callable[[Any], None] | None = None,
        clap: ClapSpec | None = None,
    ) -> None:
        self._ctx = mp.get_context("spawn")
        self.db_path = str(db_path)
        self.roots = list(roots)
        self.workers = workers
        self.on_progress = on_progress
        self.clap = clap
        self._stop = self._ctx.Event()

    def stop(self) -> None:
        """Ask the scan to stop after the files in flight (thread-safe)."""
        self._stop.set()

    def run(self, poll_s: float = 0.2) -> Any:
        """Start the process, relay its progress, wait for it.

        Returns:
            The :class:`~companion.library.scanner.ScanReport`.

        Raises:
            CompanionError: the scan failed (its message), or the process died.
        """
        from companion.library.scanner import ScanProgress, ScanReport

        out = self._ctx.Queue()
        proc = self._ctx.Process(
            target=_child,
            args=(self.db_path, self.roots, self.workers, out, self._stop, self.clap),
            name="companion-scan",
            daemon=False,
        )
        proc.start()
        try:
            while True:
                try:
                    kind, payload = out.get(timeout=poll_s)
                except queue.Empty:
                    if not proc.is_alive():
                        raise CompanionError(
                            f"the scan process ended unexpectedly (exit code {proc.exitcode}) — "
                            "scan again to resume; finished files are kept"
                        ) from None
                    continue
                if kind == "progress":
                    if self.on_progress is not None:
                        self.on_progress(ScanProgress(**payload))
                elif kind == "log":
                    name, level, message = payload
                    logging.getLogger(name).log(level, "%s", message)
                elif kind == "done":
                    return ScanReport(**payload)
                else:
                    raise CompanionError(payload)
        finally:
            proc.join(timeout=30)
            if proc.is_alive():
                log.warning("the scan process did not exit; terminating it")
                proc.terminate()
                proc.join(timeout=5)
            out.close()
