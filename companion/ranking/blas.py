"""Run the ranker's small matrix products on one BLAS thread.

OpenBLAS spreads even a 40 × 512 product over its thread pool; waking those threads on a busy
machine (a DAW, an analysis scan) costs milliseconds — far more than the product itself
(≈ 0.05 ms). Measured on the 2-core dev machine under load: p99 of a 40 × 512 Gram matrix
4–76 ms with the pool, 0.03 ms on one thread. The ranker therefore limits BLAS to one thread
for the duration of a ``suggest`` call, with threadpoolctl (the scikit-learn project's tool for
exactly this).

The limit is process-wide while it is held; nested and concurrent holders are counted so the
original setting is restored once, when the last one leaves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_depth = 0
_limiter: Any = None
_controller: Any = None
_unavailable = False


def _get_controller() -> Any:
    global _controller, _unavailable
    if _controller is None and not _unavailable:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _unavailable = True
            log.warning("threadpoolctl is not installed: BLAS stays multi-threaded, "
                        "suggestion latency may spike under load (pip install threadpoolctl)")
            return None
        _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Context in which BLAS (OpenBLAS, MKL …) uses one thread; re-entrant and thread-safe."""
    global _depth, _limiter
    with _lock:
        if _depth == 0:
            controller = _get_controller()
            _limiter = controller.limit(limits=1, user_api="blas") if controller is not None else None
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None
