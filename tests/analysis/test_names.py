"""Name hints: tempo, key, kind and tags as sample packs write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.analysis.names import parse_name
from companion.music.keys import Key


@pytest.mark.parametrize(
    ("name", "bpm", "key"),
    [
        ("Loop_Am_124bpm.wav", 124.0, Key(9, "minor")),
        ("128 BPM Synth F#min.wav", 128.0, Key(6, "minor")),
        ("BPM90_Keys_C#m.wav", 90.0, Key(1, "minor")),
        ("Pad Bb_major.wav", None, Key(10, "major")),
        ("Pluck_E_minor_140bpm.wav", 140.0, Key(4, "minor")),
        ("Chords_8A.wav", None, Key(9, "minor")),
        ("Lead Ebmaj 126.5 BPM.aif", 126.5, Key(3, "major")),
        ("Synth_Loop_124_E.wav", None, Key(4, "major")),
    ],
)
def test_reads_tempo_and_key(name: str, bpm: float | None, key: Key) -> None:
    hints = parse_name(Path("pack") / name)
    assert hints.bpm == bpm
    assert hints.key == key


@pytest.mark.parametrize(
    "name",
    ["FX_E.wav", "i_am_here.wav", "Ambience.wav", "Gamma_Ray.wav", "bass_hit_c.flac", "Kick_03.wav", "amen_break.wav"],
)
def test_no_false_keys(name: str) -> None:
    assert parse_name(Path("x") / name).key is None


def test_bare_number_is_only_a_candidate() -> None:
    hints = parse_name(Path("x/Loop_Am_90.wav"))
    assert hints.bpm is None
    assert hints.bare_bpm_candidates == [90.0]
    assert parse_name(Path("x/Kick_03.wav")).bare_bpm_candidates == []


@pytest.mark.parametrize(
    ("path", "kind", "from_stem"),
    [
        ("Drums/Kicks/Kick_03.wav", "one-shot", True),
        ("x/kick_loop_01.wav", "loop", True),
        ("bassloops/tb303_01.ogg", "loop", False),
        ("x/Snare Hit.wav", "one-shot", True),
        ("x/Top Loop 128.wav", "loop", True),
        ("x/ambi_choir.flac", None, False),
        ("x/One Shot Vox.wav", "one-shot", True),
    ],
)
def test_kind_words(path: str, kind: str | None, from_stem: bool) -> None:
    hints = parse_name(Path(path))
    assert hints.kind == kind
    assert hints.kind_from_stem == from_stem


def test_tags_are_folder_and_stem_words() -> None:
    hints = parse_name(Path("/home/me/Samples/Deep House/Bass Loops/DeepBass_Am_124bpm_03.wav"))
    assert hints.tags == ["deep", "house", "bass", "loops"]  # "DeepBass" splits into known words
    assert "am" not in hints.tags and "124bpm" not in hints.tags and "03" not in hints.tags


def test_tags_relative_to_library_root() -> None:
    root = Path("/music/Samples")
    hints = parse_name(root / "Vendor" / "Drums" / "KickHard_04.wav", library_root=root)
    assert hints.tags == ["vendor", "drums", "kick", "hard"]
    assert hints.unpitched


def test_genre_words() -> None:
    assert parse_name(Path("DnB/Break_01.wav")).fast_genre
    assert parse_name(Path("x/trap_hats.wav")).half_time
    assert not parse_name(Path("x/house_groove.wav")).fast_genre
    assert parse_name(Path("bassloops/techno_bass01.ogg")).common_time
    assert parse_name(Path("x/house_groove.wav")).common_time
    assert not parse_name(Path("latin/latin_brass01.ogg")).common_time
    assert not parse_name(Path("x/half_note_pad.wav")).common_time
    assert not parse_name(Path("Keys/electro_piano_waltz.wav")).common_time
