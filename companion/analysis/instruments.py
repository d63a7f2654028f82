"""The instrument vocabulary: the classes a sample can be, and the words that name them.

Producers browse by instrument first (Sononym's categories, XO's and Atlas 2's drum classes,
Splice's instrument tags). Every sample gets one of :data:`INSTRUMENTS`; file and folder names
are priors (``bd_808`` is a kick, ``Pads/`` holds pads), and the audio decides when names say
nothing (see :mod:`companion.analysis.instrument`).

The same synonym table serves the name prior and text search, so that a search for "kick"
finds ``bd_*`` files and a search for "bd" finds kicks the audio named.
"""

from __future__ import annotations

import re

# The classes themselves (the Literal ``Instrument`` and the tuple ``INSTRUMENTS``) belong to the
# shared protocol package: the fusion rules name them, and the hub validates those rules.
from samplemind_protocol.instruments import INSTRUMENTS, Instrument

#: Single drum and percussion hits: never given a key.
DRUM_HITS: frozenset[str] = frozenset({"kick", "snare", "clap", "hihat", "cymbal", "tom", "percussion"})
#: Unpitched classes: drum hits and drum loops (``fx`` may or may not carry a pitch).
UNPITCHED: frozenset[str] = DRUM_HITS | {"drums"}

#: Words (lower case, as they appear in sample names and folders) that name each class. A
#: word's first listed class wins. Multi-word names are matched on their joined form
#: (``hi hat`` → ``hihat``) by :func:`instrument_from_words`.
SYNONYMS: dict[Instrument, tuple[str, ...]] = {
    "kick": ("kick", "kicks", "bd", "bassdrum", "kik", "kck", "kicksample", "808kick", "boom"),
    "snare": ("snare", "snares", "sn", "snr", "sd", "rimshot", "rim", "sidestick"),
    "clap": ("clap", "claps", "clp", "handclap", "handclaps", "snap", "snaps"),
    "hihat": ("hihat", "hihats", "hh", "hat", "hats", "hhat", "openhat", "closedhat", "ohh", "chh"),
    "cymbal": ("cymbal", "cymbals", "crash", "crashes", "ride", "rides", "splash", "china", "cym"),
    "tom": ("tom", "toms", "floortom", "hitom", "lotom", "midtom"),
    "percussion": (
        "perc",
        "percs",
        "percussion",
        "shaker",
        "shakers",
        "tambourine",
        "tamb",
        "cowbell",
        "clave",
        "claves",
        "conga",
        "congas",
        "bongo",
        "bongos",
        "tabla",
        "woodblock",
        "wood",
        "triangle",
        "agogo",
        "guiro",
        "cabasa",
        "timbale",
        "timbales",
        "block",
        "clav",
    ),
    "drums": (
        "drums",
        "drum",
        "drumloop",
        "drumloops",
        "beat",
        "beats",
        "break",
        "breaks",
        "breakbeat",
        "breakbeats",
        "groove",
        "grooves",
        "amen",
        "toploop",
        "toploops",
        "top",
        "fill",
        "fills",
        "kit",
    ),
    "bass": ("bass", "basses", "bassline", "basslines", "sub", "subbass", "reese", "bassloops", "tb303", "303"),
    "keys": (
        "keys",
        "piano",
        "pianos",
        "rhodes",
        "wurli",
        "wurlitzer",
        "ep",
        "epiano",
        "clavinet",
        "harpsichord",
        "celesta",
        "vibraphone",
        "vibes",
        "marimba",
        "xylophone",
        "glockenspiel",
        "bell",
        "bells",
        "chime",
        "chimes",
        "mallet",
        "mallets",
    ),
    "organ": ("organ", "organs", "hammond", "church", "farfisa", "accordion", "harmonium"),
    "strings": (
        "strings",
        "string",
        "violin",
        "violins",
        "viola",
        "cello",
        "cellos",
        "contrabass",
        "orchestra",
        "orchestral",
        "ensemble",
        "pizz",
        "pizzicato",
        "harp",
        "stringsnpads",
    ),
    "pad": (
        "pad",
        "pads",
        "drone",
        "drones",
        "ambient",
        "ambi",
        "atmosphere",
        "atmos",
        "texture",
        "textures",
        "choirpad",
        "warmpad",
    ),
    "lead": (
        "lead",
        "leads",
        "synth",
        "synths",
        "saw",
        "supersaw",
        "square",
        "arp",
        "arps",
        "hook",
        "solo",
        "whistle",
        "flute",
        "sax",
        "saxophone",
        "clarinet",
        "oboe",
    ),
    "brass": ("brass", "horn", "horns", "trumpet", "trumpets", "trombone", "tuba"),
    "pluck": (
        "pluck",
        "plucks",
        "guitar",
        "guitars",
        "guit",
        "gtr",
        "banjo",
        "sitar",
        "koto",
        "kalimba",
        "mandolin",
        "ukulele",
        "shamisen",
        "harmonics",
        "twang",
    ),
    "vocal": (
        "vocal",
        "vocals",
        "vox",
        "voice",
        "voices",
        "vocoder",
        "choir",
        "chant",
        "chants",
        "acapella",
        "acappella",
        "sing",
        "singer",
        "spoken",
        "talk",
        "shout",
    ),
    "fx": (
        "fx",
        "sfx",
        "effect",
        "effects",
        "riser",
        "risers",
        "uplifter",
        "downlifter",
        "sweep",
        "sweeps",
        "impact",
        "impacts",
        "whoosh",
        "woosh",
        "swoosh",
        "noise",
        "vinyl",
        "scratch",
        "glitch",
        "zap",
        "zaps",
        "laser",
        "transition",
        "boom",
        "hit",
        "hits",
        "foley",
        "backspin",
        "rewind",
        "hiss",
        "robot",
        "phone",
        "beep",
        "blip",
        "glitchy",
        "cineboom",
    ),
}

