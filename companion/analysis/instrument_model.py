"""The instrument heard in the audio: the descriptor model and the mel network, pooled.

Two shipped models answer over the same classes: the descriptor MLP (``instrument.npz``,
:mod:`companion.analysis.fitted`, time-averaged timbre, envelope and rhythm measures) and the
mel network (``instrument_cnn.npz``, :mod:`companion.analysis.mel_cnn`, the time–frequency
pattern of the first two seconds). Their probabilities are pooled log-linearly with equal weights
(the normalised geometric mean; Genest & Zidek, "Combining probability distributions: a
critique and an annotated bibliography", Statistical Science 1(1), 1986), which out of family
beat either model alone and their arithmetic mean (``benchmarks/datasets/fit_descriptor_models.py``
with ``--cnn-lofo``). The descriptor model file's ``min_confidence`` is the threshold measured
on the pooled probabilities.
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


def pool(p_descriptors: np.ndarray, p_network: np.ndarray) -> np.ndarray:
    """Normalised geometric mean of two probability vectors over the same classes.

    Args:
        p_descriptors, p_network: (k,) or (n, k) float probabilities, rows summing to 1.

    Returns:
        Same shape, float64, rows summing to 1.
    """
    return softmax(
        0.5 * (np.log(np.asarray(p_descriptors, dtype=np.float64) + 1e-9) + np.log(np.asarray(p_network) + 1e-9))
    )


def instrument_proba(descriptors: np.ndarray, patch: np.ndarray) -> tuple[tuple[str, ...], np.ndarray, float]:
    """The pooled instrument probabilities of one sample.

    Args:
        descriptors: (N_DESCRIPTORS,) float32 from :func:`companion.analysis.descriptors.describe`.
        patch: (N_MELS, N_FRAMES) float32 from :func:`companion.analysis.mel_cnn.mel_patch`.

    Returns:
        ``(classes, probabilities (k,) float64, min_confidence)``; answers below
        ``min_confidence`` are not to be trusted.

    Raises:
        ValueError: the two shipped models disagree on the classes (a packaging error).
    """
    model, network = load_model("instrument"), load_cnn("instrument_cnn")
    if model.classes != network.classes:
        raise ValueError(f"instrument models disagree on the classes: {model.classes} vs {network.classes}")
    return model.classes, pool(model.proba(descriptors), network.proba(patch)), model.min_confidence
