"""Hints from file and folder names, the way sample packs write them.

Sample packs put the tempo, the key and the kind of a sample in its name:
``Loop_Am_124bpm.wav``, ``128 BPM Synth F#min.wav``, ``Kick_03.wav``, ``Bass Bb_major 90.wav``,
Camelot codes (``8A``) and folder names (``Drums/Kicks``, ``bassloops``). This module reads
them without guessing: a key needs an explicit mode word, an accidental or a Camelot code
(``"E"`` in ``FX_E`` is not a key), and a bare number (``Loop_Am_90``) is only a *candidate*
tempo that the caller checks against the loop length.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from companion.analysis.instruments import Instrument, instrument_from_words
from companion.errors import KeyParseError
from companion.music.keys import Key, from_camelot, parse_key

#: Tempo range accepted from names (BPM).
MIN_NAME_BPM = 40.0
MAX_NAME_BPM = 300.0
#: Range of a bare number that may be a tempo ("Loop_Am_90"), checked later against the audio.
_BARE_BPM_RANGE = (60.0, 200.0)

_SEP_RE = re.compile(r"[\s_\-.,()\[\]{}+&=~!@$%^'\"/\\]+")
_BPM_AFTER_RE = re.compile(r"(?<![\d.])(\d{2,3}(?:[.,]\d{1,2})?)\s*[-_ ]?\s*bpm(?![a-z])", re.IGNORECASE)
_BPM_BEFORE_RE = re.compile(r"(?<![a-z])bpm\s*[-_ ]?\s*(\d{2,3}(?:[.,]\d{1,2})?)(?![\d])", re.IGNORECASE)
_NOTE_RE = re.compile(r"^([A-Ga-g])(#|♯|b|♭|s(?:harp)?|flat)?$")
_KEY_TOKEN_RE = re.compile(r"^([A-Ga-g])(#|♯|b|♭|sharp|flat)?(m|min|minor|maj|major|mi|ma|dur|moll)?$")
_CAMELOT_RE = re.compile(r"^(1[0-2]|[1-9])([AB])$")
_MODE_WORDS = {
    "m": "minor",
    "min": "minor",
    "minor": "minor",
    "moll": "minor",
    "maj": "major",
    "major": "major",
    "dur": "major",
}
_DIGIT_SPLIT_RE = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_CAMEL_SPLIT_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")

#: Words that make a sample a loop, whatever else the name says.
LOOP_WORDS = frozenset(
    {
        "loop",
        "loops",
        "groove",
        "grooves",
        "beat",
        "beats",
        "break",
        "breaks",
        "breakbeat",
        "riff",
        "riffs",
        "arp",
        "arps",
        "pattern",
        "patterns",
        "phrase",
        "phrases",
        "bassloops",
        "drumloop",
        "drumloops",
        "toploop",
        "toploops",
        "fill",
        "fills",
        "progression",
    }
)
#: Words that make a sample a one-shot (drum hits, stabs, single notes, impacts).
ONE_SHOT_WORDS = frozenset(
    {
        "oneshot",
        "oneshots",
        "shot",
        "shots",
        "hit",
        "hits",
        "kick",
        "kicks",
        "bd",
        "bassdrum",
        "snare",
        "snares",
        "sn",
        "sd",
        "clap",
        "claps",
        "hat",
        "hats",
        "hh",
        "hihat",
        "hihats",
        "openhat",
        "closedhat",
        "cymbal",
        "cymbals",
        "crash",
        "ride",
        "tom",
        "toms",
        "rim",
        "rimshot",
        "shaker",
        "stab",
        "stabs",
        "impact",
        "impacts",
        "riser",
        "risers",
        "downlifter",
        "uplifter",
        "sweep",
        "zap",
        "blip",
        "click",
        "snap",
        "note",
        "notes",
        "pluck",
        "drum",
        "drums",
        "perc",
        "percussion",
        "cowbell",
        "clave",
        "conga",
        "bongo",
        "tambourine",
        "ding",
    }
)
#: Words that mark unpitched material (drums, noise, FX) for the key estimate.
UNPITCHED_WORDS = frozenset(
    {
        "kick",
        "kicks",
        "bd",
        "bassdrum",
        "snare",
        "snares",
        "sn",
        "sd",
        "clap",
        "claps",
        "hat",
        "hats",
        "hh",
        "hihat",
        "hihats",
        "openhat",
        "closedhat",
        "cymbal",
        "cymbals",
        "crash",
        "ride",
        "tom",
        "toms",
        "rim",
        "rimshot",
        "shaker",
        "drum",
        "drums",
        "drumloop",
        "drumloops",
        "perc",
        "percussion",
        "break",
        "breaks",
        "breakbeat",
        "beat",
        "beats",
        "top",
        "toploop",
        "toploops",
        "noise",
        "vinyl",
        "foley",
        "clave",
        "conga",
        "bongo",
        "tambourine",
        "cowbell",
        "amen",
        "snap",
        "click",
        "fill",
        "fills",
    }
)
#: Words that mark single-cycle waveforms and wavetables (LMMS ``waveforms/``, Adventure Kid's
#: AKWF): oscillator material, no instrument's sample, whatever the audio models would say.
WAVEFORM_WORDS = frozenset({"waveform", "waveforms", "wavetable", "wavetables", "singlecycle", "akwf"})
#: Genre / feel words that say the tempo is written at double the felt pulse or at half it.
FAST_WORDS = frozenset(
    {"dnb", "drumandbass", "drumnbass", "jungle", "neurofunk", "footwork", "juke", "hardcore", "gabber", "breakcore"}
)
HALF_TIME_WORDS = frozenset({"halftime", "half", "trap", "dubstep", "drill"})
#: Dance and electronic genres played in 4/4: a loop so named is never read in 3/4. Not
#: "electro", which also names electric pianos and electronic music at large.
COMMON_TIME_WORDS = (
    FAST_WORDS
    | (HALF_TIME_WORDS - {"half"})
    | frozenset(
        {
            "house",
            "techhouse",
            "deephouse",
            "techno",
            "trance",
            "psytrance",
            "rave",
            "edm",
            "disco",
            "garage",
            "ukg",
            "breakbeat",
            "breaks",
            "hardstyle",
            "grime",
            "hiphop",
            "boombap",
            "reggaeton",
            "dembow",
        }
    )
)
#: Folder names that carry no meaning as tags.
_GENERIC_FOLDERS = frozenset(
    {
        "",
        "samples",
        "sample",
        "sounds",
        "sound",
        "audio",
        "usr",
        "share",
        "home",
        "users",
        "music",
        "library",
        "libraries",
        "lib",
        "data",
        "files",
        "desktop",
        "downloads",
        "documents",
        "media",
        "mnt",
        "volumes",
        "tmp",
        "var",
        "opt",
        "local",
        "packs",
        "pack",
        "wav",
        "wavs",
    }
)
_STOPWORDS = frozenset(
    {
        "the",
        "and",
        "of",
        "a",
        "an",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "or",
        "wav",
        "wave",
        "aif",
        "aiff",
        "flac",
        "ogg",
        "mp3",
        "bpm",
        "key",
        "copy",
        "final",
        "new",
        "version",
        "v",
        "x",
        "st",
        "nd",
        "rd",
        "th",
    }
)


@dataclass
class NameHints:
    """What a file's name and folders say.

    Attributes:
        bpm: tempo written with ``bpm`` next to it (``124bpm``, ``BPM 128``), or None.
        bare_bpm_candidates: bare numbers in 60–200 that may be tempos (``Loop_Am_90``); the
            caller accepts one only if the loop length agrees.
        key: key written in the name (``Am``, ``F#min``, ``Bb_major``, ``8A``), or None.
        kind: ``"loop"`` / ``"one-shot"`` from kind words, or None when the name says neither.
        kind_from_stem: whether ``kind`` comes from the file's own name (stronger) rather
            than from a folder name.
        unpitched: the name marks drums, noise or FX (no key expected).
        fast_genre: a genre word whose loops are written at the fast tempo (``dnb``, ``jungle``).
        half_time: a word that says the feel is half-time (``halftime``, ``trap``).
        common_time: a genre word whose loops are in 4/4 (``techno``, ``house``:
            :data:`COMMON_TIME_WORDS`).
        tags: lower-case words of the nearest folders and the stem, without numbers,
            extensions, stopwords, tempo and key tokens.
        instrument: the instrument the folder and file names say (``bd_808`` → kick,
            ``Pads/`` → pad; see :func:`companion.analysis.instruments.instrument_from_words`),
            or None.
        waveform: the name marks a single-cycle waveform or wavetable (:data:`WAVEFORM_WORDS`,
            or "single cycle").
    """

    bpm: float | None = None
    bare_bpm_candidates: list[float] = field(default_factory=list)
    key: Key | None = None
    kind: Literal["loop", "one-shot"] | None = None
    kind_from_stem: bool = False
    unpitched: bool = False
    fast_genre: bool = False
    half_time: bool = False
    common_time: bool = False
    tags: list[str] = field(default_factory=list)
    instrument: Instrument | None = None
    waveform: bool = False


def parse_name(path: Path, library_root: Path | None = None, folder_depth: int = 2) -> NameHints:
    """Read tempo, key, kind and tags from a file's name and its folders.

    Args:
        path: the sample's path.
        library_root: the library folder the sample was found under; folders between it and the
            file give tags. When None, the ``folder_depth`` nearest folders are used.
        folder_depth: how many parent folders give tags when ``library_root`` is None.

    Returns:
        The :class:`NameHints`. The stem outranks the folders for tempo and key.
    """
    path = Path(path)
    folders = _folders(path, library_root, folder_depth)
    hints = NameHints()
    tags: list[str] = []
    all_words: list[str] = []
    # Folders first, then the stem, so the stem's hints overwrite the folders'.
    parts = [*folders, path.stem]
    for index, part in enumerate(parts):
        is_stem = index == len(parts) - 1
        bpm = _explicit_bpm(part)
        if bpm is not None:
            hints.bpm = bpm
        tokens = _tokens(part)
        key, used = _key_from_tokens(tokens, bpm_nearby=bpm is not None or _has_number(tokens))
        if key is not None:
            hints.key = key
        if is_stem:
            hints.bare_bpm_candidates = _bare_numbers(tokens, used)
        words = [w for w in _words(part) if w]
        all_words.extend(w.lower() for w in words)
        lowered = {w.lower() for w in words}
        joined = "".join(t.lower() for t in tokens)
        for word in lowered | {joined}:
            if word in FAST_WORDS or "dnb" in word:
                hints.fast_genre = True
            if word in HALF_TIME_WORDS:
                hints.half_time = True
            if word in COMMON_TIME_WORDS or "dnb" in word:
                hints.common_time = True
        part_tokens = [t.lower() for t in tokens]
        kind = _kind_from_words(lowered, part_tokens=part_tokens)
        if kind is not None:
            hints.kind = kind
            hints.kind_from_stem = is_stem
        if lowered & UNPITCHED_WORDS:
            hints.unpitched = True
        if (lowered | {joined}) & WAVEFORM_WORDS or ("single", "cycle") in itertools.pairwise(part_tokens):
            hints.waveform = True
        tags.extend(_tag_words(tokens, used))
    hints.tags = list(dict.fromkeys(tags))
    hints.instrument = instrument_from_words(all_words)
    return hints


def _folders(path: Path, root: Path | None, depth: int) -> list[str]:
    """Folder names between the library root (or the ``depth`` nearest) and the file."""
    parents = list(path.parent.parts)
    if root is not None:
        try:
            parents = list(path.parent.relative_to(root).parts)
        except ValueError:
            parents = parents[-depth:]
    else:
        parents = parents[-depth:] if depth > 0 else []
    return [p for p in parents if p.lower() not in _GENERIC_FOLDERS and p not in ("/", "\\")]


def _tokens(text: str) -> list[str]:
    """Split a name on separators (``_``, ``-``, spaces, dots, brackets)."""
    return [t for t in _SEP_RE.split(text) if t]


def _words(text: str) -> list[str]:
    """Tokens further split at camelCase and letter/digit boundaries (``kick04`` → kick, 04)."""
    out: list[str] = []
    for token in _tokens(text):
        out.extend(_split_token(token))
    return out


def _split_token(token: str) -> list[str]:
    """Split at letter/digit boundaries, and at camelCase when every part has ≥ 3 letters
    (``KickHard`` → Kick, Hard; ``DnB`` stays whole)."""
    out: list[str] = []
    for piece in _DIGIT_SPLIT_RE.split(token):
        camel = [p for p in _CAMEL_SPLIT_RE.split(piece) if p]
        out.extend(camel if all(len(p) >= 3 for p in camel) else [piece])
    return [p for p in out if p]


def _has_number(tokens: list[str]) -> bool:
    return any(t.isdigit() and len(t) in (2, 3) for t in tokens)


def _explicit_bpm(text: str) -> float | None:
    """Tempo written with the word BPM next to it, or None."""
    for regex in (_BPM_AFTER_RE, _BPM_BEFORE_RE):
        for match in regex.finditer(text):
            value = float(match.group(1).replace(",", "."))
            if MIN_NAME_BPM <= value <= MAX_NAME_BPM:
                return value
    return None


def _key_from_tokens(tokens: list[str], bpm_nearby: bool) -> tuple[Key | None, set[int]]:
    """Find a key among name tokens.

    A token is a key when it is a Camelot code (``8A``), a note with a mode word (``Am``,
    ``F#min``, ``Cmaj``; ``am`` in lower case is not read as A minor), a note with an
    accidental (``Bb``, ``F#``), or a note followed by a mode token (``Bb``, ``major``). A bare
    upper-case letter (``E``) counts only when the name also carries a tempo number.

    Returns:
        ``(key or None, indices of the tokens used)``. The last key found wins.
    """
    found: Key | None = None
    used: set[int] = set()
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        key = None
        span = {i}
        cam = _CAMELOT_RE.match(token)
        if cam:
            key = from_camelot(int(cam.group(1)), cam.group(2))
        elif _NOTE_RE.match(token) and nxt in _MODE_WORDS:
            key = _safe_key(token, _MODE_WORDS[nxt])
            span = {i, i + 1}
        else:
            match = _KEY_TOKEN_RE.match(token)
            if match:
                letter, accidental, mode_word = match.groups()
                if mode_word in ("m", "mi", "ma") and letter.islower():
                    continue  # "am", "em", "bm" are words or initials, not keys
                if mode_word:
                    key = _safe_key(token)
                elif accidental and accidental.lower() in ("#", "♯", "b", "♭"):
                    key = _safe_key(token) if letter.isupper() else None
                elif letter.isupper() and len(token) == 1 and bpm_nearby:
                    key = _safe_key(token)
        if key is not None:
            found = key
            used |= span
    return found, used


def _safe_key(text: str, mode: str | None = None) -> Key | None:
    try:
        return parse_key(text, mode)
    except KeyParseError:
        return None


def _bare_numbers(tokens: list[str], used: set[int]) -> list[float]:
    """Bare 2–3 digit numbers in the tempo range, candidates a caller must check."""
    out = []
    for i, token in enumerate(tokens):
        if i in used or not token.isdigit() or token.startswith("0"):
            continue
        value = float(token)
        if _BARE_BPM_RANGE[0] <= value <= _BARE_BPM_RANGE[1]:
            out.append(value)
    return out


def _kind_from_words(words: set[str], part_tokens: list[str]) -> Literal["loop", "one-shot"] | None:
    """``"loop"`` when a loop word appears (it wins: ``kick_loop`` is a loop), else
    ``"one-shot"`` for hit words, else None."""
    if words & LOOP_WORDS or any("loop" in t for t in part_tokens):
        return "loop"
    if words & ONE_SHOT_WORDS or any(t in ("one", "1") and n == "shot" for t, n in itertools.pairwise(part_tokens)):
        return "one-shot"
    return None


def _tag_words(tokens: list[str], used: set[int]) -> list[str]:
    """Lower-case tag words: no numbers, no tempo/key tokens, no stopwords."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        if i in used or _BPM_AFTER_RE.fullmatch(token) or _BPM_BEFORE_RE.fullmatch(token):
            continue
        for word in _split_token(token):
            low = word.lower()
            if len(low) < 2 or low.isdigit() or low in _STOPWORDS:
                continue
            if not low.isalpha():
                continue
            out.append(low)
    return out