_WORD_TO_INSTRUMENT: dict[str, Instrument] = {}
for _instrument in INSTRUMENTS:
    for _word in SYNONYMS[_instrument]:
        _WORD_TO_INSTRUMENT.setdefault(_word, _instrument)
_WORD_TO_INSTRUMENT.update({name: name for name in INSTRUMENTS})
# "boom" and "hit" read as fx on their own, but a "bass drum"/"kick" word nearby wins (below).
_JOIN_PAIRS: dict[tuple[str, str], Instrument] = {
    ("hi", "hat"): "hihat",
    ("high", "hat"): "hihat",
    ("bass", "drum"): "kick",
    ("kick", "drum"): "kick",
    ("snare", "drum"): "snare",
    ("open", "hat"): "hihat",
    ("closed", "hat"): "hihat",
    ("floor", "tom"): "tom",
    ("cymbal", "closed"): "hihat",
    ("cymbal", "open"): "hihat",
    ("cymbal", "pedal"): "hihat",
    ("hand", "clap"): "clap",
    ("side", "stick"): "snare",
    ("sub", "bass"): "bass",
    ("e", "piano"): "keys",
    ("drum", "loop"): "drums",
    ("one", "shot"): "fx",
}
#: Classes that a more specific word in the same name outranks (``bass_hit`` is a bass,
#: ``drum_snare_hard`` is a snare, ``kick_loop`` is a drum loop: see below).
_WEAK: frozenset[str] = frozenset({"fx", "drums", "lead"})
_WORD_RE = re.compile(r"[a-z]+|[0-9]+")


def normalise_instrument(word: str) -> Instrument | None:
    """The instrument a single word names (``"bd"`` → ``"kick"``, ``"Pads"`` → ``"pad"``), or
    None. Used by search and by ``--instrument`` options, which accept any synonym."""
    return _WORD_TO_INSTRUMENT.get(word.strip().lower())


def synonyms_of(instrument: str) -> tuple[str, ...]:
    """Every word that names ``instrument`` (its own name first); empty for unknown names."""
    if instrument not in SYNONYMS:
        return ()
    return (instrument, *SYNONYMS[instrument])


def instrument_from_words(words: list[str]) -> Instrument | None:
    """The instrument that a list of name words says, or None.

    Words are read as they come (folders first, then the stem); the last specific class wins
    over earlier ones, and a specific class (kick, bass, pad …) always wins over a weak one
    (fx, drums, lead) wherever it stands: ``drum_snare_hard`` is a snare, ``bass_hit_c`` a bass;
    a drum hit named with a pattern word (``kick_loop``, ``beats/rave_kick01``) is ``drums``.

    Args:
        words: lower-case words of the folder and file names, in path order.

    Returns:
        One of :data:`INSTRUMENTS`, or None when no word names an instrument.
    """
    strong: Instrument | None = None
    weak: Instrument | None = None
    lowered = [w.lower() for w in words if w]
    for i, word in enumerate(lowered):
        found = _JOIN_PAIRS.get((word, lowered[i + 1])) if i + 1 < len(lowered) else None
        if found is None:
            found = _WORD_TO_INSTRUMENT.get(word)
        if found is None:
            continue
        if found in _WEAK:
            weak = found
        else:
            strong = found
    if strong in DRUM_HITS and _says_pattern(lowered):
        return "drums"
    return strong or weak


def _says_pattern(words: list[str]) -> bool:
    """Whether the words call the sample a pattern (loop, beat, groove …) rather than a hit."""
    return any(
        w in ("loop", "loops", "beat", "beats", "groove", "grooves", "pattern", "break", "breaks") or "loop" in w
        for w in words
    )


def words_of(text: str) -> list[str]:
    """Lower-case words of a name or query, split at separators and at letter/digit
    boundaries (``"Kick03_hard.wav"`` → kick, 03, hard, wav)."""
    return _WORD_RE.findall(text.lower())
