"""Bad input from DAWs and other peers: its kinds, the error that carries one, and counters.

Bad input never stops a listener: each kind is counted, the first of each kind is logged at
WARNING (later ones at DEBUG), and the next good message works. See ``plugin_bridge/README.md``.
"""

from __future__ import annotations

import logging
import threading
from typing import Final, Literal, get_args

from companion.errors import CompanionError

log = logging.getLogger(__name__)

#: Packets per second above which a flood is counted (once per second it lasts).
DEFAULT_FLOOD_LIMIT: Final = 2000

BadInputKind = Literal[
    "malformed",  # not an OSC packet: bad padding, unknown type tag, truncated, empty
    "unknown_address",  # a well-formed message to an address the companion does not read
    "wrong_type",  # a known address with the wrong number or type of arguments
    "out_of_range",  # a number or word outside the accepted range (BPM 15, playing 7, NaN)
    "unknown_key",  # a key or mode name that parse_key / parse_mode cannot read
    "flood",  # more packets per second than the flood limit (counted once per second)
    "rejected",  # the context store refused a value the parser let through
]
BAD_INPUT_KINDS: Final[tuple[str, ...]] = get_args(BadInputKind)


class BadInputError(CompanionError, ValueError):
    """One OSC message could not be applied.

    Attributes:
        kind: which bad-input counter this belongs to (:data:`BAD_INPUT_KINDS`).
        address: the OSC address of the message, when known.
    """

    def __init__(self, kind: BadInputKind, message: str, address: str | None = None) -> None:
        super().__init__(message)
        self.kind: BadInputKind = kind
        self.address = address


class BadInputCounter:
    """Counts bad input per kind and logs the first of each kind once (thread-safe).

    Args:
        logger: where the first occurrence of each kind is logged at WARNING.
    """

    def __init__(self, logger: logging.Logger = log) -> None:
        self._log = logger
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(BAD_INPUT_KINDS, 0)
        self._last: dict[str, str] = {}

    def record(self, kind: BadInputKind, detail: str) -> None:
        """Count one bad input of ``kind``; log it at WARNING if it is the first of its kind."""
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            first = self._counts[kind] == 1
            self._last[kind] = detail
        if first:
            self._log.warning(
                "OSC bad input (%s): %s — ignored; further %s inputs are counted, not logged",
                kind,
                detail,
                kind,
            )
        else:
            self._log.debug("OSC bad input (%s): %s", kind, detail)

    def counts(self) -> dict[str, int]:
        """Counts per kind, every kind present (zero when never seen)."""
        with self._lock:
            return dict(self._counts)

    def last(self) -> dict[str, str]:
        """The latest detail message per kind seen."""
        with self._lock:
            return dict(self._last)

    @property
    def total(self) -> int:
        """Bad inputs of all kinds."""
        with self._lock:
            return sum(self._counts.values())


class FloodMeter:
    """Counts packets in one-second windows and flags the first packet over the limit.

    Args:
        limit_per_s: packets per second tolerated before a flood is counted.
    """

    def __init__(self, limit_per_s: int = DEFAULT_FLOOD_LIMIT) -> None:
        self.limit_per_s = limit_per_s
        self._window_start = 0.0
        self._count = 0

    def tick(self, now: float) -> bool:
        """Count one packet at ``now`` (s); True once per window when the limit is crossed."""
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._count = 0
        self._count += 1
        return self._count == self.limit_per_s + 1


__all__ = [
    "BAD_INPUT_KINDS",
    "DEFAULT_FLOOD_LIMIT",
    "BadInputCounter",
    "BadInputError",
    "BadInputKind",
    "FloodMeter",
]
