"""AbletonOSC client mode: follow Ableton Live's tempo, key and transport.

AbletonOSC (https://github.com/ideoforms/AbletonOSC) is a MIDI Remote Script that exposes the
Live Object Model over OSC. It listens on UDP **11000** and always replies to the *sender's
host* on port **11001** (not to the sender's port). The client therefore binds 11001, sends
from that socket, and subscribes with::

    /live/song/start_listen/tempo        → /live/song/get/tempo f (BPM)
    /live/song/start_listen/root_note    → /live/song/get/root_note i (0 = C … 11 = B; Live 12)
    /live/song/start_listen/scale_name   → /live/song/get/scale_name s ("Minor", "Dorian"; Live 12)
    /live/song/start_listen/is_playing   → /live/song/get/is_playing i|T|F

A ``start_listen`` answers at once with the current value, then on every change. When the
script reloads (Live restarts, the control surface is re-selected) it forgets its listeners and
sends ``/live/startup``; the client subscribes again on that message.

Live 12's scales are more than major and minor. The context model has only those two modes, so
a scale is read by its third: scales with a minor third (Dorian, Phrygian, Minor Pentatonic …)
count as minor, those with a major third (Mixolydian, Lydian …) as major; symmetric scales with
no single third (Whole Tone, diminished, Messiaen modes) leave the key unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final

from pythonosc.osc_message_builder import build_msg

from companion.bridge.address_space import (
    AddressSpec,
    number_arg,
    parse_bpm,
    parse_playing,
)
from companion.bridge.bad_input import BadInputCounter, BadInputError
from companion.bridge.dispatcher import BridgeDispatcher
from companion.bridge.listener import BridgeUDPServer
from companion.bridge.updates import Parsed, UpdateSink
from companion.errors import CompanionError
from companion.music.keys import Key, Mode

log = logging.getLogger(__name__)

#: AbletonOSC's fixed ports (abletonosc/constants.py).
LIVE_PORT: Final = 11000
REPLY_PORT: Final = 11001
#: Song properties the client listens to.
SUBSCRIPTIONS: Final = ("tempo", "root_note", "scale_name", "is_playing")

#: Live 12 scale names (Live manual, "Scale Awareness") by the quality of their third.
_MINOR_SCALES: Final = frozenset(
    name.lower()
    for name in (
        "Minor",
        "Dorian",
        "Phrygian",
        "Locrian",
        "Minor Blues",
        "Minor Pentatonic",
        "Harmonic Minor",
        "Melodic Minor",
        "Dorian #4",
        "Super Locrian",
        "Hungarian Minor",
        "Hirajoshi",
        "Kumoi",
        "Pelog Selisir",
        "Pelog Tembung",
        "Aeolian",
        "Natural Minor",
    )
)
_MAJOR_SCALES: Final = frozenset(
    name.lower()
    for name in (
        "Major",
        "Ionian",
        "Mixolydian",
        "Lydian",
        "Major Pentatonic",
        "Harmonic Major",
        "Phrygian Dominant",
        "Lydian Augmented",
        "Lydian Dominant",
        "Bhairav",
        "Major Blues",
        "8-Tone Spanish",
    )
)


def scale_mode(scale_name: str) -> Mode | None:
    """Major or minor reading of a Live scale name, or None for scales with no single third.

    >>> scale_mode("Dorian"), scale_mode("Mixolydian"), scale_mode("Whole Tone")
    ('minor', 'major', None)
    """
    name = scale_name.strip().lower()
    if name in _MINOR_SCALES:
        return "minor"
    if name in _MAJOR_SCALES:
        return "major"
    if "minor" in name:
        return "minor"
    if "major" in name:
        return "major"
    return None


class AbletonOscClient:
    """Subscribes to Ableton Live through AbletonOSC and turns its replies into updates.

    Args:
        on_update: receives each :class:`~companion.bridge.updates.ContextUpdate`
            (source ``"ableton"``) on the client's thread.
        live_host: host running Live with AbletonOSC.
        live_port: AbletonOSC's listening port (11000).
        reply_port: the port AbletonOSC replies to (11001); bound by this client.
        counter: bad-input counter (a new one by default).
    """

    def __init__(
        self,
        on_update: UpdateSink,
        *,
        live_host: str = "127.0.0.1",
        live_port: int = LIVE_PORT,
        reply_port: int = REPLY_PORT,
        counter: BadInputCounter | None = None,
    ) -> None:
        self.live = (live_host, live_port)
        self._reply_port = reply_port
        self._lock = threading.Lock()
        self._root: int | None = None
        self._scale: str | None = None
        self._warned_scales: set[str] = set()
        self.subscriptions_sent = 0
        self.startups_seen = 0
        self.dispatcher = BridgeDispatcher(on_update, source="ableton", specs=self._specs(), counter=counter)
        self._server: BridgeUDPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> AbletonOscClient:
        """Bind the reply port, start the thread and subscribe.

        Raises:
            CompanionError: the reply port is taken (another AbletonOSC client is running).
        """
        if self._server is not None:
            return self
        bind_host = "127.0.0.1" if self.live[0] in ("127.0.0.1", "localhost") else "0.0.0.0"
        try:
            server = BridgeUDPServer((bind_host, self._reply_port), self.dispatcher)
        except OSError as exc:
            raise CompanionError(
                f"cannot bind AbletonOSC's reply port {self._reply_port}: {exc.strerror or exc}"
                " — close the other AbletonOSC client (only one program can receive Live's replies)"
            ) from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="abletonosc", daemon=True
        )
        self._thread.start()
        self.subscribe()
        log.info("following Ableton Live at %s:%d through AbletonOSC", *self.live)
        return self

    def stop(self) -> None:
        """Unsubscribe (best effort), stop the thread and close the socket (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        for prop in SUBSCRIPTIONS:
            self._send(server, f"/live/song/stop_listen/{prop}")
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> AbletonOscClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def reply_port(self) -> int:
        """The bound reply port (the real one when created with 0, for tests)."""
        return self._server.server_address[1] if self._server is not None else self._reply_port

    def subscribe(self) -> None:
        """Send ``/live/song/start_listen/<prop>`` for every followed property."""
        server = self._server
        if server is None:
            return
        for prop in SUBSCRIPTIONS:
            self._send(server, f"/live/song/start_listen/{prop}")
        self.subscriptions_sent += 1

    def _send(self, server: BridgeUDPServer, address: str, *args: Any) -> None:
        try:
            server.socket.sendto(build_msg(address, list(args)).dgram, self.live)
        except OSError as exc:
            log.warning("cannot send %s to Live at %s:%d: %s", address, *self.live, exc)

    # -- incoming --------------------------------------------------------------------------------

    def _specs(self) -> Sequence[AddressSpec]:
        def spec(address: str, parse: Callable[..., Parsed]) -> AddressSpec:
            return AddressSpec(address, "", "", "", "AbletonOSC", parse)

        return (
            spec("/live/song/get/tempo", parse_bpm),
            spec("/live/song/get/root_note", self._on_root),
            spec("/live/song/get/scale_name", self._on_scale),
            spec("/live/song/get/is_playing", parse_playing),
            spec("/live/startup", self._on_startup),
            spec("/live/error", self._on_error),
        )

    def _on_root(self, address: str, *args: Any) -> Parsed:
        root = number_arg(address, args, 0, 11, unit="pitch class")
        if root != int(root):
            raise BadInputError("out_of_range", f"{address} {root!r} is not a whole pitch class", address)
        with self._lock:
            self._root = int(root)
        return self._key()

    def _on_scale(self, address: str, *args: Any) -> Parsed:
        if len(args) != 1 or not isinstance(args[0], str):
            raise BadInputError("wrong_type", f"{address} takes one scale name, got {args!r}", address)
        with self._lock:
            self._scale = args[0]
        return self._key()

    def _key(self) -> Parsed:
        with self._lock:
            root, scale = self._root, self._scale
        if root is None or scale is None:
            return Parsed()
        mode = scale_mode(scale)
        if mode is None:
            if scale not in self._warned_scales:
                self._warned_scales.add(scale)
                log.warning("Live scale %r is neither major nor minor; the session key is left as it was", scale)
            return Parsed()
        return Parsed(fields={"key": Key(root, mode)})

    def _on_startup(self, address: str, *args: Any) -> Parsed:
        self.startups_seen += 1
        log.info("AbletonOSC (re)started; subscribing again")
        self.subscribe()
        return Parsed()

    def _on_error(self, address: str, *args: Any) -> Parsed:
        log.warning("AbletonOSC reports an error: %s", " ".join(str(a) for a in args))
        return Parsed()


__all__ = ["LIVE_PORT", "REPLY_PORT", "SUBSCRIPTIONS", "AbletonOscClient", "scale_mode"]
