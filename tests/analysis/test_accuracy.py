"""Accuracy floors of the tempo, key, pitched and kind estimates on generated loops.

A spread-out subset of the benchmark's sets (seed 0, which the tempo and key models were not
fitted on) is rendered with FluidSynth into a temporary folder; file names carry no hints.
Floors are per group of styles and sit below what ``benchmarks/analysis_accuracy.py`` reports
on the full sets, so that a real regression fails them and draw-to-draw noise does not.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from companion.analysis.pipeline import analyse_file
from companion.music.keys import Key, mirex_score

GENERATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "datasets" / "make_loops.py"
GROOVES = ("four_on_floor", "halftime", "breakbeat", "dnb", "swing", "drums_")
NO_DRUMS = ("arp", "bass", "pad")


def _generator():
    if shutil.which("fluidsynth") is None or not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").exists():
        pytest.fail("needs fluidsynth and fluid-soundfont-gm: apt install fluidsynth fluid-soundfont-gm")
    sys.path.insert(0, str(GENERATOR.parent))
    spec = importlib.util.spec_from_file_location("make_loops", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_loops"] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, object]]:
    folder = tmp_path_factory.mktemp("hard")
    rows = _generator().generate("hard", folder, seed=0, limit=48)
    return [(row, analyse_file(folder / row["file"])[0]) for row in rows]


@pytest.fixture(scope="module")
def easy(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, object]]:
    folder = tmp_path_factory.mktemp("easy")
    rows = _generator().generate("easy", folder, seed=0, limit=16)
    return [(row, analyse_file(folder / row["file"])[0]) for row in rows]


def _acc(pairs: list, double: bool = False) -> float:
    hits = []
    for row, a in pairs:
        factors = (1.0, 2.0, 0.5) if double else (1.0,)
        hits.append(a.bpm is not None and any(abs(a.bpm - row["bpm"] * f) <= 0.04 * row["bpm"] * f for f in factors))
    return float(np.mean(hits))


def _mirex(pairs: list) -> float:
    scores = []
    for row, a in pairs:
        est = None if a.key_pc is None else Key(a.key_pc, a.mode)
        scores.append(mirex_score(est, Key(row["key_pc"], row["mode"])))
    return float(np.mean(scores))


def test_subset_covers_every_kind_of_material(hard: list) -> None:
    styles = {row["style"] for row, _ in hard}
    assert {"four_on_floor", "halftime", "breakbeat", "dnb", "swing", "arp", "bass", "pad", "oneshot_drum"} <= styles
    assert any(s.startswith("drums_") for s in styles)


def test_tempo_of_grooves(hard: list) -> None:
    grooves = [(r, a) for r, a in hard if r["kind"] == "loop" and r["style"].startswith(GROOVES)]
    assert len(grooves) >= 20
    assert _acc(grooves) >= 0.9


def test_tempo_of_loops_without_drums(hard: list) -> None:
    loops = [(r, a) for r, a in hard if r["style"] in NO_DRUMS]
    assert _acc(loops, double=True) >= 0.9
    assert _acc(loops) >= 0.7


def test_every_loop_gets_a_tempo_and_one_shots_none(hard: list) -> None:
    for row, a in hard:
        if row["style"] == "pad" and row["bars"] == 1:
            # One chord held for one bar: the same audio as a sustained chord cut at a bar line,
            # which is a one-shot with no tempo (see test_kind.py); either answer is defensible.
            assert a.kind == "one-shot" or a.bpm is not None, row["file"]
        elif row["kind"] == "loop":
            assert a.kind == "loop" and a.bpm is not None, row["file"]
        elif row["style"] == "oneshot_drum":
            assert a.kind == "one-shot" and a.bpm is None, row["file"]


def test_drum_only_material_gets_no_key(hard: list) -> None:
    unpitched = [(r, a) for r, a in hard if not r["pitched"]]
    assert len(unpitched) >= 8
    keyed = [r["file"] for r, a in unpitched if a.key_pc is not None or a.pitched]
    assert keyed == []


def test_pitched_loops_get_a_key(hard: list) -> None:
    pitched = [(r, a) for r, a in hard if r["pitched"]]
    missing = [r["file"] for r, a in pitched if a.key_pc is None]
    # the loop model that takes keys from drum-only loops (fit_pitched_model.py) also takes it
    # from the odd loop whose drums drown a quiet organ and bass: hard_0001 here, 1 of the 96
    # pitched loops of the full seed-0 set
    assert len(missing) <= 1, missing
    keyed = [a for _, a in pitched if a.key_pc is not None]
    assert all(a.key_source == "estimate" and 0.0 <= a.key_confidence <= 1.0 for a in keyed)


def test_key_accuracy(hard: list) -> None:
    pitched = [(r, a) for r, a in hard if r["pitched"]]
    assert _mirex(pitched) >= 0.75
    grooves = [(r, a) for r, a in pitched if r["style"].startswith(GROOVES)]
    assert _mirex(grooves) >= 0.7


def test_easy_set(easy: list) -> None:
    assert _acc(easy) == 1.0
    assert _mirex(easy) >= 0.9
