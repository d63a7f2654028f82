"""Run the ranker's small matrix products on one BLAS thread.

OpenBLAS spreads even a 40 × 512 product over its thread pool; waking those threads on a busy
machine (a DAW, an analysis scan) costs milliseconds — far more than the product itself
(≈ 0.05 ms). Measured on the 2-core dev machine under load: p99 of a 40 × 512 Gram matrix
4–76 ms with the pool, 0.03 ms on one thread. The ranker therefore limits BLAS to one thread
for the duration of a ``suggest`` call, with threadpoolctl (the scikit-learn project's tool for
exactly this).

The limit is process-wide (OpenBLAS with its own threads), and threadpoolctl lets only one
Python thread at a time change it: the limiter must be entered and left as a context in one
thread, which hands control back when it ends. So this context holds a process-wide re-entrant
lock: calls from several threads run one after the other (each takes milliseconds), nested
calls in one thread share the outer limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.RLock()
_local = threading.local()
_controller: Any = None
_unavailable = False


def _get_controller() -> Any:
    global _controller, _unavailable
    if _controller is None and not _unavailable:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _unavailable = True
            log.warning(
                "threadpoolctl is not installed: BLAS stays multi-threaded, "
                "suggestion latency may spike under load (pip install threadpoolctl)"
            )
            return None
        _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Context in which BLAS (OpenBLAS, MKL …) uses one thread; re-entrant, serialised."""
    with _lock:
        depth = getattr(_local, "depth", 0)
        controller = _get_controller() if depth == 0 else None
        _local.depth = depth + 1
        try:
            if controller is None:
                yield
            else:
                with controller.limit(limits=1, user_api="blas"):
                    yield
        finally:
            _local.depth = depth
