"""The bridge dispatcher, fed datagrams with no socket (python-osc's call_handlers_for_packet)."""

from __future__ import annotations

import logging
import struct
import time

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import build_msg

from companion.bridge.bad_input import BAD_INPUT_KINDS
from companion.bridge.dispatcher import BridgeDispatcher
from companion.bridge.sender import context_messages, encode
from companion.bridge.updates import ContextUpdate
from companion.errors import ContextError
from companion.music.keys import Key

PEER = ("127.0.0.1", 50000)


def msg(address: str, *args: object) -> bytes:
    return build_msg(address, list(args)).dgram


def bundle(*dgrams: bytes, at: float = IMMEDIATELY) -> bytes:
    builder = OscBundleBuilder(at)
    for d in dgrams:
        builder.add_content(build_msg_from(d))
    return builder.build().dgram


def build_msg_from(dgram: bytes):  # OscBundleBuilder wants message objects
    from pythonosc.osc_message import OscMessage

    return OscMessage(dgram)


@pytest.fixture
def updates() -> list[ContextUpdate]:
    return []


@pytest.fixture
def dispatcher(updates: list[ContextUpdate]) -> BridgeDispatcher:
    return BridgeDispatcher(updates.append)


def test_single_message_becomes_one_update(dispatcher: BridgeDispatcher, updates: list[ContextUpdate]) -> None:
    before = time.perf_counter()
    assert dispatcher.call_handlers_for_packet(msg("/context/bpm", 124.0), PEER) == []
    assert len(updates) == 1
    update = updates[0]
    assert dict(update.fields) == {"bpm": 124.0}
    assert update.source == "osc" and update.sender == PEER
    assert update.addresses == ("/context/bpm",)
    assert before <= update.received_at <= time.perf_counter()


def test_bundle_is_one_atomic_update(dispatcher: BridgeDispatcher, updates: list[ContextUpdate]) -> None:
    data = encode(context_messages(reset=True, bpm=124, key="8A", mood=["dark"], playing=True))
    dispatcher.call_handlers_for_packet(data, PEER)
    assert len(updates) == 1
    assert updates[0].reset is True
    assert dict(updates[0].fields) == {"bpm": 124.0, "key": Key(9, "minor"), "mood_tags": ("dark",), "playing": True}


def test_nested_bundles_fold_into_one_update(dispatcher: BridgeDispatcher, updates: list[ContextUpdate]) -> None:
    inner = OscBundleBuilder(IMMEDIATELY)
    inner.add_content(build_msg_from(msg("/context/key", "Am")))
    outer = OscBundleBuilder(IMMEDIATELY)
    outer.add_content(build_msg_from(msg("/context/bpm", 90)))
    outer.add_content(inner.build())
    dispatcher.call_handlers_for_packet(outer.build().dgram, PEER)
    assert len(updates) == 1
    assert dict(updates[0].fields) == {"bpm": 90.0, "key": Key(9, "minor")}


def test_invalid_message_rejects_whole_bundle(dispatcher: BridgeDispatcher, updates: list[ContextUpdate]) -> None:
    data = bundle(msg("/context/bpm", 124.0), msg("/context/key", "Q major"))
    dispatcher.call_handlers_for_packet(data, PEER)
    assert updates == []
    assert dispatcher.counter.counts()["unknown_key"] == 1
    dispatcher.call_handlers_for_packet(msg("/context/bpm", 124.0), PEER)  # the next good one works
    assert [dict(u.fields) for u in updates] == [{"bpm": 124.0}]


def test_unknown_address_in_bundle_is_counted_not_fatal(
    dispatcher: BridgeDispatcher, updates: list[ContextUpdate]
) -> None:
    data = bundle(msg("/track/1/volume", 0.5), msg("/tempo/raw", 128.0), msg("/play", 1.0))
    dispatcher.call_handlers_for_packet(data, PEER)
    assert [dict(u.fields) for u in updates] == [{"bpm": 128.0, "playing": True}]
    assert dispatcher.counter.counts()["unknown_address"] == 1


def test_future_timetag_never_blocks(dispatcher: BridgeDispatcher, updates: list[ContextUpdate]) -> None:
    data = bundle(msg("/context/bpm", 100.0), at=time.time() + 60.0)
    started = time.perf_counter()
    dispatcher.call_handlers_for_packet(data, PEER)
    assert time.perf_counter() - started < 0.5
    assert [dict(u.fields) for u in updates] == [{"bpm": 100.0}]


def _truncated_bundle() -> bytes:
    return bundle(msg("/context/bpm", 100.0), msg("/context/key", "Am"))[:-6]


