"""A real scanned library of Sonic Pi and LMMS samples, LMMS's single-cycle waveforms and a
silent file among them: what a cold start offers, and how words match without CLAP."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from companion.engine import Engine
from companion.library.catalog import Catalog
from companion.library.scanner import scan
from companion.ranking.rules import load_default_rules

LMMS_FILES = (
    "waveforms/w2_angrysaw.flac",
    "waveforms/w2_addsyn.flac",
    "waveforms/w2_sawsine.flac",
    "waveforms/w2_rad.flac",
    "waveforms/10saw.flac",
    "waveforms/10sine.flac",
    "waveforms/saw2.flac",
    "waveforms/impulse.flac",
    "waveforms/analogsqr.flac",
    "waveforms/halfsine.flac",
    "waveforms/fmsine2.flac",
    "waveforms/lfo_trancegate_whole.flac",
    "shapes/technosynth3.wav",
    "drums/kick01.ogg",
    "drums/snare01.ogg",
    "drums/hihat_closed01.ogg",
    "drums/clap01.ogg",
    "beats/house_loop01.ogg",
    "basses/bass01.ogg",
    "basses/bass_acid01.ogg",
    "basses/techno_synth01.ogg",
    "instruments/piano01.ogg",
    "instruments/e_piano_accord01.ogg",
    "stringsnpads/juno_pad01.ogg",
    "stringsnpads/strings01.ogg",
    "stringsnpads/space_strings01.ogg",
)
SONIC_PI_FILES = (
    "bd_haus.flac",
    "bd_fat.flac",
    "sn_dolf.flac",
    "drum_cymbal_closed.flac",
    "bass_hit_c.flac",
    "bass_thick_c.flac",
    "ambi_drone.flac",
    "ambi_dark_woosh.flac",
    "loop_amen.flac",
    "loop_garzul.flac",
)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path, lmms: Path) -> Path:
    """The catalog (scanned once for the module; tests only read it)."""
    root = tmp_path_factory.mktemp("mixed-lib")
    samples = root / "samples"
    for name in LMMS_FILES:
        (samples / "lmms" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lmms / name, samples / "lmms" / name)
    (samples / "sonic-pi").mkdir(parents=True)
    for name in SONIC_PI_FILES:
        shutil.copy2(sonic_pi / name, samples / "sonic-pi" / name)
    # a silent take (one second of digital silence with a dither-level click)
    quiet = np.zeros(44100, dtype=np.float32)
    quiet[100] = 1e-4
    sf.write(samples / "sonic-pi" / "take_07.wav", quiet, 44100, subtype="PCM_16")
    db = root / "library.db"
    with Catalog.open(db) as catalog:
        report = scan(catalog, [samples], workers=2)
    assert report.analysed == len(LMMS_FILES) + len(SONIC_PI_FILES) + 1, report
    return db


def _is_unfit(path: str) -> bool:
    return "/waveforms/" in path or "/shapes/" in path or path.endswith("take_07.wav")


def test_cold_start_offers_no_single_cycle_waveform_nor_silence_and_spans_instruments(library: Path):
    with Catalog.open(library) as catalog:
        engine = Engine(catalog, default_mode="fusion")
        top = engine.suggest(top_k=10)
        assert len(top) == 10
        assert [s.path for s in top if _is_unfit(s.path)] == []
        instruments = {s.instrument for s in top if s.instrument}
        assert len(instruments) >= 5, [(Path(s.path).name, s.instrument) for s in top]
        # the control: the same rules without the cold-start fitness fields list waveforms
        rules = load_default_rules()
        assert rules.cold_start is not None
        lax = rules.model_copy(
            update={
                "cold_start": rules.cold_start.model_copy(
                    update={"min_duration_s": 0.0, "min_peak_dbfs": -200.0, "exclude_tags": ()}
                )
            }
        )
        # Over the whole library (37 files), not the top ten: the waveforms carry no instrument
        # from the audio, so the instrument spread alone keeps them out of the first places.
        everything = len(LMMS_FILES) + len(SONIC_PI_FILES) + 1
        assert not any(_is_unfit(s.path) for s in engine.suggest(top_k=everything))
        lax_all = Engine(catalog, rules=lax).suggest(top_k=everything)
        assert sum(_is_unfit(s.path) for s in lax_all) >= 10


def test_a_v2_rules_document_without_the_cold_start_fitness_fields_stays_valid():
    from companion.ranking.rules import parse_rules

    doc = load_default_rules().to_json()
    for name in ("min_duration_s", "min_peak_dbfs", "exclude_tags"):
        del doc["cold_start"][name]
    cold = parse_rules(doc).cold_start
    assert cold is not None and "waveforms" in cold.exclude_tags
    assert (cold.min_duration_s, cold.min_peak_dbfs) == (0.02, -50.0)


def test_mood_and_genre_words_steer_the_cold_list_without_clap_and_say_which_word_matched(library: Path):
    from companion.ranking.context import SessionContext

    with Catalog.open(library) as catalog:
        engine = Engine(catalog, default_mode="fusion")  # no text embedder: no CLAP
        plain = [Path(s.path).name for s in engine.suggest(top_k=10)]
        steered = engine.suggest(top_k=10, context=SessionContext(mood_tags=["dark", "pad"], genre="techno"))
        why = {Path(s.path).name: s.rationale for s in steered}
        assert [Path(s.path).name for s in steered] != plain
        assert "mood: dark" in why["ambi_dark_woosh.flac"]
        assert "genre: techno" in why["techno_synth01.ogg"]
        assert "mood: pad" in why["juno_pad01.ogg"]  # "pad" is a word of its name
        # a sample the analysis calls a pad, without "pad" in its name, matches by instrument
        by_instrument = [n for n, r in why.items() if "matches 'pad'" in r]
        assert by_instrument and all("pad" not in n for n in by_instrument)


def test_search_without_clap_matches_any_word_and_instruments_by_synonym(library: Path):
    from companion.app.search import search_library

    with Catalog.open(library) as catalog:
        engine = Engine(catalog)
        warm_pad = search_library(engine, catalog, "warm pad")
        assert warm_pad.hits, "no matches for 'warm pad'"
        assert warm_pad.hits[0].row.instrument == "pad" or "pad" in warm_pad.hits[0].row.name
        assert all("'pad'" in h.rationale for h in warm_pad.hits)
        names = {h.row.name for h in warm_pad.hits}
        assert "juno_pad01.ogg" in names
        kick = search_library(engine, catalog, "kick")
        kicks = {h.row.name for h in kick.hits}
        assert {"bd_haus.flac", "bd_fat.flac", "kick01.ogg"} <= kicks  # bd_*: kicks by instrument
        assert all(h.row.instrument == "kick" or "kick" in h.row.name for h in kick.hits)
        both = search_library(engine, catalog, "dark pad")  # ambi_dark_woosh: named dark, a pad
        assert (both.hits[0].row.name, both.hits[0].rationale) == ("ambi_dark_woosh.flac", "matches 'dark', 'pad'")
        assert {h.rationale for h in both.hits[1:]} == {"matches 'pad'"}
