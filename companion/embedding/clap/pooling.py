"""Windowing and pooling: how a file of any length becomes one CLAP vector.

CLAP sees at most 10 s. The rule below is part of the embedding space id (``…/v1``): change
any constant or step and :data:`PIPELINE_VERSION` must be bumped, because vectors made under
different rules must never be compared.

Rule v1:

1. Only the first :data:`MAX_AUDIO_S` (120 s) of a file are considered (the same cap as the
   analysis decoder).
2. ``n ≤ W`` samples (W = 10 s): one window, the whole file (the front end ``repeatpad``-s it).
3. ``n > W``: ``k = min(ceil(n / W), MAX_WINDOWS)`` full windows whose starts are spread
   evenly from 0 to ``n − W`` (``round(linspace(0, n − W, k))``). The first window starts the
   file, the last ends it, neighbours overlap by less than one window; nothing is padded.
4. Windows whose RMS is below :data:`SILENT_RMS_DBFS` (−60 dBFS) are left out, unless all are
   silent (then all are kept).
5. Each window's projected embedding is L2-normalised, the kept windows are averaged with equal
   weights, and the mean is L2-normalised again.
"""

from __future__ import annotations

import math

import numpy as np

#: Version of the front end + windowing + pooling rule; part of every CLAP space id.
PIPELINE_VERSION = 1
#: Longest stretch of a file (s) that is embedded.
MAX_AUDIO_S = 120.0
#: Most windows per file (12 × 10 s = the whole of :data:`MAX_AUDIO_S`).
MAX_WINDOWS = 12
#: Windows quieter than this RMS (dBFS) are left out of the mean unless all are that quiet.
SILENT_RMS_DBFS = -60.0
#: Guard against division by zero when normalising.
_EPS = 1e-12


def space_id(model_name: str) -> str:
    """The embedding space id of a CLAP model under this pipeline, e.g. ``clap-htsat-unfused/v1``."""
    return f"{model_name}/v{PIPELINE_VERSION}"


def window_starts(n_samples: int, window: int, max_windows: int = MAX_WINDOWS) -> list[int]:
    """Start offsets (samples) of the windows of a file, rule v1 steps 2–3.

    Args:
        n_samples: length of the (already capped) signal in samples, ≥ 1.
        window: window length in samples (480 000 at 48 kHz).
        max_windows: most windows to return.

    Returns:
        Sorted start offsets; each window is ``y[s : s + window]`` (shorter only when
        ``n_samples < window``, in which case the one start is 0).

    Raises:
        ValueError: if ``n_samples`` < 1, ``window`` < 1 or ``max_windows`` < 1.
    """
    if n_samples < 1 or window < 1 or max_windows < 1:
        raise ValueError(f"window_starts needs positive sizes, got n={n_samples}, window={window}, max={max_windows}")
    if n_samples <= window:
        return [0]
    k = min(math.ceil(n_samples / window), max_windows)
    return np.round(np.linspace(0, n_samples - window, k)).astype(np.int64).tolist()


def split_windows(y: np.ndarray, sr: int, window_s: float = 10.0) -> list[np.ndarray]:
    """Cut a mono signal into the windows of rule v1 (steps 1–3).

    Args:
        y: mono audio, shape (n,), float32, at ``sr`` Hz; n ≥ 1.
        sr: sample rate in Hz (48 000 for CLAP).
        window_s: window length in seconds (the front end's ``max_length_s``).

    Returns:
        Views into ``y``, each of shape (min(n, W),).
    """
    y = y[: int(MAX_AUDIO_S * sr)]
    w = int(round(window_s * sr))
    return [y[s : s + w] for s in window_starts(y.shape[0], w)]


def window_weights(windows: list[np.ndarray]) -> np.ndarray:
    """Pooling weights of rule v1 step 4: 1 for audible windows, 0 for silent ones.

    Args:
        windows: the windows of one file, as from :func:`split_windows`.

    Returns:
        shape (len(windows),) float32; all ones if every window is below −60 dBFS RMS.
    """
    rms_db = np.array(
        [20.0 * np.log10(max(float(np.sqrt(np.mean(np.square(w, dtype=np.float64)))), _EPS)) for w in windows]
    )
    keep = rms_db >= SILENT_RMS_DBFS
    if not keep.any():
        keep[:] = True
    return keep.astype(np.float32)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit L2 norm (zero rows stay zero).

    Args:
        x: shape (d,) or (m, d).

    Returns:
        float32 array of the same shape.
    """
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, _EPS)).astype(np.float32)


def pool(window_vectors: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """One file vector from its window embeddings, rule v1 step 5.

    Args:
        window_vectors: raw projected embeddings of the file's windows, shape (k, d) float32.
        weights: shape (k,), from :func:`window_weights`; None = all ones.

    Returns:
        shape (d,) float32, L2-normalised: ``normalise(Σ wᵢ·normalise(vᵢ) / Σ wᵢ)``.

    Raises:
        ValueError: if there is no window or all weights are zero.
    """
    v = l2_normalise(np.atleast_2d(window_vectors))
    if v.shape[0] == 0:
        raise ValueError("cannot pool zero windows")
    w = np.ones(v.shape[0], dtype=np.float32) if weights is None else np.asarray(weights, dtype=np.float32)
    if w.shape != (v.shape[0],) or float(w.sum()) <= 0.0:
        raise ValueError(f"pooling weights must be ({v.shape[0]},) with a positive sum, got {w!r}")
    mean = (w[:, None] * v).sum(axis=0) / w.sum()
    return l2_normalise(mean)
