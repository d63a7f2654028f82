"""Musical keys: parsing the spellings producers use, the Camelot wheel, compatibility.

A key is a pitch class (0 = C … 11 = B, equal temperament) and a mode (``"major"`` or
``"minor"``). Parsing accepts ``"A minor"``, ``"Am"``, ``"A min"``, ``"a"`` (lower case is
*not* read as minor), ``"F#min"``, ``"Bb major"``, ``"G♯m"``, and Camelot codes ``"8A"``.

The Camelot wheel (Mark Davis, Mixed In Key) numbers keys around the circle of fifths:
``8B`` = C major, ``8A`` = A minor (its relative minor); one step clockwise adds a fifth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from companion.errors import KeyParseError

Mode = Literal["major", "minor"]

PITCH_NAMES_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
PITCH_NAMES_FLAT = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# Conventional spelling per key: flats for F, Bb, Eb, Ab, Db majors and their relative minors.
_MAJOR_SPELLING = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_SPELLING = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTAL = {"#": 1, "♯": 1, "s": 1, "sharp": 1, "b": -1, "♭": -1, "flat": -1, "": 0}
_MINOR_WORDS = {"m", "min", "minor", "mi", "-", "moll"}
_MAJOR_WORDS = {"", "maj", "major", "ma", "M", "dur"}

_CAMELOT_RE = re.compile(r"^\s*(1[0-2]|0?[1-9])\s*([ABab])\s*$")
_KEY_RE = re.compile(
    r"^\s*([A-Ga-g])\s*(#|♯|b|♭|sharp|flat)?\s*[-_ ]?\s*"
    r"(m|M|min|minor|mi|maj|major|ma|moll|dur)?\s*\.?\s*$",
)


@dataclass(frozen=True, order=True)
class Key:
    """A musical key.

    Attributes:
        pitch_class: tonic as a pitch class, 0 = C … 11 = B.
        mode: ``"major"`` or ``"minor"``.
    """

    pitch_class: int
    mode: Mode

    def __post_init__(self) -> None:
        if not 0 <= self.pitch_class <= 11:
            raise KeyParseError(f"pitch class {self.pitch_class} is outside 0–11")
        if self.mode not in ("major", "minor"):
            raise KeyParseError(f"mode {self.mode!r} is neither 'major' nor 'minor'")

    @property
    def name(self) -> str:
        """Conventional name, e.g. ``"A minor"``, ``"Eb major"``."""
        spelling = _MINOR_SPELLING if self.mode == "minor" else _MAJOR_SPELLING
        return f"{spelling[self.pitch_class]} {self.mode}"

    @property
    def short(self) -> str:
        """Short name as sample packs write it, e.g. ``"Am"``, ``"Eb"``."""
        spelling = _MINOR_SPELLING if self.mode == "minor" else _MAJOR_SPELLING
        return spelling[self.pitch_class] + ("m" if self.mode == "minor" else "")

    @property
    def camelot(self) -> str:
        """Camelot code, e.g. ``"8A"`` for A minor, ``"8B"`` for C major."""
        number, letter = camelot_position(self)
        return f"{number}{letter}"

    def relative(self) -> Key:
        """The relative major of a minor key, or the relative minor of a major key."""
        if self.mode == "minor":
            return Key((self.pitch_class + 3) % 12, "major")
        return Key((self.pitch_class + 9) % 12, "minor")

    def __str__(self) -> str:
        return self.name


def camelot_position(key: Key) -> tuple[int, str]:
    """Camelot wheel position of a key.

    Returns:
        ``(number, letter)``: number 1–12 around the circle of fifths, letter ``"B"`` for
        major and ``"A"`` for minor. C major → (8, "B"); A minor → (8, "A").
    """
    major_pc = key.pitch_class if key.mode == "major" else (key.pitch_class + 3) % 12
    number = ((major_pc * 7) % 12 + 7) % 12 + 1
    return number, ("B" if key.mode == "major" else "A")


def from_camelot(number: int, letter: str) -> Key:
    """Inverse of :func:`camelot_position`.

    Raises:
        KeyParseError: if ``number`` is outside 1–12 or ``letter`` is not A or B.
    """
    if not 1 <= number <= 12 or letter.upper() not in ("A", "B"):
        raise KeyParseError(f"{number}{letter} is not a Camelot code (1A–12B)")
    major_pc = (((number - 8) % 12) * 7) % 12  # 7 is its own inverse mod 12
    if letter.upper() == "B":
        return Key(major_pc, "major")
    return Key((major_pc + 9) % 12, "minor")


def parse_mode(text: str) -> Mode:
    """Parse a mode word (``"minor"``, ``"min"``, ``"m"``, ``"major"``, ``"maj"``).

    Raises:
        KeyParseError: if the word is neither.
    """
    word = text.strip()
    if word in ("m", "M"):
        return "minor" if word == "m" else "major"
    low = word.lower()
    if low in _MINOR_WORDS:
        return "minor"
    if low in _MAJOR_WORDS:
        return "major"
    raise KeyParseError(f"unknown mode {text!r}: use 'major' or 'minor'")


def parse_key(text: str, mode: str | None = None) -> Key:
    """Parse a key name in any common spelling.

    Args:
        text: ``"A minor"``, ``"Am"``, ``"A min"``, ``"F#min"``, ``"Bb"``, ``"8A"`` …
            A bare tonic (``"A"``) is major unless ``mode`` says otherwise.
        mode: optional mode word that overrides the one in ``text``.

    Returns:
        The :class:`Key`.

    Raises:
        KeyParseError: if ``text`` is not a key name; the message shows accepted forms.
    """
    raw = text.strip()
    cam = _CAMELOT_RE.match(raw)
    if cam:
        key = from_camelot(int(cam.group(1)), cam.group(2))
    else:
        match = _KEY_RE.match(raw)
        if not match:
            raise KeyParseError(f"unknown key {text!r}: use e.g. 'A minor', 'Am', 'A min', 'F#', or Camelot '8A'")
        letter, accidental, mode_word = match.group(1), match.group(2) or "", match.group(3)
        pc = (_LETTER_PC[letter.lower()] + _ACCIDENTAL[accidental.lower()]) % 12
        key = Key(pc, parse_mode(mode_word) if mode_word else "major")
    if mode is not None and mode.strip():
        key = Key(key.pitch_class, parse_mode(mode))
    return key


def compatible(a: Key, b: Key) -> bool:
    """Harmonic compatibility used by the key filter of the fusion rules (docs/architecture.md §3).

    True for the same key, the relative major/minor (same Camelot number), or one step on the
    Camelot wheel (number ±1, same letter).
    """
    na, la = camelot_position(a)
    nb, lb = camelot_position(b)
    if na == nb:
        return True
    return la == lb and (na - nb) % 12 in (1, 11)


def mirex_score(estimate: Key | None, truth: Key) -> float:
    """MIREX key-detection score of one estimate (Raffel et al., mir_eval ``key.weighted_score``).

    1.0 same key; 0.5 a perfect fifth above the truth with the same mode; 0.3 relative
    major/minor; 0.2 parallel major/minor; 0.0 otherwise or no estimate.
    """
    if estimate is None:
        return 0.0
    if estimate == truth:
        return 1.0
    if estimate.mode == truth.mode and (estimate.pitch_class - truth.pitch_class) % 12 == 7:
        return 0.5
    if estimate == truth.relative():
        return 0.3
    if estimate.pitch_class == truth.pitch_class:
        return 0.2
    return 0.0
