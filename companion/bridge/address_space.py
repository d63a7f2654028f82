"""The companion's OSC address space: every address it reads, its argument types and units.

There is no standard OSC schema for musical context, so the companion defines its own under
``/context/*`` (see ``plugin_bridge/README.md`` in the repository) and also accepts the exact addresses that
REAPER's built-in OSC (``Default.ReaperOSC``) and DrivenByMoss (Bitwig, REAPER) send for tempo,
transport and time signature, so those DAWs work with no script:

=========================  ==========  ==========================================================
address                    types       meaning
=========================  ==========  ==========================================================
/context/bpm               f|i         tempo, BPM, 20–999
/context/key               s [s]       key name ("A minor", "Am", "A min", "8A"); optional mode
/context/mode              s           "major" | "minor" (applies to the current key)
/context/mood              s...        zero or more mood words (none clears); commas split
/context/genre             s           genre word ("" clears)
/context/prompt            s           free-text prompt for text search ("" clears)
/context/time_remaining    f|i         seconds left in the session, 0–604800
/context/playing           i|f|T|F     transport state, 0/1
/context/accepted          s           path of a sample the producer used
/context/reset             (none)      clear every field
/tempo/raw                 f|i         tempo, BPM (REAPER, DrivenByMoss)
/play                      i|f|T|F     transport state (REAPER, DrivenByMoss)
/time/signature            s           "4/4" (DrivenByMoss)
/companion/ping            (none)      reply /companion/pong s:version
/companion/register        [i]         push suggestions to the sender (optionally to port i)
/companion/unregister      [i]         stop pushing to the sender
/context/get               (none)      reply /companion/context s:JSON
/companion/stats           (none)      reply /companion/stats s:JSON
=========================  ==========  ==========================================================

Parsing is pure: each ``parse_*`` function takes the OSC arguments as python-osc decodes them
(``int``, ``float``, ``str``, ``bool`` for T/F, ``None`` for N, ``bytes`` for blobs) and returns
a :class:`Parsed` value, or raises :class:`BadInputError` whose ``kind`` says which bad-input
counter to bump.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from companion.bridge.bad_input import BadInputError
from companion.bridge.updates import Parsed, QueryKind
from companion.errors import CompanionError
from companion.music.keys import parse_key, parse_mode

#: Default UDP port of the companion's OSC listener.
DEFAULT_PORT: Final = 9137
#: Tempo range accepted over OSC, BPM (Ableton Live's and REAPER's limits are 20–999).
BPM_RANGE: Final = (20.0, 999.0)
#: Longest session time remaining accepted, s (one week).
TIME_REMAINING_MAX_S: Final = 7 * 24 * 3600.0
#: At most this many mood words per message; each at most MAX_WORD_CHARS characters.
MAX_MOOD_TAGS: Final = 16
MAX_WORD_CHARS: Final = 64
#: Longest accepted path or prompt, characters.
MAX_TEXT_CHARS: Final = 4096


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _one_arg(address: str, args: Sequence[Any], what: str) -> Any:
    if len(args) != 1:
        raise BadInputError("wrong_type", f"{address} takes one {what}, got {len(args)} arguments", address)
    return args[0]


def number_arg(address: str, args: Sequence[Any], low: float, high: float, unit: str) -> float:
    """The one numeric argument of a message, checked against ``[low, high]``.

    Raises:
        BadInputError: ``wrong_type`` (not one number), ``out_of_range`` (outside, NaN, inf).
    """
    value = _one_arg(address, args, "number")
    if not _is_number(value):
        raise BadInputError(
            "wrong_type",
            f"{address} takes a number ({unit}), got {type(value).__name__} {value!r}",
            address,
        )
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise BadInputError("out_of_range", f"{address} {value!r} is outside {low:g}–{high:g} {unit}", address)
    return number


def _text(address: str, value: Any, *, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise BadInputError("wrong_type", f"{address} takes a string, got {type(value).__name__} {value!r}", address)
    if len(value) > limit:
        raise BadInputError("out_of_range", f"{address} string of {len(value)} characters exceeds {limit}", address)
    return value.strip()


def flag_arg(address: str, args: Sequence[Any]) -> bool:
    """The one flag argument: T/F, integer 0/1 or float 0.0/1.0 (REAPER sends floats).

    Raises:
        BadInputError: ``wrong_type`` (not a flag), ``out_of_range`` (a number not 0 or 1).
    """
    value = _one_arg(address, args, "flag")
    if isinstance(value, bool):
        return value
    if not _is_number(value):
        raise BadInputError(
            "wrong_type",
            f"{address} takes 0/1 or T/F, got {type(value).__name__} {value!r}",
            address,
        )
    if value in (0, 1):
        return bool(value)
    raise BadInputError("out_of_range", f"{address} {value!r} is neither 0 nor 1", address)


# ---------------------------------------------------------------------------------------------
# One parser per address
# ---------------------------------------------------------------------------------------------


def parse_bpm(address: str, *args: Any) -> Parsed:
    """``/context/bpm f`` and ``/tempo/raw f``: tempo in BPM, 20–999."""
    return Parsed(fields={"bpm": number_arg(address, args, *BPM_RANGE, unit="BPM")})


def parse_key_message(address: str, *args: Any) -> Parsed:
    """``/context/key s [s]``: a key name, optionally followed by a mode word."""
    if len(args) not in (1, 2):
        raise BadInputError(
            "wrong_type",
            f"{address} takes a key name and an optional mode, got {len(args)} arguments",
            address,
        )
    name = _text(address, args[0], limit=MAX_WORD_CHARS)
    mode = _text(address, args[1], limit=MAX_WORD_CHARS) if len(args) == 2 else None
    try:
        key = parse_key(name, mode)
    except CompanionError as exc:
        raise BadInputError("unknown_key", f"{address}: {exc}", address) from exc
    return Parsed(fields={"key": key})


def parse_mode_message(address: str, *args: Any) -> Parsed:
    """``/context/mode s``: ``"major"`` or ``"minor"`` (also ``"maj"``, ``"min"``, ``"m"``)."""
    word = _text(address, _one_arg(address, args, "mode word"), limit=MAX_WORD_CHARS)
    try:
        mode = parse_mode(word)
    except CompanionError as exc:
        raise BadInputError("unknown_key", f"{address}: {exc}", address) from exc
    return Parsed(fields={"mode": mode})


def parse_mood(address: str, *args: Any) -> Parsed:
    """``/context/mood s...``: mood words; no argument clears; ``"dark, warm"`` is split."""
    words: list[str] = []
    for arg in args:
        for part in _text(address, arg).split(","):
            word = part.strip().lower()
            if len(word) > MAX_WORD_CHARS:
                raise BadInputError(
                    "out_of_range",
                    f"{address} word of {len(word)} characters exceeds {MAX_WORD_CHARS}",
                    address,
                )
            if word and word not in words:
                words.append(word)
    if len(words) > MAX_MOOD_TAGS:
        raise BadInputError("out_of_range", f"{address} holds {len(words)} words; at most {MAX_MOOD_TAGS}", address)
    return Parsed(fields={"mood_tags": tuple(words)})


def _word_field(name: str, limit: int) -> Callable[..., Parsed]:
    def parse(address: str, *args: Any) -> Parsed:
        text = _text(address, _one_arg(address, args, "string"), limit=limit)
        return Parsed(fields={name: text or None})

    parse.__name__ = f"parse_{name}"
    parse.__doc__ = f"``{name}`` from one string; an empty string clears it."
    return parse


parse_genre = _word_field("genre", MAX_WORD_CHARS)
parse_prompt = _word_field("prompt", MAX_TEXT_CHARS)


def parse_time_remaining(address: str, *args: Any) -> Parsed:
    """``/context/time_remaining f``: seconds left in the session, 0 – one week."""
    seconds = number_arg(address, args, 0.0, TIME_REMAINING_MAX_S, unit="s")
    return Parsed(fields={"time_remaining_s": seconds})


def parse_playing(address: str, *args: Any) -> Parsed:
    """``/context/playing i`` and ``/play i``: transport playing (1) or stopped (0)."""
    return Parsed(fields={"playing": flag_arg(address, args)})


def parse_accepted(address: str, *args: Any) -> Parsed:
    """``/context/accepted s``: the path of a sample the producer used."""
    path = _text(address, _one_arg(address, args, "path"))
    if not path:
        raise BadInputError("out_of_range", f"{address} path is empty", address)
    return Parsed(accepted=(path,))


def parse_reset(address: str, *args: Any) -> Parsed:
    """``/context/reset``: clear the context. Arguments are ignored (REAPER triggers send 1.0)."""
    return Parsed(reset=True)


_TIME_SIGNATURE_RE = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


def parse_time_signature(address: str, *args: Any) -> Parsed:
    """``/time/signature s`` (DrivenByMoss): ``"4/4"``; numerator 1–32, denominator 1–32."""
    text = _text(address, _one_arg(address, args, "string"), limit=MAX_WORD_CHARS)
    match = _TIME_SIGNATURE_RE.match(text)
    if not match:
        raise BadInputError("wrong_type", f"{address} {text!r} is not like '4/4'", address)
    num, den = int(match.group(1)), int(match.group(2))
    if not (1 <= num <= 32 and den in (1, 2, 4, 8, 16, 32)):
        raise BadInputError("out_of_range", f"{address} {text!r} is not a usable metre", address)
    return Parsed(extras={"time_signature": f"{num}/{den}"})


def _query(kind: QueryKind, with_port: bool = False) -> Callable[..., Parsed]:
    def parse(address: str, *args: Any) -> Parsed:
        if not with_port:
            return Parsed(query=kind)
        if not args:
            return Parsed(query=kind)
        port = _one_arg(address, args, "port")
        if not isinstance(port, int) or isinstance(port, bool):
            raise BadInputError("wrong_type", f"{address} takes an integer port, got {port!r}", address)
        if not 1 <= port <= 65535:
            raise BadInputError("out_of_range", f"{address} port {port} is outside 1–65535", address)
        return Parsed(query=kind, query_args=(port,))

    parse.__name__ = f"parse_{kind}"
    return parse


@dataclass(frozen=True)
class AddressSpec:
    """One address the companion reads.

    Attributes:
        address: OSC address, e.g. ``/context/bpm``.
        types: accepted OSC type tags, e.g. ``"f|i"``, ``"s [s]"``, ``"s..."``.
        unit: unit or format of the value.
        summary: one line for the README.
        origin: ``"companion"``, or the DAW/protocol whose address this is.
        parse: ``parse(address, *args) -> Parsed``; raises :class:`BadInputError`.
    """

    address: str
    types: str
    unit: str
    summary: str
    origin: str
    parse: Callable[..., Parsed]


ADDRESS_SPACE: Final[tuple[AddressSpec, ...]] = (
    AddressSpec("/context/bpm", "f|i", "BPM, 20–999", "session tempo", "companion", parse_bpm),
    AddressSpec(
        "/context/key",
        "s [s]",
        "key name",
        "session key; optional second arg is the mode",
        "companion",
        parse_key_message,
    ),
    AddressSpec("/context/mode", "s", "major|minor", "mode of the current key", "companion", parse_mode_message),
    AddressSpec("/context/mood", "s...", "words", "mood words; none clears", "companion", parse_mood),
    AddressSpec("/context/genre", "s", "word", "genre; empty clears", "companion", parse_genre),
    AddressSpec("/context/prompt", "s", "text", "free-text prompt; empty clears", "companion", parse_prompt),
    AddressSpec(
        "/context/time_remaining", "f|i", "s, 0–604800", "time left in the session", "companion", parse_time_remaining
    ),
    AddressSpec("/context/playing", "i|f|T|F", "0|1", "transport playing", "companion", parse_playing),
    AddressSpec("/context/accepted", "s", "path", "a sample the producer used", "companion", parse_accepted),
    AddressSpec("/context/reset", "", "", "clear every field", "companion", parse_reset),
    AddressSpec("/tempo/raw", "f|i", "BPM, 20–999", "tempo", "REAPER, DrivenByMoss", parse_bpm),
    AddressSpec("/play", "i|f|T|F", "0|1", "transport playing", "REAPER, DrivenByMoss", parse_playing),
    AddressSpec("/time/signature", "s", "n/d", "time signature", "DrivenByMoss", parse_time_signature),
    AddressSpec("/companion/ping", "", "", "reply /companion/pong", "companion", _query("ping")),
    AddressSpec(
        "/companion/register",
        "[i]",
        "UDP port",
        "push suggestions to the sender",
        "companion",
        _query("register", with_port=True),
    ),
    AddressSpec(
        "/companion/unregister",
        "[i]",
        "UDP port",
        "stop pushing to the sender",
        "companion",
        _query("unregister", with_port=True),
    ),
    AddressSpec(
        "/context/get", "", "", "reply /companion/context with the context as JSON", "companion", _query("get")
    ),
    AddressSpec(
        "/companion/stats", "", "", "reply /companion/stats with counters as JSON", "companion", _query("stats")
    ),
)

#: Addresses the companion sends (replies and pushes), with their argument types.
OUTGOING: Final[Mapping[str, str]] = MappingProxyType(
    {
        "/companion/pong": "s version",
        "/companion/registered": "s host, i port",
        "/companion/unregistered": "s host, i port",
        "/companion/context": "s JSON of the session context",
        "/companion/stats": "s JSON of the listener counters",
        "/companion/suggestions": "i seq, f latency_ms, i n, then n × (s path, f score)",
        "/companion/error": "s kind, s message",
    }
)

SPEC_BY_ADDRESS: Final[Mapping[str, AddressSpec]] = MappingProxyType({spec.address: spec for spec in ADDRESS_SPACE})

__all__ = [
    "ADDRESS_SPACE",
    "BPM_RANGE",
    "DEFAULT_PORT",
    "MAX_MOOD_TAGS",
    "MAX_TEXT_CHARS",
    "MAX_WORD_CHARS",
    "OUTGOING",
    "SPEC_BY_ADDRESS",
    "TIME_REMAINING_MAX_S",
    "AddressSpec",
    "flag_arg",
    "number_arg",
]
