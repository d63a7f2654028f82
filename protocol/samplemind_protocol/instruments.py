"""The instrument vocabulary: the classes a sample can be (the names the rules may use).

The desktop's ``companion.analysis.instruments`` takes :data:`INSTRUMENTS` from here and adds
the synonyms that map file and folder names onto these classes; the fusion rules' format 2
(``cold_start.instrument_boost``) may name only these.
"""

from __future__ import annotations

from typing import Literal, get_args

Instrument = Literal[
    "kick",
    "snare",
    "clap",
    "hihat",
    "cymbal",
    "tom",
    "percussion",
    "drums",
    "bass",
    "keys",
    "organ",
    "strings",
    "pad",
    "lead",
    "brass",
    "pluck",
    "vocal",
    "fx",
]
#: Every instrument class, in the order the vocabulary lists them.
INSTRUMENTS: tuple[Instrument, ...] = get_args(Instrument)
