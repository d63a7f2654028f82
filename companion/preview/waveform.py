"""Waveform thumbnails: per-bin minimum and maximum of a file's mono mix.

The suggestion cards draw these as a filled envelope (like every DAW browser does). Computing
one reads the file once (at most :data:`MAX_THUMB_S`), so it runs on a worker thread and the
result is kept in a small LRU cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from companion.analysis.audio import read_audio

#: Longest stretch of a file drawn in a thumbnail, seconds.
MAX_THUMB_S = 60.0


def peaks(path: Path | str, bins: int = 200, max_s: float = MAX_THUMB_S) -> np.ndarray:
    """Min/max envelope of a file.

    Args:
        path: an audio file (opened by content, :func:`companion.analysis.audio.read_audio`).
        bins: number of columns.
        max_s: read at most this many seconds.

    Returns:
        (bins, 2) float32: column ``[:, 0]`` the minimum and ``[:, 1]`` the maximum of the mono
        mix (mean of the channels) in each bin, in [-1, 1]. A file shorter than ``bins`` frames
        repeats frames across bins.

    Raises:
        AudioDecodeError: the file cannot be read.
    """
    y, _sr = read_audio(path, max_s, verb="draw")
    mono = y.mean(axis=1) if y.shape[0] else np.zeros(1, dtype=np.float32)
    n = mono.shape[0]
    if n < bins:
        idx = np.minimum((np.arange(bins) * n) // bins, n - 1)
        col = mono[idx]
        return np.stack([col, col], axis=1).astype(np.float32)
    edges = (np.arange(bins + 1) * n) // bins
    mins = np.minimum.reduceat(mono, edges[:-1])
    maxs = np.maximum.reduceat(mono, edges[:-1])
    return np.stack([mins, maxs], axis=1).astype(np.float32)


class PeaksCache:
    """Thread-safe LRU of thumbnails keyed by path.

    Args:
        capacity: most thumbnails kept (200 bins × 8 bytes each: 2 000 entries ≈ 3 MB).
    """

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, path: str) -> np.ndarray | None:
        """The cached thumbnail of ``path`` or None."""
        with self._lock:
            hit = self._items.get(path)
            if hit is not None:
                self._items.move_to_end(path)
            return hit

    def put(self, path: str, value: np.ndarray) -> None:
        """Store a thumbnail."""
        with self._lock:
            self._items[path] = value
            self._items.move_to_end(path)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def load(self, path: str, bins: int = 200) -> np.ndarray:
        """The thumbnail of ``path``, computed on this thread when missing.

        Raises:
            AudioDecodeError: the file cannot be read.
        """
        hit = self.get(path)
        if hit is None:
            hit = peaks(path, bins)
            self.put(path, hit)
        return hit