MALFORMED = {
    "garbage": b"\x00\x01\x02\x03",
    "empty": b"",
    "text": b"hello world",
    "unterminated address": b"/context/bpm",
    "truncated int": msg("/context/bpm", 120)[:-2],
    "truncated float (python-osc would zero-pad it)": msg("/context/bpm", 120.0)[:-2],
    "truncated string": msg("/context/key", "Abcd")[:-4],
    "type tags without comma": b"/context/bpm\x00\x00\x00\x00xf\x00\x00" + struct.pack(">f", 1.0),
    "truncated bundle": _truncated_bundle(),
    "bundle header only": b"#bundle\x00",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_packets_are_counted_and_next_good_works(
    name: str, dispatcher: BridgeDispatcher, updates: list[ContextUpdate]
) -> None:
    assert dispatcher.call_handlers_for_packet(MALFORMED[name], PEER) == []
    assert updates == []
    assert dispatcher.counter.counts()["malformed"] == 1
    dispatcher.call_handlers_for_packet(msg("/context/key", "A min"), PEER)
    assert [dict(u.fields) for u in updates] == [{"key": Key(9, "minor")}]


@pytest.mark.parametrize(
    ("packet", "kind"),
    [
        (msg("/context/bmp", 120.0), "unknown_address"),
        (msg("/context/bpm", "120"), "wrong_type"),
        (msg("/context/bpm", 5.0), "out_of_range"),
        (msg("/context/bpm", 1200), "out_of_range"),
        (msg("/context/key", "Xm"), "unknown_key"),
        (msg("/context/mode", "phrygian"), "unknown_key"),
        (msg("/context/playing", 3), "out_of_range"),
        (msg("/context/time_remaining", "soon"), "wrong_type"),
    ],
)
def test_each_bad_kind_is_counted(
    packet: bytes, kind: str, dispatcher: BridgeDispatcher, updates: list[ContextUpdate]
) -> None:
    dispatcher.call_handlers_for_packet(packet, PEER)
    counts = dispatcher.counter.counts()
    assert counts[kind] == 1
    assert sum(counts.values()) == 1
    assert updates == []


def test_each_kind_is_logged_once(dispatcher: BridgeDispatcher, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="companion.bridge")
    for _ in range(5):
        dispatcher.call_handlers_for_packet(msg("/context/bpm", 5.0), PEER)
        dispatcher.call_handlers_for_packet(b"junk", PEER)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert dispatcher.counter.counts()["out_of_range"] == 5
    assert dispatcher.counter.counts()["malformed"] == 5


def test_flood_is_counted_once_per_second_and_every_packet_still_applies(
    updates: list[ContextUpdate],
) -> None:
    dispatcher = BridgeDispatcher(updates.append, flood_limit=50)
    for i in range(200):
        dispatcher.call_handlers_for_packet(msg("/context/bpm", 60.0 + i), PEER)
    assert dispatcher.counter.counts()["flood"] == 1
    assert len(updates) == 200
    assert updates[-1].fields["bpm"] == 259.0


def test_sink_refusal_is_counted_as_rejected(updates: list[ContextUpdate]) -> None:
    def refuse(update: ContextUpdate) -> None:
        raise ContextError("no")

    dispatcher = BridgeDispatcher(refuse)
    replies = dispatcher.call_handlers_for_packet(encode(context_messages(bpm=120, ping=True)), PEER)
    assert dispatcher.counter.counts()["rejected"] == 1
    assert ("/companion/error", "rejected", "no") in replies


def test_sink_crash_does_not_escape(updates: list[ContextUpdate]) -> None:
    def crash(update: ContextUpdate) -> None:
        raise RuntimeError("boom")

    dispatcher = BridgeDispatcher(crash)
    dispatcher.call_handlers_for_packet(msg("/context/bpm", 120.0), PEER)
    assert dispatcher.packets == 1 and dispatcher.updates == 0


def test_ping_reply_and_errors_replied_with_a_query(dispatcher: BridgeDispatcher) -> None:
    replies = dispatcher.call_handlers_for_packet(msg("/companion/ping"), PEER)
    assert replies[0][0] == "/companion/pong"
    replies = dispatcher.call_handlers_for_packet(encode(context_messages(key="Hm", ping=True)), PEER)
    assert [r[:2] for r in replies] == [("/companion/error", "unknown_key"), ("/companion/pong", replies[1][1])]
    # without a query nobody is answered
    assert dispatcher.call_handlers_for_packet(msg("/context/key", "Hm"), PEER) == []


def test_counter_lists_every_kind(dispatcher: BridgeDispatcher) -> None:
    assert set(dispatcher.counter.counts()) == set(BAD_INPUT_KINDS)
