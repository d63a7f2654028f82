"""The OSC listener over real loopback sockets: python-osc's client and liblo's oscsend."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient, UDPClient

from companion.bridge.listener import OscListener
from companion.bridge.sender import context_messages, encode, send
from companion.errors import CompanionError
from companion.music.keys import Key

from .conftest import Peer, Sink

OSCSEND = shutil.which("oscsend")


@pytest.fixture
def listener(sink: Sink):
    with OscListener(sink, port=0, snapshot=lambda: {"bpm": 99.0}) as lst:
        yield lst


def test_python_osc_client_messages(listener: OscListener, sink: Sink) -> None:
    client = SimpleUDPClient("127.0.0.1", listener.port)
    client.send_message("/context/bpm", 124.0)
    assert dict(sink.get().fields) == {"bpm": 124.0}
    client.send_message("/context/key", "A min")
    assert dict(sink.get().fields) == {"key": Key(9, "minor")}
    client.send_message("/context/mood", ["dark", "warm"])
    assert dict(sink.get().fields) == {"mood_tags": ("dark", "warm")}


def test_python_osc_bundle_is_one_update(listener: OscListener, sink: Sink) -> None:
    builder = OscBundleBuilder(IMMEDIATELY)
    for address, value in (("/context/bpm", 100.0), ("/context/key", "8A"), ("/context/genre", "house")):
        m = OscMessageBuilder(address)
        m.add_arg(value)
        builder.add_content(m.build())
    UDPClient("127.0.0.1", listener.port).send(builder.build())
    update = sink.get()
    assert dict(update.fields) == {"bpm": 100.0, "key": Key(9, "minor"), "genre": "house"}
    assert sink.empty_after(0.2)


@pytest.mark.skipif(OSCSEND is None, reason="liblo-tools (oscsend) is not installed")
def test_oscsend_tempo_key_and_play(listener: OscListener, sink: Sink) -> None:
    def oscsend(*args: str) -> None:
        subprocess.run([OSCSEND, "127.0.0.1", str(listener.port), *args], check=True, timeout=10)

    oscsend("/context/bpm", "f", "124")
    assert dict(sink.get().fields) == {"bpm": 124.0}
    oscsend("/context/key", "s", "A minor")
    assert dict(sink.get().fields) == {"key": Key(9, "minor")}
    oscsend("/context/key", "ss", "C", "min")
    assert dict(sink.get().fields) == {"key": Key(0, "minor")}
    oscsend("/context/bpm", "i", "87")
    assert dict(sink.get().fields) == {"bpm": 87.0}
    oscsend("/tempo/raw", "f", "131.5")  # REAPER / DrivenByMoss address
    assert dict(sink.get().fields) == {"bpm": 131.5}
    oscsend("/play", "T")
    assert dict(sink.get().fields) == {"playing": True}
    oscsend("/time/signature", "s", "6/8")
    assert dict(sink.get().extras) == {"time_signature": "6/8"}
    # bad ones: counted, nothing applied, and the listener goes on
    oscsend("/context/bpm", "f", "5000")
    oscsend("/context/key", "s", "Z minor")
    oscsend("/context/bpm", "s", "fast")
    oscsend("/nowhere", "i", "1")
    oscsend("/context/bpm", "f", "128")
    assert dict(sink.get().fields) == {"bpm": 128.0}
    counts = listener.counter.counts()
    kinds = ("out_of_range", "unknown_key", "wrong_type", "unknown_address")
    assert [counts[kind] for kind in kinds] == [1, 1, 1, 1]


def test_raw_garbage_over_the_socket(listener: OscListener, sink: Sink, peer: Peer) -> None:
    for junk in (b"", b"\xff" * 100, b"#bundle\x00", b"/context/bpm\x00\x00\x00\x00,f\x00\x00\x42", b"x" * 60000):
        peer.send(junk, listener.port)
    peer.send(encode(context_messages(bpm=122)), listener.port)
    assert dict(sink.get().fields) == {"bpm": 122.0}
    assert listener.counter.counts()["malformed"] >= 4  # an empty datagram may be dropped by the kernel path
    assert listener.stats().packets >= 5


def test_flood_does_not_stop_the_listener(sink: Sink, peer: Peer) -> None:
    with OscListener(sink, port=0, flood_limit=200) as listener:
        packet = encode(context_messages(bpm=100))
        for _ in range(3000):
            peer.send(packet, listener.port)
        # the kernel may drop datagrams beyond the socket buffer; the listener must still answer
        replies = []
        for _ in range(10):
            peer.send(encode(context_messages(bpm=140, ping=True)), listener.port)
            try:
                replies = peer.receive(timeout=1.0)
                break
            except TimeoutError:
                continue
        assert replies and replies[0].address == "/companion/pong"
        assert listener.counter.counts()["flood"] >= 1
        assert listener.stats().updates >= 1


def test_ping_get_stats_and_errors_via_sender(listener: OscListener) -> None:
    replies = send(encode(context_messages(ping=True)), port=listener.port, wait_s=3.0)
    assert replies[0].address == "/companion/pong"
    replies = send(
        encode(context_messages(key="H minor", ping=True)),
        port=listener.port,
        wait_s=3.0,
        expect=5,
        until="/companion/pong",
    )
    assert [r.address for r in replies] == ["/companion/error", "/companion/pong"]
    assert replies[0].args[0] == "unknown_key"
    (context,) = send(encode([("/context/get", [])]), port=listener.port, wait_s=3.0)
    assert context.address == "/companion/context" and json.loads(context.args[0]) == {"bpm": 99.0}
    (stats,) = send(encode([("/companion/stats", [])]), port=listener.port, wait_s=3.0)
    assert json.loads(stats.args[0])["bad"]["unknown_key"] == 1


def test_register_push_and_unregister(listener: OscListener, peer: Peer) -> None:
    peer.send(encode([("/companion/register", [])]), listener.port)
    (reply,) = peer.receive()
    assert reply.address == "/companion/registered" and reply.args == ("127.0.0.1", peer.port)
    assert listener.push_suggestions(7, 3.5, [("/s/kick.wav", 0.9), ("/s/hat.wav", 0.5)]) == 1
    (push,) = peer.receive()
    assert push.address == "/companion/suggestions"
    assert push.args[:3] == (7, pytest.approx(3.5), 2)
    assert push.args[3::2] == ("/s/kick.wav", "/s/hat.wav")
    peer.send(encode([("/companion/unregister", [])]), listener.port)
    assert peer.receive()[0].address == "/companion/unregistered"
    assert listener.push_suggestions(8, 1.0, []) == 0


def test_port_in_use_is_a_clear_error(listener: OscListener, sink: Sink) -> None:
    with pytest.raises(CompanionError, match="--port"):
        OscListener(sink, port=listener.port).start()


def test_stop_is_prompt_and_idempotent(sink: Sink) -> None:
    listener = OscListener(sink, port=0).start()
    started = time.perf_counter()
    listener.stop()
    listener.stop()
    assert time.perf_counter() - started < 1.0
