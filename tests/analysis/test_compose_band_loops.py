"""The band-loop generator renders real audio whose length and pitch content match its labels.

Generates a small set with ``benchmarks/datasets/compose_band_loops.py`` (FluidSynth and the
Debian soundfonts must be installed) and checks the rendered files, not the MIDI.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from companion.analysis.names import parse_name

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "datasets"))

import compose_band_loops as gen

LIMIT = 10
MAJOR = {0, 2, 4, 5, 7, 9, 11}
MINOR = {0, 2, 3, 5, 7, 8, 10, 11}  # natural and harmonic minor together
MIXTURE = {"bVII": {10}, "bVI": {8, 3}, "iv": {8}}  # out-of-key tones of major keys' borrowed chords
NAMES = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    if shutil.which("fluidsynth") is None or not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").exists():
        pytest.fail("needs fluidsynth and fluid-soundfont-gm: apt install fluidsynth fluid-soundfont-gm")
    out = tmp_path_factory.mktemp("band")
    rows = gen.generate(out, seed=3, limit=LIMIT)
    return out, rows


def _key_chroma(path: Path, tonic: int) -> np.ndarray:
    """Mean chroma (12,) of the harmonic part of a file, rotated so the labelled tonic is bin 0."""
    import librosa

    y, sr = sf.read(path, dtype="float32", always_2d=True)
    harmonic = librosa.effects.harmonic(y.mean(axis=1), margin=2.0)  # a musician hears past the drums
    chroma = librosa.feature.chroma_cqt(y=harmonic, sr=sr).mean(axis=1)
    return np.roll(chroma, -tonic)


def test_labels_are_complete_and_files_exist(generated: tuple[Path, list[dict]]) -> None:
    out, rows = generated
    assert len(rows) == LIMIT
    assert json.loads((out / "labels.json").read_text()) == rows
    assert (out / "labels.csv").read_text().count("\n") == LIMIT + 1
    for r in rows:
        assert (out / r["file"]).is_file()
        assert r["kind"] == "loop" and r["set"] == "band"
        assert r["bars"] in (1, 2, 4, 8) and r["beats_per_bar"] in (3, 4)
        assert 60 <= r["bpm"] <= 200
        assert r["source"] in ("FluidR3_GM", "sf_GMbank", "FluidR3Mono_GM")
        if r["pitched"]:
            name, mode = r["key"].split()
            assert name in NAMES and mode == r["mode"] and mode in ("major", "minor")
            assert gen.key_name(r["key_pc"], mode) == r["key"]
        else:
            assert r["key"] == "" and r["key_pc"] is None and r["mode"] is None and r["drums"]
    assert any(not r["pitched"] for r in rows), "the first ten loops hold a drum-only loop"
    assert any(r["file"].endswith(".ogg") for r in rows), "and an OGG Vorbis file"


def test_names_carry_only_the_counter(generated: tuple[Path, list[dict]]) -> None:
    _, rows = generated
    for i, r in enumerate(rows, 1):
        assert re.fullmatch(r"band_\d{4}\.(wav|ogg)", r["file"])
        assert int(re.sub(r"\D", "", r["file"])) == i
        # the app reads names (and folders) as hints: these must give it none
        hints = parse_name(Path(r["file"]))
        assert hints.instrument is None and hints.bpm is None and hints.key is None, r["file"]


def test_duration_is_whole_bars(generated: tuple[Path, list[dict]]) -> None:
    out, rows = generated
    for r in rows:
        info = sf.info(out / r["file"])
        assert info.samplerate == 44100
        bars_s = r["bars"] * r["beats_per_bar"] * 60.0 / r["bpm"]
        assert abs(info.frames / info.samplerate - bars_s) <= 0.002, r["file"]
        assert abs(r["duration_s"] - bars_s) <= 0.002
        if r["file"].endswith(".wav"):
            assert info.subtype == "PCM_16"
        y, _ = sf.read(out / r["file"])
        assert 0.01 < np.sqrt(np.mean(y**2)) and np.abs(y).max() <= 1.0, f"{r['file']} is silent or clipped"


def test_pitch_content_matches_the_labelled_key(generated: tuple[Path, list[dict]]) -> None:
    out, rows = generated
    for r in (r for r in rows if r["pitched"]):
        rel = _key_chroma(out / r["file"], r["key_pc"])
        scale = set(MAJOR if r["mode"] == "major" else MINOR)
        if r["style"] == "blues":
            scale.add(10)  # dominant-seventh blues on a major key: the flat seventh belongs
        if r["mode"] == "major":  # borrowed chords named in the progression bring their own tones
            for chord in r["progression"].split(" - "):
                m = re.match(r"(bVII|bVI|iv)(?!i)", chord)
                scale |= MIXTURE[m.group(1)] if m else set()
        on_scale = rel[sorted(scale)].sum() / rel.sum()
        top4 = np.argsort(rel)[::-1][:4]
        assert on_scale >= 0.7, f"{r['file']} ({r['style']}, {r['key']}): {on_scale:.2f} of the chroma on the scale"
        assert 0 in top4, f"{r['file']} ({r['style']}, {r['key']}): tonic not among the top chroma bins {top4}"


def test_same_seed_same_labels_and_audio(generated: tuple[Path, list[dict]], tmp_path: Path) -> None:
    out, rows = generated
    again = gen.generate(tmp_path, seed=3, limit=3)
    assert again == rows[:3]
    for r in again:
        a, _ = sf.read(out / r["file"])
        b, _ = sf.read(tmp_path / r["file"])
        assert np.array_equal(a, b), r["file"]
