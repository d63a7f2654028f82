"""Tests of the ``fingerprint/v1`` embedding on written and real library audio."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from companion.embedding.fingerprint import (
    BLOCKS,
    FINGERPRINT_DIM,
    FINGERPRINT_SPACE,
    fingerprint,
    fingerprint_batch,
)
from companion.embedding.fingerprint_features import prepare, raw_features

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
    shape_ok = v.shape == (FINGERPRINT_DIM,) and v.dtype == np.float32
    return shape_ok and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5


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
    quantised = np.round(v.astype(np.float64) * 1e4).astype(np.int32)
    digest = hashlib.sha256(quantised.tobytes()).hexdigest()
    assert digest == GOLDEN_TONE_SHA256, digest


GOLDEN_TONE_SHA256 = "bf738dd81a597ab13b3f9c0857eef41cb8e64dce342836d4c59d623eb335cb89"


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
    hats = [
        SONIC_PI / "drum_cymbal_closed.flac",
        LMMS_DRUMS / "hihat_closed01.ogg",
        LMMS_DRUMS / "hihat_closed02.ogg",
    ]
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
    others = [LMMS_DRUMS / f"tom0{i}.ogg" for i in range(1, 6)]
    others += [LMMS_DRUMS / f"hihat_closed0{i}.ogg" for i in range(1, 6)]
    _need(query, *snares, *others)
    q = fingerprint(_load(query), SR)
    s = fingerprint_batch([_load(p) for p in snares], SR) @ q
    o = fingerprint_batch([_load(p) for p in others], SR) @ q
    # mean similarity to snares beats mean similarity to non-snares
    assert float(s.mean()) > float(o.mean())


def test_block_layout_covers_the_documented_dims(tmp_path: Path) -> None:
    """Blocks are contiguous and disjoint, reserved dims stay 0, each block counts by its weight."""
    spans = sorted((sl.start, sl.stop) for sl, _ in BLOCKS.values())
    assert spans[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    end = spans[-1][1]
    assert end <= 511
    path = tmp_path / "tone.wav"
    _write_tone(path)  # 0.8 s: no rhythm block
    v = fingerprint(_load(path), SR).astype(np.float64)
    assert np.all(v[end:] == 0.0)
    share = {name: float(np.sum(v[sl] ** 2)) for name, (sl, _) in BLOCKS.items()}
    assert share["rhythm"] == 0.0
    # before the final normalisation every full block had squared norm = its weight, chroma less
    full = [n for n in BLOCKS if n not in ("rhythm", "chroma")]
    scale = share[full[0]] / BLOCKS[full[0]][1]
    for name in full:
        assert share[name] == pytest.approx(BLOCKS[name][1] * scale, rel=1e-3), name
    assert 0.0 < share["chroma"] <= BLOCKS["chroma"][1] * scale + 1e-6


def _harmonic_tone(f0: float, seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6))
    return (0.3 * y * np.exp(-t / 0.5)).astype(np.float32)


@pytest.mark.parametrize("f0", [55.0, 110.0, 261.63, 440.0])
def test_pitch_block_follows_the_fundamental(f0: float) -> None:
    raw = raw_features(prepare(_harmonic_tone(f0, 1.0), SR))
    body, glide = raw["pitch"][0], raw["pitch"][1:]
    assert abs(body - np.log2(f0 / 110.0)) < 0.05  # within 5 % of an octave
    assert np.all(np.abs(glide) < 0.05)  # a steady tone does not glide
    assert np.all(raw["periodicity"][:8] > 0.8)  # and is clearly periodic throughout


def test_pitch_glide_of_a_falling_sweep() -> None:
    """A tom-like sine falling from 200 Hz to 50 Hz glides down, from above the body pitch."""
    t = np.arange(int(0.6 * SR)) / SR
    freq = 50.0 + 150.0 * np.exp(-t / 0.1)
    y = (0.8 * np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / 0.3)).astype(np.float32)
    glide = raw_features(prepare(y, SR))["pitch"][1:]
    assert glide[0] > 0.3  # the first 12 ms sit well above the body pitch
    assert glide[0] > glide[3] > glide[6]  # and it falls


def test_chroma_peaks_at_the_pitch_class_and_vanishes_for_noise() -> None:
    a = raw_features(prepare(_harmonic_tone(440.0, 1.0), SR))["chroma"]
    assert int(np.argmax(a)) == 9  # A
    noise = np.random.default_rng(3).standard_normal(SR).astype(np.float32) * 0.2
    n = raw_features(prepare(noise, SR))["chroma"]
    assert float(np.linalg.norm(n)) < 0.5 * float(np.linalg.norm(a))


def test_rhythm_block_only_for_rhythmic_sounds() -> None:
    """A 120 BPM click loop has a rhythm block peaking near 0.5 s; a single hit has none."""
    sr = SR
    loop = np.zeros(4 * sr, dtype=np.float32)
    click = (np.random.default_rng(5).standard_normal(400) * np.exp(-np.arange(400) / 60)).astype(np.float32)
    for k in range(8):
        loop[k * sr // 2 : k * sr // 2 + 400] += click
    v = fingerprint(loop, sr)
    sl = BLOCKS["rhythm"][0]
    assert float(np.sum(v[sl] ** 2)) > 0.01
    raw = raw_features(prepare(loop, sr))["rhythm"]
    edges = np.geomspace(0.1, 2.0, raw.size + 1)
    near_beat = (edges[1:] > 0.47) & (edges[:-1] < 0.53)  # bins touching the 0.5 s period
    off_beat = (edges[:-1] > 0.6) & (edges[1:] < 0.9)  # bins between the period and its double
    assert raw[near_beat].max() > 0.5
    assert raw[off_beat].max() < 0.1
    hit = np.zeros(2 * sr, dtype=np.float32)
    hit[:400] = click
    assert not np.any(fingerprint(hit, sr)[sl])


def test_same_vector_with_one_blas_thread_in_a_fresh_process(tmp_path: Path) -> None:
    """Same bytes in, same vector out, whatever the thread settings of the process."""
    path = tmp_path / "tone.wav"
    _write_tone(path, sr=SR)
    here = fingerprint(_load(path), SR)
    out = tmp_path / "v.npy"
    code = (
        "import numpy as np, soundfile as sf;"
        "from companion.embedding.fingerprint import fingerprint;"
        f"y, sr = sf.read({str(path)!r}, dtype='float32');"
        f"np.save({str(out)!r}, fingerprint(y, sr))"
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    assert np.load(out).tobytes() == here.tobytes()
