"""Tests of the ``fingerprint/v1`` embedding on written and real library audio."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from companion.embedding.fingerprint import (
    FINGERPRINT_DIM,
    FINGERPRINT_SPACE,
    fingerprint,
    fingerprint_batch,
)

SR = 22050
SONIC_PI = Path("/usr/share/sonic-pi/samples")
LMMS_DRUMS = Path("/usr/share/lmms/samples/drums")


def _load(path: Path) -> np.ndarray:
    """Decode a file to mono float32 at 22 050 Hz (soundfile + soxr)."""
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    return soxr.resample(y, sr, SR).astype(np.float32) if sr != SR else y


def _need(*paths: Path) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"library sample(s) not installed: {missing}")


def _write_tone(path: Path, sr: int = 44100) -> None:
    """Write a 0.8 s decaying 110 Hz tone with a noise click, 16-bit PCM at ``sr`` Hz."""
    t = np.arange(int(0.8 * sr)) / sr
    rng = np.random.default_rng(1234)
    click = rng.standard_normal(t.size) * np.exp(-t / 0.005)
    tone = np.sin(2 * np.pi * 110.0 * t + 3.0 * np.exp(-t / 0.03)) * np.exp(-t / 0.25)
    y = 0.5 * (0.7 * tone + 0.3 * click)
    sf.write(str(path), y, sr, subtype="PCM_16")


def _is_unit(v: np.ndarray) -> bool:
    return v.shape == (FINGERPRINT_DIM,) and v.dtype == np.float32 and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


def test_contract_constants() -> None:
    assert FINGERPRINT_SPACE == "fingerprint/v1"
    assert FINGERPRINT_DIM == 512


def test_written_file_gives_finite_unit_vector(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    _write_tone(path)
    v = fingerprint(_load(path), SR)
    assert _is_unit(v)
    assert np.all(np.isfinite(v))
    assert v[511] == 0.0  # silence flag off for a real sound


def test_deterministic_same_file_twice(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    _write_tone(path)
    a = fingerprint(_load(path), SR)
    b = fingerprint(_load(path), SR)
    assert a.tobytes() == b.tobytes()


def test_vector_hash_is_stable(tmp_path: Path) -> None:
    """Pins fingerprint/v1: a change here means the space changed and its version must be bumped."""
    path = tmp_path / "tone.wav"
    _write_tone(path, sr=SR)  # written at the analysis rate: no resampler in the loop
    v = fingerprint(_load(path), SR)
    # quantise to 1e-4 so last-bit float differences between machines do not change the hash
    digest = hashlib.sha256(np.round(v.astype(np.float64) * 1e4).astype(np.int32).tobytes()).hexdigest()
    assert digest == GOLDEN_TONE_SHA256, digest


GOLDEN_TONE_SHA256 = "4ed0a0986f1b8efacdd1e57383a494669f160ae786e6c9412208dad01ad42a6c"


@pytest.mark.parametrize(
    "signal",
    [
        np.zeros(22050, dtype=np.float32),
        np.zeros(0, dtype=np.float32),
        np.full(5000, 1e-7, dtype=np.float32),
        np.array([np.nan, np.inf, 0.0] * 100, dtype=np.float32),
    ],
    ids=["zeros", "empty", "below-100dBFS", "non-finite"],
)
def test_silent_input_gives_the_silence_vector(signal: np.ndarray) -> None:
    v = fingerprint(signal, SR)
    assert _is_unit(v)
    expected = np.zeros(FINGERPRINT_DIM, dtype=np.float32)
    expected[511] = 1.0
    assert np.array_equal(v, expected)


def test_near_silent_but_audible_input_is_a_normal_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    _write_tone(path)
    y = _load(path)
    loud = fingerprint(y, SR)
    quiet = fingerprint(y * np.float32(10 ** (-70 / 20)), SR)  # −70 dB: quiet, not silent
    assert _is_unit(quiet) and quiet[511] == 0.0
    assert float(loud @ quiet) > 0.99  # gain does not change the fingerprint


def test_other_sample_rate_is_resampled(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    _write_tone(path)
    y44, sr44 = sf.read(str(path), dtype="float32")
    a = fingerprint(y44, sr44)
    b = fingerprint(_load(path), SR)
    assert _is_unit(a)
    assert float(a @ b) > 0.98


def test_batch_matches_single(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    _write_tone(path)
    y = _load(path)
    noise = np.random.default_rng(7).standard_normal(8000).astype(np.float32) * 0.3
    batch = fingerprint_batch([y, noise], SR)
    assert batch.shape == (2, FINGERPRINT_DIM) and batch.dtype == np.float32
    assert np.array_equal(batch[0], fingerprint(y, SR))
    assert np.array_equal(batch[1], fingerprint(noise, SR))
    assert fingerprint_batch([], SR).shape == (0, FINGERPRINT_DIM)


def test_kick_is_nearer_kicks_than_hihats_across_libraries() -> None:
    kicks = [SONIC_PI / "bd_808.flac", SONIC_PI / "bd_haus.flac", LMMS_DRUMS / "kick01.ogg"]
    hats = [SONIC_PI / "drum_cymbal_closed.flac", LMMS_DRUMS / "hihat_closed01.ogg", LMMS_DRUMS / "hihat_closed02.ogg"]
    _need(*kicks, *hats)
    k = fingerprint_batch([_load(p) for p in kicks], SR)
    h = fingerprint_batch([_load(p) for p in hats], SR)
    kk = k @ k.T
    within_kick = kk[np.triu_indices(3, 1)].min()
    kick_hat = (k @ h.T).max()
    assert within_kick > kick_hat


def test_snare_query_ranks_snares_above_toms_and_hats() -> None:
    """A snare from one library finds the other library's snares before its toms and hats."""
    query = SONIC_PI / "sn_dolf.flac"
    snares = [LMMS_DRUMS / f"snare0{i}.ogg" for i in range(1, 6)]
    others = [LMMS_DRUMS / f"tom0{i}.ogg" for i in range(1, 6)] + [LMMS_DRUMS / f"hihat_closed0{i}.ogg" for i in range(1, 6)]
    _need(query, *snares, *others)
    q = fingerprint(_load(query), SR)
    s = fingerprint_batch([_load(p) for p in snares], SR) @ q
    o = fingerprint_batch([_load(p) for p in others], SR) @ q
    # mean similarity to snares beats mean similarity to non-snares
    assert float(s.mean()) > float(o.mean())
