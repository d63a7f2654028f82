"""The instrument heard in the audio: the descriptor model and the mel networks, pooled.

Two kinds of shipped model answer over the same classes: the descriptor MLP (``instrument.npz``,
:mod:`companion.analysis.fitted`, time-averaged timbre, envelope and rhythm measures) and the
mel networks (:data:`NETWORKS`, :mod:`companion.analysis.mel_cnn`, the time–frequency pattern of
the first two seconds). The networks are one architecture trained with different seeds; their
probabilities are averaged (a deep ensemble: Lakshminarayanan, Pritzel & Blundell, "Simple and
scalable predictive uncertainty estimation using deep ensembles", NeurIPS 2017). The descriptor
model and the ensemble are then pooled log-linearly with the weight :data:`DESCRIPTOR_WEIGHT`
(a weighted, normalised geometric mean; Genest & Zidek, "Combining probability distributions: a
critique and an annotated bibliography", Statistical Science 1(1), 1986). Two networks rather
than one, and the weight, were chosen on leave-one-family-out probabilities (the weight by
``benchmarks/datasets/fit_descriptor_models.py --cnn-lofo``). The descriptor model file's
``min_confidence`` is the threshold measured on the pooled probabilities.
"""

from __future__ import annotations

import numpy as np

from companion.analysis.fitted import load_model, softmax
from companion.analysis.mel_cnn import load_cnn

#: Shortest sound (s) the audio may name an instrument for. The models were trained on sounds of
#: 0.25 s and more, yet their trusted answers on the shorter hits of the Debian packs are right
#: more often than on the longer ones (25 of 28 trusted, of 57 files; 0.71 for longer files); but under 30 ms (a click, one cycle of a
#: waveform) nothing in the sound tells one instrument from another.
MIN_DURATION_S = 0.03

#: The shipped mel networks (``companion/analysis/models/<name>.npz``), written by
#: ``fit_instrument_cnn.py --seeds 2 --write``: seeds 0 and 1.
NETWORKS = ("instrument_cnn_0", "instrument_cnn_1")
#: Weight of the descriptor model in the log-linear pool; the network ensemble has the rest.
#: Chosen by ``fit_descriptor_models.py --cnn-lofo`` (grid 0.2–0.5, best mean accuracy over the
#: held-out families, with the model configuration).
DESCRIPTOR_WEIGHT = 0.2


def pool(p_descriptors: np.ndarray, p_network: np.ndarray, weight: float = DESCRIPTOR_WEIGHT) -> np.ndarray:
    """Weighted, normalised geometric mean of two probability vectors over the same classes:
    ``softmax(weight·log p_descriptors + (1 − weight)·log p_network)``.

    Args:
        p_descriptors, p_network: (k,) or (n, k) float probabilities, rows summing to 1.
        weight: the descriptor model's weight in [0, 1].

    Returns:
        Same shape, float64, rows summing to 1.
    """
    return softmax(
        weight * np.log(np.asarray(p_descriptors, dtype=np.float64) + 1e-9)
        + (1.0 - weight) * np.log(np.asarray(p_network, dtype=np.float64) + 1e-9)
    )


def network_proba(patch: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """The mean probabilities of the shipped networks (:data:`NETWORKS`) for one input.

    Args:
        patch: (N_MELS, N_FRAMES) float32 from :func:`companion.analysis.mel_cnn.mel_patch`.

    Returns:
        ``(classes, probabilities (k,) float64)``.

    Raises:
        ValueError: the networks disagree on the classes (a packaging error).
    """
    networks = [load_cnn(name) for name in NETWORKS]
    classes = networks[0].classes
    if any(n.classes != classes for n in networks):
        raise ValueError(f"the instrument networks disagree on the classes: {[n.classes for n in networks]}")
    return classes, np.mean([n.proba(patch) for n in networks], axis=0)


def instrument_proba(descriptors: np.ndarray, patch: np.ndarray) -> tuple[tuple[str, ...], np.ndarray, float]:
    """The pooled instrument probabilities of one sample.

    Args:
        descriptors: (N_DESCRIPTORS,) float32 from :func:`companion.analysis.descriptors.describe`.
        patch: (N_MELS, N_FRAMES) float32 from :func:`companion.analysis.mel_cnn.mel_patch`.

    Returns:
        ``(classes, probabilities (k,) float64, min_confidence)``; answers below
        ``min_confidence`` are not to be trusted.

    Raises:
        ValueError: the shipped models disagree on the classes (a packaging error).
    """
    model = load_model("instrument")
    classes, p_network = network_proba(patch)
    if model.classes != classes:
        raise ValueError(f"instrument models disagree on the classes: {model.classes} vs {classes}")
    return model.classes, pool(model.proba(descriptors), p_network), model.min_confidence
