"""AbletonOSC client mode against a fake Live peer at the OSC level (real UDP sockets).

The fake behaves like AbletonOSC's ``abletonosc/osc_server.py`` and ``handler.py``: it listens
on its own port, answers ``start_listen/<prop>`` at once with ``/live/song/get/<prop> value``
and on each later change, always replies to the sender's host on the client's reply port, and
forgets its listeners on reload, announcing itself with ``/live/startup``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import build_msg

from companion.bridge.abletonosc import SUBSCRIPTIONS, AbletonOscClient, scale_mode
from companion.bridge.follower import ContextFollower
from companion.errors import CompanionError
from companion.music.keys import Key
from companion.ranking.context import ContextStore

from .conftest import Sink


class FakeLive:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.reply_port = 0
        self.state: dict[str, Any] = {"tempo": 120.0, "root_note": 9, "scale_name": "Minor", "is_playing": False}
        self.listeners: set[str] = set()
        self.received: list[str] = []
        self.client_host = "127.0.0.1"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, (host, _port) = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.client_host = host
            address = OscMessage(data).address
            self.received.append(address)
            prefix = "/live/song/start_listen/"
            if address.startswith(prefix):
                prop = address[len(prefix) :]
                self.listeners.add(prop)
                self._emit(prop)
            elif address.startswith("/live/song/stop_listen/"):
                self.listeners.discard(address.rsplit("/", 1)[1])

    def _emit(self, prop: str) -> None:
        self.send(f"/live/song/get/{prop}", self.state[prop])

    def send(self, address: str, *args: Any) -> None:
        self.sock.sendto(build_msg(address, list(args)).dgram, (self.client_host, self.reply_port))

    def set(self, prop: str, value: Any) -> None:
        self.state[prop] = value
        if prop in self.listeners:
            self._emit(prop)

    def reload(self) -> None:
        """The remote script reloads: listeners are gone until the client subscribes again."""
        self.listeners.clear()
        self.send("/live/startup")

    def subscriptions(self) -> int:
        return sum(a.startswith("/live/song/start_listen/") for a in self.received)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.sock.close()


@pytest.fixture
def live() -> Iterator[FakeLive]:
    fake = FakeLive()
    yield fake
    fake.close()


@pytest.fixture
def client(live: FakeLive, sink: Sink) -> Iterator[AbletonOscClient]:
    live.reply_port = _free_port()  # where AbletonOSC replies: 11001 in real life
    with AbletonOscClient(sink, live_port=live.port, reply_port=live.reply_port) as c:
        yield c


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collect(sink: Sink, n: int) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for _ in range(n):
        update = sink.get()
        assert update.source == "ableton"
        fields.update(update.fields)
    return fields


def wait_for(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_subscribes_and_receives_current_values(client: AbletonOscClient, live: FakeLive, sink: Sink) -> None:
    wait_for(lambda: live.listeners == set(SUBSCRIPTIONS))
    fields = collect(sink, 3)  # tempo, root (no scale yet → no update), scale → key, playing
    assert fields == {"bpm": 120.0, "key": Key(9, "minor"), "playing": False}


def test_follows_changes(client: AbletonOscClient, live: FakeLive, sink: Sink) -> None:
    collect(sink, 3)
    live.set("tempo", 128.0)
    assert dict(sink.get().fields) == {"bpm": 128.0}
    live.set("is_playing", True)
    assert dict(sink.get().fields) == {"playing": True}
    live.set("root_note", 2)
    live.set("scale_name", "Dorian")
    assert collect(sink, 2) == {"key": Key(2, "minor")}
    live.set("scale_name", "Mixolydian")
    assert dict(sink.get().fields) == {"key": Key(2, "major")}


def test_resubscribes_after_live_reloads(client: AbletonOscClient, live: FakeLive, sink: Sink) -> None:
    collect(sink, 3)
    assert live.subscriptions() == len(SUBSCRIPTIONS)
    live.reload()
    wait_for(lambda: live.subscriptions() == 2 * len(SUBSCRIPTIONS))
    assert client.startups_seen == 1
    collect(sink, 4)  # the fresh listeners answer with the current values
    live.set("tempo", 133.0)
    assert dict(sink.get().fields) == {"bpm": 133.0}


def test_change_while_unsubscribed_arrives_after_startup(client: AbletonOscClient, live: FakeLive, sink: Sink) -> None:
    collect(sink, 3)
    live.listeners.clear()  # the script reloaded but its /live/startup has not arrived yet
    live.set("tempo", 97.0)
    assert sink.empty_after(0.2)
    live.send("/live/startup")
    fields = collect(sink, 4)
    assert fields["bpm"] == 97.0


def test_symmetric_scale_leaves_key(client: AbletonOscClient, live: FakeLive, sink: Sink) -> None:
    collect(sink, 3)
    live.set("scale_name", "Whole Tone")
    assert sink.empty_after(0.2)


def test_bad_values_from_live_are_counted(client: AbletonOscClient, live: FakeLive, sink: Sink) -> None:
    collect(sink, 3)
    live.send("/live/song/get/tempo", "fast")
    live.send("/live/song/get/root_note", 14)
    live.send("/live/song/get/tempo", 5000.0)
    live.send("/live/song/get/tempo", 126.0)
    assert dict(sink.get().fields) == {"bpm": 126.0}
    counts = client.dispatcher.counter.counts()
    assert (counts["wrong_type"], counts["out_of_range"]) == (1, 2)


def test_updates_reach_the_store_as_ableton(live: FakeLive) -> None:
    store = ContextStore()
    follower = ContextFollower(store, lambda: [], lambda result: None)
    reply_port = _free_port()
    live.reply_port = reply_port
    with AbletonOscClient(follower.apply, live_port=live.port, reply_port=reply_port):
        wait_for(lambda: store.snapshot().key is not None and store.snapshot().bpm is not None)
    ctx = store.snapshot()
    assert (ctx.bpm, ctx.key) == (120.0, Key(9, "minor"))
    assert ctx.updated["bpm"][0] == "ableton"
    wait_for(lambda: live.listeners == set())  # stop() unsubscribed


def test_reply_port_taken_is_a_clear_error(client: AbletonOscClient, sink: Sink) -> None:
    with pytest.raises(CompanionError, match="reply port"):
        AbletonOscClient(sink, reply_port=client.reply_port).start()


@pytest.mark.parametrize(
    ("scale", "mode"),
    [
        ("Major", "major"),
        ("Minor", "minor"),
        ("Dorian", "minor"),
        ("Phrygian Dominant", "major"),
        ("Harmonic Minor", "minor"),
        ("Lydian", "major"),
        ("Whole Tone", None),
        ("Half-whole Dim.", None),
    ],
)
def test_scale_mode(scale: str, mode: str | None) -> None:
    assert scale_mode(scale) == mode
