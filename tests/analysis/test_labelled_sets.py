"""The labelled sets' per-file cache: reused only when it was written by this analysis."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "datasets"))

import labelled_sets

from companion.analysis.descriptors import N_DESCRIPTORS
from companion.analysis.pipeline import ANALYSIS_VERSION


def test_descriptor_cache_is_reused_only_for_the_same_analysis(sonic_pi: Path, tmp_path: Path) -> None:
    paths = [sonic_pi / "bd_haus.flac", sonic_pi / "elec_blip.flac"]
    cache = tmp_path / "descriptors.npz"
    fresh = labelled_sets.describe_files(paths, cache, workers=1)
    assert fresh.shape == (2, N_DESCRIPTORS) and np.isfinite(fresh).all()
    assert str(np.load(cache)["analysis"]) == ANALYSIS_VERSION

    # A cache of the same paths written by this analysis is read back as it is …
    marked = np.full_like(fresh, 7.0)
    np.savez(cache, X=marked, paths=np.asarray([str(p) for p in paths]), analysis=np.asarray(ANALYSIS_VERSION))
    np.testing.assert_array_equal(labelled_sets.describe_files(paths, cache, workers=1), marked)
    # … but one written by an older analysis, or with no version, is computed again.
    for extra in ({"analysis": np.asarray("0")}, {}):
        np.savez(cache, X=marked, paths=np.asarray([str(p) for p in paths]), **extra)
        np.testing.assert_allclose(labelled_sets.describe_files(paths, cache, workers=1), fresh, rtol=1e-5)
