"""What the bridge hands to the context side: one :class:`ContextUpdate` per packet.

Each OSC message parses into a :class:`Parsed` value; :func:`fold` merges the messages of one
packet (a bundle, nested bundles included) into one atomic :class:`ContextUpdate`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from companion.ranking.context import ContextSource

QueryKind = Literal["ping", "register", "unregister", "get", "stats"]


@dataclass(frozen=True)
class Parsed:
    """What one OSC message asks for; a bundle folds several of these into one update.

    Attributes:
        fields: context fields to set, named as ``ContextStore.update`` takes them
            (``bpm`` float BPM, ``key`` :class:`Key`, ``mode`` ``"major"|"minor"``,
            ``mood_tags`` tuple of words, ``genre``/``prompt`` str or None,
            ``time_remaining_s`` float s, ``playing`` bool).
        reset: clear the whole context before applying ``fields``.
        accepted: paths of samples the producer used.
        extras: DAW facts the context model has no field for (``time_signature`` "4/4").
        query: a request that wants a reply (ping, register, …), with its arguments.
    """

    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    reset: bool = False
    accepted: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    query: QueryKind | None = None
    query_args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ContextUpdate:
    """One atomic change to the session context, from one packet (message or whole bundle).

    Attributes:
        fields: validated context fields (see :attr:`Parsed.fields`); later messages of a
            bundle override earlier ones.
        source: context source name (``"osc"``, ``"ableton"``, ``"link"``).
        received_at: ``time.perf_counter()`` seconds when the packet arrived.
        sender: ``(host, port)`` of the peer, or None for in-process sources.
        reset: clear every field first (applied atomically with ``fields``).
        accepted: sample paths the producer used, in order.
        extras: DAW facts outside the context model (``time_signature``).
        addresses: the OSC addresses that contributed, in order.
    """

    fields: Mapping[str, Any]
    source: ContextSource
    received_at: float
    sender: tuple[str, int] | None = None
    reset: bool = False
    accepted: tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    addresses: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the update changes nothing (e.g. a bundle of unknown addresses)."""
        return not (self.fields or self.reset or self.accepted or self.extras)


def fold(
    parsed: Sequence[Parsed],
    *,
    source: ContextSource,
    received_at: float | None = None,
    sender: tuple[str, int] | None = None,
    addresses: Sequence[str] = (),
) -> ContextUpdate:
    """Fold the messages of one packet into one :class:`ContextUpdate` (bundles are atomic).

    A ``reset`` anywhere in the bundle clears the context *before* the bundle's fields apply;
    for the same field, the later message wins. Queries are not part of the update.
    """
    fields: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    accepted: list[str] = []
    reset = False
    for item in parsed:
        reset = reset or item.reset
        fields.update(item.fields)
        extras.update(item.extras)
        accepted.extend(item.accepted)
    return ContextUpdate(
        fields=MappingProxyType(fields),
        source=source,
        received_at=time.perf_counter() if received_at is None else received_at,
        sender=sender,
        reset=reset,
        accepted=tuple(accepted),
        extras=MappingProxyType(extras),
        addresses=tuple(addresses),
    )


#: Receives every accepted update on the adapter's thread. Must be quick (no ranking there).
UpdateSink = Callable[[ContextUpdate], None]

__all__ = ["ContextUpdate", "Parsed", "QueryKind", "UpdateSink", "fold"]
