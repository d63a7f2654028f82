"""The OSC listener: a UDP server thread that turns packets into :class:`ContextUpdate` values.

Transport and dispatch are python-osc's (``BlockingOSCUDPServer``, ``Dispatcher``); this module
adds what a listener beside a DAW needs:

* **Bad input never stops it.** Malformed packets, unknown addresses, wrong types, out-of-range
  values, unknown key names and floods are each counted (:class:`BadInputCounter`) and logged
  once per kind (later ones at DEBUG); the next good message works.
* **Bundles are atomic.** All messages of a packet fold into one update; if one known message in
  it is invalid the whole packet is rejected (unknown addresses inside it are only counted,
  because DAWs such as REAPER mix their own feedback into the same bundles).
* **Timetags never block.** python-osc's dispatcher sleeps until a bundle's future timetag; this
  one applies every packet on arrival (the DAW's clock is not ours to wait for).
* **Floods are bounded.** The socket is read by one thread; every packet is cheap to apply, and
  the ranking side coalesces (``plugin_bridge.follower``), so a flood costs CPU, never memory.

Replies go to the sender's address; suggestion pushes go to clients registered with
``/companion/register``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import build_msg
from pythonosc.osc_server import BlockingOSCUDPServer

from companion import __version__
from companion.errors import CompanionError
from plugin_bridge.address_space import (
    ADDRESS_SPACE,
    BAD_INPUT_KINDS,
    DEFAULT_PORT,
    AddressSpec,
    BadInputError,
    BadInputKind,
    ContextUpdate,
    Parsed,
    fold,
)

log = logging.getLogger(__name__)

#: Receives every accepted update, on the listener thread. Must be quick (no ranking here).
UpdateSink = Callable[[ContextUpdate], None]
#: Answers a query: ``(kind, args, sender) -> [(address, *args), ...]`` replies to the sender.
QueryHandler = Callable[[str, tuple[Any, ...], tuple[str, int]], list[tuple[Any, ...]]]

#: Packets per second above which a flood is counted (once per second it lasts).
DEFAULT_FLOOD_LIMIT = 2000
#: At most this many clients receive pushes; the oldest registration is dropped first.
MAX_CLIENTS = 16
#: Largest UDP payload read, bytes (IPv4 maximum).
MAX_DATAGRAM = 65507


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
                kind, detail, kind,
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
        source: str = "osc",
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

    def call_handlers_for_packet(
        self, data: bytes, client_address: tuple[str, int]
    ) -> list[tuple[Any, ...]]:
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
        except Exception as exc:  # python-osc may raise others on hostile input (e.g. IndexError)
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


class BridgeUDPServer(BlockingOSCUDPServer):
    """python-osc's blocking UDP server, made to hand every datagram to the dispatcher.

    python-osc's server drops datagrams that do not look like OSC before the dispatcher sees
    them; this one lets the dispatcher count them as ``malformed``. It reads datagrams up to the
    IPv4 maximum and logs handler errors instead of printing them.
    """

    max_packet_size = MAX_DATAGRAM
    allow_reuse_address = False

    def verify_request(self, request: Any, client_address: Any) -> bool:  # noqa: D102
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: D102
        log.exception("OSC packet from %s could not be handled; the listener goes on", client_address)


class OscListener:
    """The companion's OSC listener on a UDP port, run on its own daemon thread.

    Args:
        on_update: receives each accepted :class:`ContextUpdate` on the listener thread; it
            should apply the update to the context store and return (ranking happens elsewhere).
        host: interface to bind; ``"127.0.0.1"`` (default) or ``"0.0.0.0"`` for a DAW on another
            machine.
        port: UDP port (default 9137; 0 picks a free one, see :attr:`port`).
        source: context source stamped on updates.
        snapshot: returns the context as a JSON-serialisable dict, for ``/context/get``.
        flood_limit: packets per second before a flood is counted.
        counter: bad-input counter (a new one by default).

    Example::

        with OscListener(print, port=0) as listener:
            ...  # send to ("127.0.0.1", listener.port)
    """

    def __init__(
        self,
        on_update: UpdateSink,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        source: str = "osc",
        snapshot: Callable[[], dict[str, Any]] | None = None,
        flood_limit: int = DEFAULT_FLOOD_LIMIT,
        counter: BadInputCounter | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._clients: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._clients_lock = threading.Lock()
        self.dispatcher = BridgeDispatcher(
            on_update, source=source, counter=counter, on_query=self._on_query, flood_limit=flood_limit
        )
        self._address = (host, port)
        self._server: BridgeUDPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> OscListener:
        """Bind the port and start the listener thread.

        Raises:
            CompanionError: if the port cannot be bound (in use, or no permission).
        """
        if self._server is not None:
            return self
        try:
            server = BridgeUDPServer(self._address, self.dispatcher)
        except OSError as exc:
            raise CompanionError(
                f"cannot listen for OSC on {self._address[0]}:{self._address[1]}: {exc.strerror or exc}"
                " — is another companion running? choose another port with --port"
            ) from exc
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="osc-listener", daemon=True
        )
        self._thread.start()
        log.info("listening for OSC on %s:%d", *self.address)
        return self

    def stop(self) -> None:
        """Stop the thread and close the socket (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> OscListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` actually bound (the real port when created with port 0)."""
        if self._server is None:
            return self._address
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        """The UDP port actually bound."""
        return self.address[1]

    @property
    def counter(self) -> BadInputCounter:
        """The bad-input counter."""
        return self.dispatcher.counter

    def stats(self) -> ListenerStats:
        """Current counters."""
        d = self.dispatcher
        with self._clients_lock:
            clients = len(self._clients)
        return ListenerStats(d.packets, d.updates, d.queries, d.counter.counts(), clients)

    # -- replies and pushes ----------------------------------------------------------------------

    def clients(self) -> list[tuple[str, int]]:
        """Registered push clients, oldest first."""
        with self._clients_lock:
            return list(self._clients)

    def push(self, address: str, *args: Any) -> int:
        """Send one message to every registered client. Returns how many were sent."""
        server = self._server
        if server is None:
            return 0
        dgram = build_msg(address, list(args)).dgram
        sent = 0
        for client in self.clients():
            try:
                server.socket.sendto(dgram, client)
                sent += 1
            except OSError as exc:
                log.warning("cannot push %s to %s:%d: %s — client dropped", address, *client, exc)
                with self._clients_lock:
                    self._clients.pop(client, None)
        return sent

    def push_suggestions(self, seq: int, latency_ms: float, items: Sequence[tuple[str, float]]) -> int:
        """Push ``/companion/suggestions i:seq f:latency_ms i:n (s:path f:score)×n`` to clients."""
        args: list[Any] = [int(seq), float(latency_ms), len(items)]
        for path, score in items:
            args.extend((str(path), float(score)))
        return self.push("/companion/suggestions", *args)

    def _on_query(self, kind: str, args: tuple[Any, ...], sender: tuple[str, int]) -> list[tuple[Any, ...]]:
        if kind == "ping":
            return [("/companion/pong", __version__)]
        if kind in ("register", "unregister"):
            client = (sender[0], int(args[0]) if args else sender[1])
            with self._clients_lock:
                self._clients.pop(client, None)
                if kind == "register":
                    self._clients[client] = None
                    while len(self._clients) > MAX_CLIENTS:
                        dropped, _ = self._clients.popitem(last=False)
                        log.warning("more than %d OSC clients; dropped %s:%d", MAX_CLIENTS, *dropped)
            return [(f"/companion/{kind}ed", client[0], client[1])]
        if kind == "get":
            data = self._snapshot() if self._snapshot is not None else {}
            return [("/companion/context", json.dumps(data, sort_keys=True))]
        if kind == "stats":
            return [("/companion/stats", json.dumps(self.stats().to_json(), sort_keys=True))]
        return []


__all__ = [
    "DEFAULT_FLOOD_LIMIT",
    "BadInputCounter",
    "BridgeDispatcher",
    "BridgeUDPServer",
    "FloodMeter",
    "ListenerStats",
    "OscListener",
    "QueryHandler",
    "UpdateSink",
]
