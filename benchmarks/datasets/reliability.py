"""Reliability tables: how often estimates are right, per band of their own confidence.

The issue's bar for every analysed field: of the estimates with confidence ≥ 0.8, at least 90 %
right on held-out data. Used by ``fit_descriptor_models.py`` (kind, instrument) and
``benchmarks/analysis_accuracy.py`` (tempo, key).
"""

from __future__ import annotations

import numpy as np

#: Confidence bins, lower bound inclusive; the last one includes 1.0.
BINS = ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01))
#: The confidence from which the issue asks for 90 % right.
TRUSTED = 0.8


def print_reliability(name: str, correct: np.ndarray, conf: np.ndarray) -> None:
    """Print the share right per confidence bin and at ≥ :data:`TRUSTED`.

    Args:
        name: what the table is about (printed in its title).
        correct: (n,) bool, whether each estimate is right.
        conf: (n,) float confidences in [0, 1].
    """
    correct, conf = np.asarray(correct, dtype=bool), np.asarray(conf, dtype=np.float64)
    print(f"  reliability ({name}): bin  n  accuracy")
    for lo, hi in BINS:
        sel = (conf >= lo) & (conf < hi)
        if sel.any():
            print(f"    [{lo:.1f}, {min(hi, 1.0):.1f})  {sel.sum():4d}  {correct[sel].mean():.3f}")
    sel = conf >= TRUSTED
    if sel.any():
        print(f"    ≥ {TRUSTED}: {sel.sum()} of {len(conf)} ({sel.mean():.0%}), accuracy {correct[sel].mean():.3f}")
