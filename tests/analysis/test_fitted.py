"""Fitted descriptor models: what the fit script writes is what the app computes.

The models are fitted with scikit-learn (``benchmarks/datasets/fit_descriptor_models.py``) and
run with numpy (:class:`companion.analysis.fitted.FittedModel`). Here both kinds the script can
choose — a logistic regression and a one-hidden-layer MLP — are fitted on descriptors of real
Sonic Pi files, written with :meth:`FittedModel.save`, read back and compared with
scikit-learn's own probabilities.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from companion.analysis.audio import decode
from companion.analysis.descriptors import describe
from companion.analysis.features import compute_features
from companion.analysis.fitted import FittedModel, load_model

SONIC_PI = Path("/usr/share/sonic-pi/samples")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "datasets"))


@pytest.fixture(scope="module")
def described() -> tuple[np.ndarray, np.ndarray]:
    if not SONIC_PI.exists():
        pytest.fail(f"needs {SONIC_PI} (apt install sonic-pi-samples; ./dev setup does)")
    groups = {"kick": "bd_*.flac", "snare": "sn_*.flac", "pad": "ambi_*.flac"}
    xs, ys = [], []
    for label, pattern in groups.items():
        for path in sorted(SONIC_PI.glob(pattern))[:8]:
            audio = decode(path)
            xs.append(describe(audio.y, audio.sr, compute_features(audio.y, audio.sr), audio.duration_s))
            ys.append(label)
    return np.asarray(xs, dtype=np.float64), np.asarray(ys)


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # a tiny set: Adam stops at max_iter
@pytest.mark.parametrize(("family", "value"), [("logistic", 1.0), ("mlp", 1.0)])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_saved_model_gives_scikit_learns_probabilities(
    described: tuple[np.ndarray, np.ndarray], tmp_path: Path, family: str, value: float, n_classes: int
) -> None:
    import fit_descriptor_models as fit

    X, y = described
    keep = np.isin(y, ["kick", "snare", "pad"][:n_classes])
    X, y = X[keep], y[keep]
    columns = np.arange(X.shape[1])
    scaler, clf = fit._fit(X, y, (family, value))
    fit._to_model(scaler, clf, columns, 0.7).save(tmp_path / "m.npz")
    model = FittedModel.load(tmp_path / "m.npz")

    assert model.classes == tuple(clf.classes_) and model.min_confidence == 0.7
    assert len(model.hidden) == (1 if family == "mlp" else 0)
    expected = clf.predict_proba(scaler.transform(X))
    np.testing.assert_allclose(model.proba(X), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.proba(X[0]), expected[0], rtol=1e-9, atol=1e-12)  # one vector
    assert model.predict(X[0]) == (clf.classes_[expected[0].argmax()], pytest.approx(expected[0].max()))


def test_shipped_models_load_and_sum_to_one(described: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = described
    for name in ("kind", "instrument"):
        model = load_model(name)
        p = model.proba(X)
        assert p.shape == (len(X), len(model.classes))
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert 0.5 <= model.min_confidence < 1.0
