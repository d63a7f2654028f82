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
    inside: list[list[int]] = []

    def worker() -> None:
        for _ in range(5):
            with single_threaded_blas():
                with single_threaded_blas():
                    np.ones((64, 64)) @ np.ones((64, 64))
                    inside.append(_blas_threads())

    for _ in range(20):  # a restore from the wrong thread failed about once in ten rounds
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _blas_threads() == before
    assert len(inside) == 400 and all(counts == [1] * len(before) for counts in inside)


def test_limit_is_restored_when_the_body_raises() -> None:
    before = _blas_threads()
    try:
        with single_threaded_blas():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _blas_threads() == before
