"""The Ableton Link adapter against a real Link peer in another process (aalink, loopback)."""

from __future__ import annotations

import queue
import socket
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from companion.bridge.link import LinkAdapter
from companion.errors import CompanionError

from .conftest import Sink

aalink = pytest.importorskip("aalink", reason="aalink (Ableton Link binding) is not installed")

LINK_GROUP = "224.76.78.75"

PEER = textwrap.dedent(
    """
    import asyncio, sys
    from aalink import Link

    async def main():
        link = Link(100.0)
        link.start_stop_sync_enabled = True
        link.enabled = True
        for _ in range(200):                      # wait up to 10 s for the adapter to join
            if link.num_peers > 0:
                break
            await asyncio.sleep(0.05)
        print("peers", link.num_peers, flush=True)
        await asyncio.sleep(0.5)
        link.tempo = 137.0
        link.playing = True
        print("set 137", flush=True)
        await asyncio.sleep(1.0)
        link.tempo = 141.5
        print("set 141.5", flush=True)
        await asyncio.sleep(1.5)

    asyncio.run(main())
    """
)


def multicast_loopback_works() -> bool:
    """Can this host send a multicast datagram to itself (what Link discovery needs)?"""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rx.bind(("", 0))
        port = rx.getsockname()[1]
        mreq = struct.pack("4s4s", socket.inet_aton(LINK_GROUP), socket.inet_aton("0.0.0.0"))
        rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        rx.settimeout(1.0)
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        tx.sendto(b"probe", (LINK_GROUP, port))
        return rx.recvfrom(16)[0] == b"probe"
    except OSError:
        return False
    finally:
        rx.close()
        tx.close()


def test_link_state_while_alone(sink: Sink) -> None:
    with LinkAdapter(sink, start_tempo=123.0, quantum=4.0) as adapter:
        state = adapter.state()
        assert state.tempo == pytest.approx(123.0)
        assert state.quantum == 4.0 and 0.0 <= state.phase < 4.0
        assert state.peers == 0
        assert sink.empty_after(0.3)  # alone: the placeholder tempo is not pushed
    with pytest.raises(CompanionError, match="not running"):
        adapter.state()


@pytest.mark.skipif(not multicast_loopback_works(), reason="no multicast on this host: Link cannot discover peers")
def test_follows_a_link_peer(sink: Sink) -> None:
    with LinkAdapter(sink) as adapter:
        peer = subprocess.Popen([sys.executable, "-c", PEER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen: dict[str, object] = {}
            deadline = time.monotonic() + 15.0
            while seen.get("bpm") != 141.5 and time.monotonic() < deadline:
                try:
                    update = sink.get(timeout=0.5)
                except queue.Empty:
                    continue
                assert update.source == "link"
                seen.update(update.fields)
            assert seen.get("bpm") == 141.5, (seen, peer.stdout.read() if peer.poll() is not None else "")
            assert seen.get("playing") is True
            state = adapter.state()
            assert state.peers >= 1 and state.playing
            assert state.tempo == pytest.approx(141.5, abs=0.01)
            assert 0.0 <= state.phase < state.quantum
            assert state.beat > 0
        finally:
            peer.wait(timeout=20)
