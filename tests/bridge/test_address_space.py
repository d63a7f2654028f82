"""The address space parses every documented spelling and classifies every bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from companion.bridge.address_space import ADDRESS_SPACE, OUTGOING, SPEC_BY_ADDRESS
from companion.bridge.bad_input import BadInputError
from companion.bridge.updates import Parsed, fold
from companion.music.keys import Key

README = Path(__file__).resolve().parents[2] / "plugin_bridge" / "README.md"


def parse(address: str, *args: object) -> Parsed:
    return SPEC_BY_ADDRESS[address].parse(address, *args)


def kind_of(address: str, *args: object) -> str:
    with pytest.raises(BadInputError) as info:
        parse(address, *args)
    assert info.value.address == address
    return info.value.kind


@pytest.mark.parametrize("spelling", ["A minor", "Am", "A min", "8A", "a minor", " Am "])
def test_key_spellings_all_mean_a_minor(spelling: str) -> None:
    assert parse("/context/key", spelling).fields == {"key": Key(9, "minor")}


def test_key_with_separate_mode_word() -> None:
    assert parse("/context/key", "F#", "minor").fields == {"key": Key(6, "minor")}
    assert parse("/context/key", "Eb", "major").fields == {"key": Key(3, "major")}


@pytest.mark.parametrize("address", ["/context/bpm", "/tempo/raw"])
def test_bpm_accepts_float_and_int_and_bounds(address: str) -> None:
    assert parse(address, 124.5).fields == {"bpm": 124.5}
    assert parse(address, 90).fields == {"bpm": 90.0}
    assert parse(address, 20.0).fields == {"bpm": 20.0}
    assert parse(address, 999).fields == {"bpm": 999.0}
    assert kind_of(address, 19.99) == "out_of_range"
    assert kind_of(address, 1000.0) == "out_of_range"
    assert kind_of(address, math.nan) == "out_of_range"
    assert kind_of(address, math.inf) == "out_of_range"
    assert kind_of(address, "fast") == "wrong_type"
    assert kind_of(address, True) == "wrong_type"
    assert kind_of(address) == "wrong_type"
    assert kind_of(address, 120.0, 121.0) == "wrong_type"


def test_unknown_key_and_mode_names() -> None:
    assert kind_of("/context/key", "H minor") == "unknown_key"
    assert kind_of("/context/key", "13A") == "unknown_key"
    assert kind_of("/context/key", "A", "lydian") == "unknown_key"
    assert kind_of("/context/mode", "dorian") == "unknown_key"
    assert kind_of("/context/key", 9) == "wrong_type"
    assert kind_of("/context/key") == "wrong_type"


def test_mode_words() -> None:
    assert parse("/context/mode", "minor").fields == {"mode": "minor"}
    assert parse("/context/mode", "maj").fields == {"mode": "major"}


def test_mood_words_split_dedupe_and_clear() -> None:
    assert parse("/context/mood", "Dark", "warm, dusty", "dark").fields == {"mood_tags": ("dark", "warm", "dusty")}
    assert parse("/context/mood").fields == {"mood_tags": ()}
    assert kind_of("/context/mood", "dark", 3) == "wrong_type"
    assert kind_of("/context/mood", *[f"w{i}" for i in range(17)]) == "out_of_range"


def test_genre_prompt_empty_clears() -> None:
    assert parse("/context/genre", "Techno").fields == {"genre": "Techno"}
    assert parse("/context/genre", "").fields == {"genre": None}
    assert parse("/context/prompt", "dusty vinyl piano").fields == {"prompt": "dusty vinyl piano"}
    assert kind_of("/context/genre", 1.0) == "wrong_type"


def test_time_remaining_seconds() -> None:
    assert parse("/context/time_remaining", 600.0).fields == {"time_remaining_s": 600.0}
    assert kind_of("/context/time_remaining", -1.0) == "out_of_range"


@pytest.mark.parametrize("address", ["/context/playing", "/play"])
def test_playing_flags(address: str) -> None:
    assert parse(address, 1).fields == {"playing": True}
    assert parse(address, 0.0).fields == {"playing": False}
    assert parse(address, True).fields == {"playing": True}
    assert parse(address, False).fields == {"playing": False}
    assert kind_of(address, 7) == "out_of_range"
    assert kind_of(address, "yes") == "wrong_type"


def test_accepted_reset_time_signature() -> None:
    assert parse("/context/accepted", "/samples/kick.wav").accepted == ("/samples/kick.wav",)
    assert kind_of("/context/accepted", "") == "out_of_range"
    assert parse("/context/reset").reset is True
    assert parse("/context/reset", 1.0).reset is True  # REAPER-style trigger argument
    assert parse("/time/signature", "7/8").extras == {"time_signature": "7/8"}
    assert kind_of("/time/signature", "waltz") == "wrong_type"
    assert kind_of("/time/signature", "4/3") == "out_of_range"


def test_register_port_checks() -> None:
    assert parse("/companion/register").query == "register"
    assert parse("/companion/register", 9000).query_args == (9000,)
    assert kind_of("/companion/register", 70000) == "out_of_range"
    assert kind_of("/companion/register", "9000") == "wrong_type"


def test_fold_is_atomic_reset_first_later_wins() -> None:
    update = fold(
        [
            parse("/context/bpm", 120.0),
            parse("/context/reset"),
            parse("/context/bpm", 124.0),
            parse("/context/accepted", "/a.wav"),
            parse("/time/signature", "3/4"),
        ],
        source="osc",
        received_at=1.0,
    )
    assert update.reset is True
    assert dict(update.fields) == {"bpm": 124.0}
    assert update.accepted == ("/a.wav",)
    assert dict(update.extras) == {"time_signature": "3/4"}
    assert not update.is_empty
    assert fold([], source="osc").is_empty


def test_readme_documents_every_address() -> None:
    text = README.read_text(encoding="utf-8")
    for spec in ADDRESS_SPACE:
        assert f"`{spec.address}`" in text, spec.address
    for address in OUTGOING:
        assert f"`{address}`" in text, address
