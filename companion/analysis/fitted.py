"""Small fitted classifiers over the descriptor vector, shipped with the package as ``.npz``.

A model is a standardiser, optionally hidden layers with ReLU (a small multi-layer perceptron,
scikit-learn's ``MLPClassifier``), then a softmax over ``W·h + b`` (without hidden layers: a
multinomial logistic regression), fitted with scikit-learn by ``benchmarks/datasets/fit_descriptor_models.py`` and
stored as plain arrays, so the app needs numpy only. Each file also holds ``min_confidence``:
the probability above which the fit script measured, on source families held out from the
fit, that at least 90 % of the answers were right (see the script's reliability table). Below
it the caller abstains.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class FittedModel:
    """A standardised multinomial logistic regression, or a small MLP with ReLU hidden layers.

    Attributes:
        classes: class names, (k,).
        columns: indices into the descriptor vector that the model reads, (m,) int.
        mean, scale: (m,) float64 standardiser (``z = (x[columns] - mean) / scale``).
        weights: (k, m) float64; bias: (k,) float64. For two classes scikit-learn stores one
            row; :meth:`proba` handles both forms.
        min_confidence: probability from which answers are trusted (see the module docstring).
        hidden: the hidden layers, first to last: ``(W, b)`` pairs with W (units, inputs)
            float64 and b (units,) float64; each computes ``relu(W·h + b)``. Empty for a
            logistic regression. ``weights`` then reads the last hidden layer's units.
    """

    classes: tuple[str, ...]
    columns: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    min_confidence: float
    hidden: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities.

        Args:
            x: (N_DESCRIPTORS,) or (n, N_DESCRIPTORS) float descriptor vector(s).

        Returns:
            (k,) or (n, k) float64 probabilities in the order of :attr:`classes`.
        """
        x2 = np.atleast_2d(np.asarray(x, dtype=np.float64))[:, self.columns]
        z = (x2 - self.mean) / self.scale
        for w, b in self.hidden:
            z = np.maximum(z @ w.T + b, 0.0)
        logits = z @ self.weights.T + self.bias
        if self.weights.shape[0] == 1:  # binary: one row scores the second class
            logits = np.hstack([np.zeros_like(logits), logits])
        p = softmax(logits)
        return p[0] if np.ndim(x) == 1 else p

    def predict(self, x: np.ndarray) -> tuple[str, float]:
        """The most probable class of one descriptor vector and its probability."""
        p = self.proba(x)
        i = int(np.argmax(p))
        return self.classes[i], float(p[i])

    def save(self, path: Path) -> None:
        """Write the model as an ``.npz`` file."""
        arrays: dict[str, Any] = {
            "classes": np.asarray(self.classes),
            "columns": self.columns,
            "mean": self.mean,
            "scale": self.scale,
            "weights": self.weights,
            "bias": self.bias,
            "min_confidence": np.float64(self.min_confidence),
        }
        np.savez(path, **arrays, **layer_arrays("hidden", self.hidden))

    @classmethod
    def load(cls, path: Path) -> FittedModel:
        """Read a model written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            KeyError: the file lacks one of the arrays.
        """
        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=tuple(str(c) for c in data["classes"]),
                columns=data["columns"].astype(int),
                mean=data["mean"],
                scale=data["scale"],
                weights=data["weights"],
                bias=data["bias"],
                min_confidence=float(data["min_confidence"]),
                hidden=read_layers(data, "hidden"),
            )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax along the last axis of (k,) or (n, k) logits; float64, rows summing to 1."""
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


def layer_arrays(prefix: str, layers: tuple[tuple[np.ndarray, np.ndarray], ...]) -> dict[str, Any]:
    """Numbered ``(W, b)`` layers as ``.npz`` entries ``<prefix><i>_w`` / ``<prefix><i>_b``."""
    out: dict[str, Any] = {}
    for i, (w, b) in enumerate(layers):
        out[f"{prefix}{i}_w"], out[f"{prefix}{i}_b"] = w, b
    return out


def read_layers(data: Any, prefix: str, dtype: Any = None) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The layers :func:`layer_arrays` wrote into an opened ``.npz`` (``np.load``), first to last,
    cast to ``dtype`` when given.

    Raises:
        KeyError: a layer's weights lack their bias.
    """
    n = sum(1 for name in data.files if name.startswith(prefix) and name.endswith("_w"))
    return tuple(
        (np.asarray(data[f"{prefix}{i}_w"], dtype=dtype), np.asarray(data[f"{prefix}{i}_b"], dtype=dtype))
        for i in range(n)
    )


@cache
def load_model(name: str) -> FittedModel:
    """Load a shipped model (``companion/analysis/models/<name>.npz``); cached per process.

    Raises:
        FileNotFoundError: no such model in the package.
    """
    return FittedModel.load(MODEL_DIR / f"{name}.npz")
