"""Key profiles: expected pitch-class weights of major and minor keys, tonic first.

Each profile is a pair of 12-vectors (major, minor) indexed by the interval above the tonic
(0 = tonic, 7 = fifth). Sources:

* ``krumhansl``: Krumhansl & Kessler probe-tone ratings, "Tracing the dynamic changes in
  perceived tonal organization in a spatial representation of musical keys", Psychological
  Review 89(4), 1982 (as tabulated in Krumhansl, *Cognitive Foundations of Musical Pitch*,
  1990, table 2.1).
* ``temperley``: Temperley's revised profiles, "What's key for key? The Krumhansl–Schmuckler
  key-finding algorithm reconsidered", Music Perception 17(1), 1999, p. 73.
* ``temperley2005``: Temperley's Kostka–Payne corpus profiles (MIREX 2005; *Music and
  Probability*, MIT Press 2007, table 6.1): probability of each scale degree per segment.
* ``edma``: profiles derived automatically from an electronic dance music corpus, Faraldo,
  Gómez, Jordà & Herrera, "Key Estimation in Electronic Dance Music", ECIR 2016 (the values
  published with the paper and used by Essentia's ``Key`` algorithm, profile ``edma``).
"""

from __future__ import annotations

import numpy as np

PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "temperley": (
        (5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
        (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0),
    ),
    "temperley2005": (
        (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
        (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
    ),
    "edma": (
        (
            0.16519551,
            0.04749026,
            0.08293076,
            0.06687112,
            0.09994645,
            0.09274123,
            0.05294487,
            0.13159476,
            0.05218986,
            0.07443653,
            0.06940723,
            0.0642515,
        ),
        (
            0.17235348,
            0.05336489,
            0.0761009,
            0.10043649,
            0.05621498,
            0.08527853,
            0.0497915,
            0.13451001,
            0.07458916,
            0.05003023,
            0.09187879,
            0.05545106,
        ),
    ),
}


def key_templates(name: str) -> np.ndarray:
    """The 24 key templates of a profile, z-normalised.

    Args:
        name: a key of :data:`PROFILES`.

    Returns:
        (24, 12) float64: rows 0–11 are the major keys C … B, rows 12–23 the minor keys
        C … B; each row has zero mean and unit norm, so a dot product with a z-normalised
        chroma vector is Pearson's correlation.
    """
    major, minor = (np.asarray(p, dtype=np.float64) for p in PROFILES[name])
    rows = [np.roll(major, k) for k in range(12)] + [np.roll(minor, k) for k in range(12)]
    out = np.stack(rows)
    out -= out.mean(axis=1, keepdims=True)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out
