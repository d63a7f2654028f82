"""Windowing and pooling rule v1."""

from __future__ import annotations

import numpy as np
import pytest

from companion.embedding.clap.pooling import (
    MAX_WINDOWS,
    PIPELINE_VERSION,
    l2_normalise,
    pool,
    space_id,
    split_windows,
    window_starts,
    window_weights,
)

SR = 48_000
W = 10 * SR


def test_space_id_carries_the_pipeline_version() -> None:
    assert PIPELINE_VERSION == 1
    assert space_id("clap-htsat-unfused") == "clap-htsat-unfused/v1"


@pytest.mark.parametrize(
    ("seconds", "starts_s"),
    [
        (0.01, [0.0]),
        (10.0, [0.0]),
        (10.5, [0.0, 0.5]),  # two windows: the second ends the file
        (25.0, [0.0, 7.5, 15.0]),  # ceil(2.5) = 3 windows spread evenly, overlapping
        (30.0, [0.0, 10.0, 20.0]),  # exact multiples do not overlap
    ],
)
def test_window_starts_cover_the_file(seconds: float, starts_s: list[float]) -> None:
    n = int(seconds * SR)
    starts = window_starts(n, W)
    assert starts == [round(s * SR) for s in starts_s]
    if n > W:
        assert starts[0] == 0 and starts[-1] + W == n
        covered = np.zeros(n, bool)
        for s in starts:
            covered[s : s + W] = True
        assert covered.all()


def test_long_files_are_capped() -> None:
    starts = window_starts(1000 * SR, W)
    assert len(starts) == MAX_WINDOWS
    assert starts[-1] == 1000 * SR - W
    # split_windows only looks at the first 120 s.
    y = np.zeros(200 * SR, dtype=np.float32)
    windows = split_windows(y, SR)
    assert len(windows) == 12
    assert all(w.shape == (W,) for w in windows)
    assert np.shares_memory(windows[-1], y)


def test_window_starts_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        window_starts(0, W)
    with pytest.raises(ValueError):
        window_starts(10, 0)


def test_silent_windows_are_left_out_unless_all_are_silent() -> None:
    loud = (0.1 * np.random.default_rng(0).standard_normal(W)).astype(np.float32)
    quiet = np.full(W, 1e-4, dtype=np.float32)  # −80 dBFS
    assert window_weights([loud, quiet, loud]).tolist() == [1.0, 0.0, 1.0]
    assert window_weights([quiet, quiet]).tolist() == [1.0, 1.0]
    assert window_weights([np.zeros(10, np.float32)]).tolist() == [1.0]


def test_pool_normalises_each_window_then_the_mean() -> None:
    a = np.array([3.0, 0.0, 0.0], np.float32)  # long vector
    b = np.array([0.0, 0.1, 0.0], np.float32)  # short vector: counts as much as a after normalising
    v = pool(np.stack([a, b]))
    assert v.dtype == np.float32
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-6)
    assert v[0] == pytest.approx(v[1]) and v[2] == 0.0
    # A zero-weight window does not count.
    v2 = pool(np.stack([a, b]), np.array([1.0, 0.0]))
    assert np.allclose(v2, [1.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        pool(np.stack([a, b]), np.array([0.0, 0.0]))


def test_l2_normalise_keeps_zero_rows() -> None:
    x = l2_normalise(np.array([[0.0, 0.0], [3.0, 4.0]]))
    assert np.allclose(x, [[0.0, 0.0], [0.6, 0.8]])
