"""The single-thread BLAS limit is held during suggest and always restored."""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_info

from companion.ranking.blas import single_threaded_blas


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_limit_is_reentrant_and_restored_after_concurrent_use() -> None:
    before = _blas_threads()
    assert before, "numpy should load a BLAS library"
    barrier = threading.Barrier(4)
    inside: list[list[int]] = []

    def worker() -> None:
        with single_threaded_blas():
            barrier.wait()
            with single_threaded_blas():
                np.ones((64, 64)) @ np.ones((64, 64))
                inside.append(_blas_threads())
            barrier.wait()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(all(n == 1 for n in counts) for counts in inside) and len(inside) == 4
    assert _blas_threads() == before


def test_limit_is_restored_when_the_body_raises() -> None:
    before = _blas_threads()
    try:
        with single_threaded_blas():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _blas_threads() == before
