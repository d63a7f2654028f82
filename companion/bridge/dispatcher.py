"""The bridge's OSC dispatcher: python-osc's ``Dispatcher``, folding each packet into one update.

* **Atomic bundles**: all messages of a packet become one :class:`ContextUpdate`; if one known
  message in it is invalid the whole packet is rejected (unknown addresses inside it are only
  counted, because DAWs such as REAPER mix their own feedback into the same bundles).
* **Timetags never block**: python-osc's dispatcher sleeps until a bundle's future timetag;
  this one applies every packet on arrival (the DAW's clock is not ours to wait for).
* **Bad input is counted**, per kind, by a :class:`~companion.bridge.bad_input.BadInputCounter`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher

from companion import __version__
from companion.bridge.address_space import ADDRESS_SPACE, AddressSpec
from companion.bridge.bad_input import DEFAULT_FLOOD_LIMIT, BadInputCounter, BadInputError, FloodMeter
from companion.bridge.updates import Parsed, UpdateSink, fold
from companion.errors import CompanionError

if TYPE_CHECKING:
    from companion.ranking.context import ContextSource

log = logging.getLogger(__name__)

#: Answers a query: ``(kind, args, sender) -> [(address, *args), ...]`` replies to the sender.
QueryHandler = Callable[[str, tuple[Any, ...], tuple[str, int]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class ListenerStats:
    """Counters of one listener.

    Attributes:
        packets: datagrams received.
        updates: context updates handed to the sink.
        queries: queries answered.
        bad: bad inputs per kind (see :data:`BAD_INPUT_KINDS`).
        clients: registered push clients.
    """

    packets: int
    updates: int
    queries: int
    bad: dict[str, int]
    clients: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "packets": self.packets,
            "updates": self.updates,
            "queries": self.queries,
            "bad": dict(self.bad),
            "clients": self.clients,
        }


class BridgeDispatcher(Dispatcher):
    """A python-osc dispatcher that folds each packet into one atomic :class:`ContextUpdate`.

    Handlers are the ``parse`` functions of the address space; they return :class:`Parsed`
    values instead of replies. Unit tests feed datagrams with
    :meth:`call_handlers_for_packet` and need no socket.

    Args:
        on_update: receives each accepted update (on the calling thread).
        source: context source stamped on updates (``"osc"``, ``"ableton"``).
        specs: the addresses to map.
        counter: bad-input counter (a new one by default).
        on_query: answers queries; without it only ``ping`` is answered.
        flood_limit: packets per second before a flood is counted.
    """

    def __init__(
        self,
        on_update: UpdateSink,
        *,
        source: ContextSource = "osc",
        specs: Iterable[AddressSpec] = ADDRESS_SPACE,
        counter: BadInputCounter | None = None,
        on_query: QueryHandler | None = None,
        flood_limit: int = DEFAULT_FLOOD_LIMIT,
    ) -> None:
        super().__init__(strict_timing=False)
        self.on_update = on_update
        self.source = source
        self.counter = counter if counter is not None else BadInputCounter()
        self.on_query = on_query
        self._flood = FloodMeter(flood_limit)
        self._lock = threading.Lock()
        self.packets = 0
        self.updates = 0
        self.queries = 0
        for spec in specs:
            self.map(spec.address, spec.parse)

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list[tuple[Any, ...]]:
        """Parse one datagram, apply it as one update, and return the replies for the sender.

        Args:
            data: the UDP payload.
            client_address: ``(host, port)`` of the sender.

        Returns:
            Replies as ``(address, *args)`` tuples, to be sent back to ``client_address``.
        """
        received_at = time.perf_counter()
        with self._lock:
            self.packets += 1
            flooding = self._flood.tick(received_at)
        if flooding:
            self.counter.record(
                "flood",
                f"more than {self._flood.limit_per_s} packets/s from {client_address[0]} and others;"
                " every packet is still applied, ranking is coalesced",
            )
        if len(data) % 4:
            self.counter.record(
                "malformed",
                f"{len(data)}-byte packet from {client_address}: OSC packets are a multiple of 4 bytes",
            )
            return []
        try:
            packet = osc_packet.OscPacket(data)
        except osc_packet.ParseError as exc:
            self.counter.record("malformed", f"{len(data)}-byte packet from {client_address}: {exc}")
            return []
        except Exception as exc:  # noqa: BLE001 - python-osc may raise others on hostile input (e.g. IndexError)
            self.counter.record(
                "malformed", f"{len(data)}-byte packet from {client_address}: {type(exc).__name__}: {exc}"
            )
            return []
        return self._apply(packet.messages, client_address, received_at)

    def _apply(
        self,
        messages: Sequence[osc_packet.TimedMessage],
        sender: tuple[str, int],
        received_at: float,
    ) -> list[tuple[Any, ...]]:
        parsed: list[Parsed] = []
        addresses: list[str] = []
        errors: list[BadInputError] = []
        for timed in messages:  # timetags are ignored on purpose: never sleep on the DAW's clock
            message = timed.message
            handlers = list(self.handlers_for_address(message.address))
            if not handlers:
                self.counter.record("unknown_address", f"{message.address} from {sender}")
                continue
            for handler in handlers:
                try:
                    result = handler.invoke(sender, message)
                except BadInputError as exc:
                    errors.append(exc)
                    self.counter.record(exc.kind, str(exc))
                    continue
                if isinstance(result, Parsed):
                    parsed.append(result)
                    addresses.append(message.address)
        replies: list[tuple[Any, ...]] = []
        wants_reply = False
        for item in parsed:
            if item.query is not None:
                wants_reply = True
                replies.extend(self._answer(item.query, item.query_args, sender))
        if errors:
            if wants_reply:  # errors first: the query's own answer (e.g. pong) ends the reply
                replies[:0] = [("/companion/error", e.kind, str(e)) for e in errors]
            return replies
        update = fold(
            [p for p in parsed if p.query is None],
            source=self.source,
            received_at=received_at,
            sender=sender,
            addresses=[a for a, p in zip(addresses, parsed) if p.query is None],
        )
        if not update.is_empty:
            try:
                self.on_update(update)
            except CompanionError as exc:
                self.counter.record("rejected", f"{', '.join(update.addresses)}: {exc}")
                if wants_reply:
                    replies.insert(0, ("/companion/error", "rejected", str(exc)))
            except Exception:
                log.exception("context update %s failed; the listener goes on", update.addresses)
            else:
                with self._lock:
                    self.updates += 1
        return replies

    def _answer(self, kind: str, args: tuple[Any, ...], sender: tuple[str, int]) -> list[tuple[Any, ...]]:
        with self._lock:
            self.queries += 1
        if self.on_query is not None:
            return self.on_query(kind, args, sender)
        if kind == "ping":
            return [("/companion/pong", __version__)]
        return []


__all__ = ["BridgeDispatcher", "ListenerStats", "QueryHandler"]
