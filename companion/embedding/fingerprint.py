"""The deterministic fingerprint embedding ``fingerprint/v1``.

A 512-d float32, L2-normalised vector computed from hand-designed features of timbre, temporal
envelope, periodicity and pitch, pitch class and rhythm, such that "more like this" by cosine
returns the same kind of sound. It needs no model weights, so it is always available; it is
the fallback space when no CLAP model is installed (docs/architecture.md §3).

Front end (:mod:`companion.embedding.fingerprint_features`, which also measures the blocks)
---------------------------------------------------------------------------------------------
The signal (resampled to 22 050 Hz with soxr if needed) is scaled to unit peak, so gain does
not matter, and aligned on its onset: the first 64-sample block within ``ONSET_DB`` (−30 dB)
of the peak. At most ``MAX_ANALYSIS_S`` (10 s) after the onset are analysed. Frames every
256 samples (11.6 ms; the first centred on the onset) are pooled into 8 log-spaced **time segments**
(``SEGMENT_EDGES``): 0–12, 12–23, 23–46, 46–93, 93–186, 186–372, 372–743 ms and
0.74–2.97 s, fine on the attack, where drums differ most, coarse on the tail (cf. the
attack/decay descriptors of Peeters et al. 2011, "The Timbre Toolbox", JASA 130(5)); three
wider **attack / body / tail** segments (``ABT_EDGES``: 0–35, 35–150, 150–600 ms) serve the
finer-grained spectral analyses. Three analyses share these frames: a 1024-point Hann STFT
(envelopes, spectral shape, chroma), a 4096-point Hann STFT (5.4 Hz bins: band flatness and
harmonics) and 2048-sample autocorrelation frames (periodicity, pitch).

Energies are compressed with a cube root (power ** (1/3)), the intensity–loudness power law
used by PLP (Hermansky 1990, JASA 87(4); Stevens' law), so loud cells dominate the similarity
without making the tail irrelevant, as dB values would.

Layout of the 512 dimensions
----------------------------
Each block's raw features are standardised with fixed constants written in this module
(``_STANDARD``, never estimated at run time), clipped to ±4, scaled to unit norm and multiplied
by the square root of the block's weight. Hence, when both sounds have every block, the cosine
of two fingerprints is the weighted mean of the per-block cosines: a block counts by its
weight, not by its size. The weights follow one principle: the three facets of a one-shot's
timbre — spectral envelope over time, noisiness/periodicity, pitch and harmonic structure —
weigh 1 each, split evenly over their blocks; the global envelope shape 0.5; pitch class 0.25,
scaled by how pitched the sound is; rhythm 0.5, present only when the sound has a rhythm.

=========  ====  ======  ====================================================================
dims       size  weight  block
=========  ====  ======  ====================================================================
0–319      320   0.5     ``patch``: mel loudness, 40 Slaney mel bands (30 Hz–11 kHz, librosa
                         ``filters.mel``) × 8 time segments, cube root of power re. the
                         loudest cell; band-major (dims 8·b … 8·b+7 are band b over time)
320–383    64    0.5     ``octave``: the same for 8 log-spaced bands of 1.07 octaves from
                         30 Hz to 11 kHz (sub-band envelopes)
384–407    24    0.5     ``flatness``: spectral flatness in dB (geometric / arithmetic mean of
                         power; MPEG-7 AudioSpectrumFlatness, ISO/IEC 15938-4) of the octave
                         bands 62.5 Hz…11 kHz × attack/body/tail, segment-major
408–421    14    0.5     ``periodicity``: clarity (peak of the normalised autocorrelation) per
                         time segment (8); clarity and log2(f0 / 100 Hz) of three raw windows,
                         0–93 ms, 93–279 ms, 279 ms–1 s (6)
422–430    9     0.5     ``pitch``: body pitch log2(f0 / 110 Hz) (46–372 ms, clarity-weighted);
                         glide per time segment, log2(f0 / body f0) × clarity (8)
431–460    30    0.5     ``harmonics``: energy within ±1/24 octave of harmonics 1–10 of the
                         f0 of the first 300 ms, in dB re. the segment total (floor −60 dB),
                         × attack/body/tail, segment-major
461–472    12    0.5     ``envelope``: cube-root level per time segment (8); log10 duration to
                         −40 dB, log10 time to the energy peak, log10 temporal centroid (s),
                         fraction of the energy in the first 46 ms
473–484    12    0.25    ``chroma``: 12-bin STFT chroma (librosa ``filters.chroma``) of the
                         first 2.97 s, centred, norm = pitchedness (mean clarity 46–372 ms)
485–508    24    0.5     ``rhythm``: autocorrelation of the onset strength (mel spectral flux,
                         as librosa ``onset_strength``; Böck & Widmer 2013) at 24 log-spaced
                         lags from 0.1 to 2 s; 0 for sounds under 1.5 s or with < 3 onsets
509–510    2     —       reserved, always 0
511        1     —       silence flag: 1 for silent input, else 0
=========  ====  ======  ====================================================================

Periodicity and pitch use the normalised autocorrelation (FFT, zero-padded, divided by its
lag-0 value and by the overlap 1 − k/N, i.e. the unbiased estimate; cf. Boersma 1993, "Accurate
short-term analysis of the fundamental frequency and the harmonics-to-noise ratio of a sampled
sound"), searched over 30 Hz–1 kHz (lags up to N/2). The clarity is the value of its peak
(1 for a periodic signal, near 0 for noise); f0 = sr / lag of the peak.

Silent input (peak below ``SILENCE_DB`` = −100 dBFS, including empty input and input with no
finite samples) maps to the unit vector on dimension 511, orthogonal to every other
fingerprint. Determinism: float64 numpy maths (FFT, element-wise products and sums: no BLAS
matrix products, whose summation order depends on the thread count), no randomness; the raw
vector is rounded to 6 decimals before the final normalisation, so last-bit differences
between machines do not reach the stored float32 values. Any change to this computation must
bump :data:`FINGERPRINT_SPACE`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from companion.embedding.fingerprint_features import FLATNESS_NEUTRAL_DB, prepare, raw_features

FINGERPRINT_SPACE = "fingerprint/v1"
FINGERPRINT_DIM = 512
_SILENCE_DIM = 511
_EPS = 1e-12

#: Block name -> (slice of the 512 dims, weight).
BLOCKS: dict[str, tuple[slice, float]] = {
    "patch": (slice(0, 320), 0.5),
    "octave": (slice(320, 384), 0.5),
    "flatness": (slice(384, 408), 0.5),
    "periodicity": (slice(408, 422), 0.5),
    "pitch": (slice(422, 431), 0.5),
    "harmonics": (slice(431, 461), 0.5),
    "envelope": (slice(461, 473), 0.5),
    "chroma": (slice(473, 485), 0.25),
    "rhythm": (slice(485, 509), 0.5),
}

#: Fixed standardisation (centre, scale) of each block's raw features, per dimension or scalar.
_STANDARD: dict[str, tuple[np.ndarray | float, np.ndarray | float]] = {
    # cube-root loudness re. the loudest cell, in [0, 1]; 0.1 = a cell 30 dB down
    "patch": (0.1, 0.2),
    "octave": (0.2, 0.25),
    # band flatness in dB (<= 0): noise bands -2…-5 dB, tonal bands down to -30 dB
    "flatness": (FLATNESS_NEUTRAL_DB, 3.0),
    # clarity per segment (8) in [0, 1]; clarity and log2(f0/100 Hz) of 3 raw windows (6)
    "periodicity": (
        np.array([0.6] * 8 + [0.55, 1.5, 0.6, 1.5, 0.45, 1.0]),
        np.array([0.3] * 8 + [0.25, 1.5, 0.3, 1.5, 0.4, 1.5]),
    ),
    # body pitch log2(f0 / 110 Hz); glide per segment in octaves re. the body pitch, × clarity
    "pitch": (np.array([1.0] + [0.0] * 8), np.array([1.5] + [0.5] * 8)),
    # harmonic energy fraction (dB re. segment total, floor -60): 10 harmonics x attack/body/tail
    "harmonics": (-32.0, 16.0),
    # cube-root level per segment (8); log10 duration, log10 attack, log10 centroid, early fraction
    "envelope": (
        np.array([0.5] * 8 + [-0.4, -1.6, -1.0, 0.4]),
        np.array([0.3] * 8 + [0.4, 0.5, 0.4, 0.3]),
    ),
    "chroma": (0.0, 1.0),
    "rhythm": (0.0, 0.3),
}
_CLIP_Z = 4.0


def fingerprint(y: np.ndarray, sr: int) -> np.ndarray:
    """Compute the ``fingerprint/v1`` embedding of one sound.

    Args:
        y: mono audio, shape (n,) float (float32 expected) in [-1, 1], at ``sr``.
        sr: sample rate in Hz; the scanner passes 22 050 Hz, other rates are resampled (soxr).

    Returns:
        (512,) float32, L2-normalised. Silent or empty input (peak below −100 dBFS) gives the
        unit vector on dimension 511.

    See the module docstring for the layout, weights and sources of the features.
    """
    x = prepare(y, sr)
    if x is None:
        return _silence_vector()
    raw = raw_features(x)
    vec = np.zeros(FINGERPRINT_DIM, dtype=np.float64)
    for name, (sl, weight) in BLOCKS.items():
        vec[sl] = _standardise(name, raw[name]) * np.sqrt(weight)
    vec = np.round(vec, 6)
    norm = float(np.sqrt(np.sum(vec * vec)))
    if norm < _EPS:  # every block neutral: cannot happen for real sounds, but stay a unit vector
        return _silence_vector()
    return (vec / norm).astype(np.float32)


def _standardise(name: str, raw: np.ndarray) -> np.ndarray:
    """A block's raw features -> its direction (unit norm), or 0 where the block is absent.

    Standardised with the fixed ``_STANDARD`` constants and clipped to ±4, then scaled to unit
    norm. Chroma is the exception: it arrives centred with norm = pitchedness in [0, 1], which
    is kept so unpitched sounds carry less pitch-class information.
    """
    if name == "chroma":
        return raw
    if name == "rhythm" and not raw.any():
        return raw  # no rhythm: the block stays 0 rather than the standardised 0 (a direction)
    center, scale = _STANDARD[name]
    z = np.clip((raw - center) / scale, -_CLIP_Z, _CLIP_Z)
    n = float(np.sqrt(np.sum(z * z)))
    return z / n if n > _EPS else np.zeros_like(z)


def fingerprint_batch(ys: Iterable[np.ndarray], sr: int) -> np.ndarray:
    """Fingerprint several sounds.

    Args:
        ys: mono signals, each shape (n_i,) at ``sr``.
        sr: sample rate in Hz shared by all signals.

    Returns:
        (m, 512) float32, each row L2-normalised (see :func:`fingerprint`).
    """
    rows = [fingerprint(y, sr) for y in ys]
    if not rows:
        return np.zeros((0, FINGERPRINT_DIM), dtype=np.float32)
    return np.stack(rows)


def _silence_vector() -> np.ndarray:
    out = np.zeros(FINGERPRINT_DIM, dtype=np.float32)
    out[_SILENCE_DIM] = 1.0
    return out
