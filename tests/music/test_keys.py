import pytest

from companion.errors import KeyParseError
from companion.music.keys import Key, compatible, from_camelot, mirex_score, parse_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A minor", Key(9, "minor")),
        ("Am", Key(9, "minor")),
        ("A min", Key(9, "minor")),
        ("8A", Key(9, "minor")),
        ("8B", Key(0, "major")),
        ("F#min", Key(6, "minor")),
        ("Bb", Key(10, "major")),
        ("G♯m", Key(8, "minor")),
        ("Eb major", Key(3, "major")),
        ("c#", Key(1, "major")),
        ("12B", Key(4, "major")),
        ("1A", Key(8, "minor")),
        ("A-minor", Key(9, "minor")),
        ("Amaj", Key(9, "major")),
    ],
)
def test_parse_common_spellings(text, expected):
    assert parse_key(text) == expected


def test_mode_argument_overrides():
    assert parse_key("A", mode="minor") == Key(9, "minor")


@pytest.mark.parametrize("bad", ["H minor", "13A", "", "Amin7", "minor"])
def test_unknown_names_raise_clear_error(bad):
    with pytest.raises(KeyParseError, match="key|Camelot"):
        parse_key(bad)


def test_camelot_round_trip_covers_all_24_keys():
    keys = {from_camelot(n, letter) for n in range(1, 13) for letter in "AB"}
    assert len(keys) == 24
    for k in keys:
        assert parse_key(k.camelot) == k
        assert parse_key(k.name) == k


def test_compatibility_on_the_wheel():
    am = parse_key("Am")
    assert compatible(am, parse_key("C"))  # relative major
    assert compatible(am, parse_key("Em"))  # one step clockwise (9A)
    assert compatible(am, parse_key("Dm"))  # one step anticlockwise (7A)
    assert not compatible(am, parse_key("Bm"))  # two steps
    assert not compatible(am, parse_key("G"))  # 9B: other letter, other number


def test_mirex_weights():
    truth = parse_key("Am")
    assert mirex_score(truth, truth) == 1.0
    assert mirex_score(parse_key("Em"), truth) == 0.5
    assert mirex_score(parse_key("C"), truth) == 0.3
    assert mirex_score(parse_key("A"), truth) == 0.2
    assert mirex_score(parse_key("F#"), truth) == 0.0
    assert mirex_score(None, truth) == 0.0
