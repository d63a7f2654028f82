"""Run work off the GUI thread and get the result back on it (after Picard's ``util/thread.py``).

``run_task(fn, on_done)`` runs ``fn()`` on a :class:`QThreadPool` thread and calls
``on_done(result, error)`` **on the GUI thread** (through a queued signal of a relay object that
lives there), so the callback may touch widgets and the worker never does. Three pools keep
work apart: ``"db"`` has one thread, so catalog reads and writes from the UI are serialised
(the engine's connection is shared); ``"audio"`` has one thread for the auditions the producer
asks for and ``"prefetch"`` one for renders made ahead of time (so a request never waits behind
a guess); ``"io"`` runs thumbnails and the rest.

Errors are never swallowed: the exception reaches ``on_done`` as ``error`` (result None); with
no callback it is logged with its traceback.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

DoneCallback = Callable[[Any, BaseException | None], None]

#: Threads per pool. ``db`` must stay 1 (one shared connection).
POOL_SIZES = {"db": 1, "audio": 1, "prefetch": 1, "io": 2}


class _Relay(QObject):
    """Lives on the GUI thread; its signal carries results back across threads (queued)."""

    done = Signal(object, object, object)  # callback, result, error

    @Slot(object, object, object)
    def deliver(self, callback: DoneCallback | None, result: Any, error: BaseException | None) -> None:
        if callback is None:
            if error is not None:
                log.error(
                    "background task failed: %s",
                    "".join(traceback.format_exception(type(error), error, error.__traceback__)),
                )
            return
        try:
            callback(result, error)
        except Exception:  # a broken callback must not take the event loop down
            log.exception("task callback %r failed", callback)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], callback: DoneCallback | None, relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._callback = callback
        self._relay = relay

    def run(self) -> None:  # worker thread
        try:
            result = self._fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread, never lost
            self._relay.done.emit(self._callback, None, exc)
            return
        self._relay.done.emit(self._callback, result, None)


class TaskRunner(QObject):
    """Named thread pools plus the relay. Create it on the GUI thread.

    Args:
        parent: owning QObject (the controller).
        sizes: threads per pool name (default :data:`POOL_SIZES`).
    """

    def __init__(self, parent: QObject | None = None, sizes: dict[str, int] | None = None) -> None:
        super().__init__(parent)
        # The pools are created before the relay: Qt deletes children in creation order, and a
        # pool's destructor waits for its running tasks, which emit on the relay when they end.
        # Deleting the runner mid-task must not leave them a deleted relay to emit on.
        self._pools: dict[str, QThreadPool] = {}
        for name, size in (sizes or POOL_SIZES).items():
            pool = QThreadPool(self)
            pool.setMaxThreadCount(size)
            pool.setExpiryTimeout(-1)  # keep the threads: starting one costs ~1 ms on the GUI thread
            pool.setObjectName(f"pool-{name}")
            self._pools[name] = pool
        self._relay = _Relay(self)
        self._relay.done.connect(self._relay.deliver)

    def run(
        self,
        fn: Callable[[], Any],
        on_done: DoneCallback | None = None,
        *,
        pool: str = "io",
        priority: int = 0,
    ) -> None:
        """Run ``fn()`` on a worker of ``pool``; ``on_done(result, error)`` on the GUI thread.

        Args:
            fn: the work; must not touch widgets.
            on_done: callback on the GUI thread (None: errors are logged).
            pool: ``"db"``, ``"audio"`` or ``"io"``.
            priority: higher runs first among queued tasks of the pool.
        """
        self._pools[pool].start(_Task(fn, on_done, self._relay), priority)

    def clear(self, pool: str) -> None:
        """Drop the tasks of ``pool`` that have not started (e.g. stale pre-renders)."""
        self._pools[pool].clear()

    def active(self, pool: str) -> int:
        """Threads of ``pool`` running a task now."""
        return self._pools[pool].activeThreadCount()

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Wait for every pool to finish (shutdown and tests). True when all finished."""
        return all(p.waitForDone(timeout_ms) for p in self._pools.values())
