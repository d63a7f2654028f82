"""The OSC listener: a UDP server thread feeding :class:`~companion.bridge.updates.ContextUpdate`
values to a sink, with replies and suggestion pushes.

Transport is python-osc's ``BlockingOSCUDPServer``; parsing and folding are the
:class:`~companion.bridge.dispatcher.BridgeDispatcher`'s. What a listener beside a DAW needs:

* **Bad input never stops it.** Malformed packets, unknown addresses, wrong types, out-of-range
  values, unknown key names and floods are each counted and logged once per kind; the next good
  message works (see :mod:`companion.bridge.bad_input`).
* **Floods are bounded.** One thread reads the socket; every packet is cheap to apply, and the
  ranking side coalesces (:mod:`companion.bridge.follower`), so a flood costs CPU, never memory.
  What does not fit the socket buffer is dropped by the kernel (UDP); the latest value wins.
* **Replies** go to the sender's address; **pushes** (``/companion/suggestions``) go to clients
  registered with ``/companion/register`` (at most :data:`MAX_CLIENTS`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pythonosc.osc_message_builder import build_msg
from pythonosc.osc_server import BlockingOSCUDPServer

from companion import __version__
from companion.bridge.address_space import DEFAULT_PORT
from companion.bridge.bad_input import DEFAULT_FLOOD_LIMIT, BadInputCounter
from companion.bridge.dispatcher import BridgeDispatcher, ListenerStats
from companion.bridge.updates import UpdateSink
from companion.errors import CompanionError

if TYPE_CHECKING:
    from companion.ranking.context import ContextSource

log = logging.getLogger(__name__)

#: At most this many clients receive pushes; the oldest registration is dropped first.
MAX_CLIENTS = 16
#: Largest UDP payload read, bytes (IPv4 maximum).
MAX_DATAGRAM = 65507


class BridgeUDPServer(BlockingOSCUDPServer):
    """python-osc's blocking UDP server, made to hand every datagram to the dispatcher.

    python-osc's server drops datagrams that do not look like OSC before the dispatcher sees
    them; this one lets the dispatcher count them as ``malformed``. It reads datagrams up to the
    IPv4 maximum and logs handler errors instead of printing them.
    """

    max_packet_size = MAX_DATAGRAM
    allow_reuse_address = False

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
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
        source: ContextSource = "osc",
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


__all__ = ["MAX_CLIENTS", "MAX_DATAGRAM", "BridgeUDPServer", "OscListener"]
