"""Accuracy floors of tempo, key and kind on loops of the two independent generators.

The first loops of seed 0 (the benchmark's, never fitted on) of ``compose_band_loops.py`` (GM
soundfonts: ballad, bossa, jazz waltz, reggae, salsa, …) and ``compose_synth_loops.py`` (numpy
synthesis: house, trap, lo-fi, dnb, ambient, reggaeton, …) are rendered into a temporary folder
and analysed by the whole pipeline. Their styles come round-robin, so the subsets cover every
style. Floors sit below what ``benchmarks/analysis_accuracy.py --labelled`` reports on the full
seed-0 sets (benchmarks/datasets/README.md), so that a real regression fails them and the
subset's draw does not. These generators' seeds 1–2 are in the models' fitting material: the
figures are in-distribution by generator; the held-out ones (a model that never saw the
generator) come from the fit scripts.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from companion.analysis.pipeline import analyse_file
from companion.music.keys import Key, mirex_score

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "datasets"))

import compose_band_loops
import compose_synth_loops

BAND_LOOPS = 30
SYNTH_LOOPS = 36
#: Styles of the synthesised set built on a steady dance groove.
DANCE = ("house", "deep_house", "techno", "dubstep", "garage", "afro_house")


def _analysed(folder: Path, rows: list[dict]) -> list[tuple[dict, object]]:
    return [(row, analyse_file(folder / row["file"])[0]) for row in rows]


@pytest.fixture(scope="module")
def band(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, object]]:
    if shutil.which("fluidsynth") is None or not Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").exists():
        pytest.fail("needs fluidsynth and fluid-soundfont-gm: apt install fluidsynth fluid-soundfont-gm")
    folder = tmp_path_factory.mktemp("band")
    return _analysed(folder, compose_band_loops.generate(folder, seed=0, limit=BAND_LOOPS))


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, object]]:
    folder = tmp_path_factory.mktemp("electro")  # not "synth": the app reads folders as hints
    return _analysed(folder, compose_synth_loops.generate(folder, seed=0, limit=SYNTH_LOOPS))


def _acc(pairs: list, double: bool = False) -> float:
    factors = (1.0, 2.0, 0.5) if double else (1.0,)
    return float(
        np.mean(
            [
                a.bpm is not None and any(abs(a.bpm - r["bpm"] * f) <= 0.04 * r["bpm"] * f for f in factors)
                for r, a in pairs
            ]
        )
    )


def _mirex(pairs: list) -> float:
    return float(
        np.mean(
            [
                mirex_score(None if a.key_pc is None else Key(a.key_pc, a.mode), Key(r["key_pc"], r["mode"]))
                for r, a in pairs
            ]
        )
    )


@pytest.mark.parametrize(
    ("which", "acc1", "acc2", "mirex"),
    # measured on these subsets: band 0.80 / 0.87 / 0.68, synth 0.86 / 0.89 / 0.81
    [("band", 0.7, 0.8, 0.6), ("synth", 0.75, 0.8, 0.72)],
)
def test_tempo_and_key_floors(
    which: str, acc1: float, acc2: float, mirex: float, request: pytest.FixtureRequest
) -> None:
    pairs = request.getfixturevalue(which)
    assert len({r["style"] for r, _ in pairs}) >= 12
    assert _acc(pairs) >= acc1
    assert _acc(pairs, double=True) >= acc2
    pitched = [(r, a) for r, a in pairs if r["pitched"]]
    assert len(pitched) >= 20
    assert _mirex(pitched) >= mirex


@pytest.mark.parametrize("which", ["band", "synth"])
def test_loops_are_called_loops_and_pitched_ones_get_a_key(which: str, request: pytest.FixtureRequest) -> None:
    pairs = request.getfixturevalue(which)
    assert np.mean([a.kind == "loop" for _, a in pairs]) >= 0.9
    pitched = [(r, a) for r, a in pairs if r["pitched"]]
    assert np.mean([a.key_pc is not None for _, a in pitched]) >= 0.95


def test_drum_only_loops_get_no_key(band: list, synth: list) -> None:
    # 3 band loops (bossa, ballad, jazz waltz kits) and 4 synthesised ones (techno, afro house,
    # garage, house) with drums alone; their toms, congas and tuned kicks ring in narrow partials
    # that the tonalness rule alone took for pitched material (2 of the 7 got a key before the
    # fitted loop model; on the full seed-0 sets it keys none of 43)
    drums_only = [(r, a) for r, a in [*band, *synth] if not r["pitched"]]
    assert len(drums_only) >= 6
    keyed = [r["file"] for r, a in drums_only if a.key_pc is not None]
    assert len(keyed) <= 1, keyed


def test_dance_grooves_have_a_pulse(synth: list) -> None:
    # house, techno, garage, dubstep and afro-house loops, whose dense hi-hats leave no single onset
    # standing out: they repeat at the beat, so they get a tempo, not "no-pulse" (2 of these 18
    # had none before the periodicity test: take_0003 and take_0015, techno)
    grooves = [(r, a) for r, a in synth if r["style"] in DANCE]
    assert len(grooves) >= 15
    assert [r["file"] for r, a in grooves if a.bpm is None] == []


def test_waltzes_are_read_in_three_four(band: list, synth: list) -> None:
    # 4 band loops (3 jazz waltzes, a melody) and 2 lo-fi loops in 3/4. Read in 4/4 over the same
    # bars, a waltz gets 4/3 of its tempo, which no octave mends; before the metre was chosen from
    # the beat periodicity, 5 of these 6 were read so (1 right within an octave); now all 6 are
    # right within an octave
    waltzes = [(r, a) for r, a in [*band, *synth] if r["beats_per_bar"] == 3]
    assert len(waltzes) >= 5
    assert _acc(waltzes, double=True) >= 0.65, [(r["file"], r["bpm"], a.bpm) for r, a in waltzes]
