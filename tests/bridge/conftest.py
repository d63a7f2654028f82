"""Helpers for bridge tests: a queue-backed update sink and a UDP peer socket."""

from __future__ import annotations

import queue
import socket
from collections.abc import Iterator

import pytest

from companion.bridge.sender import Reply, decode
from companion.bridge.updates import ContextUpdate


class Sink:
    """Collects updates from a listener thread; ``get()`` waits for the next one."""

    def __init__(self) -> None:
        self.queue: queue.Queue[ContextUpdate] = queue.Queue()

    def __call__(self, update: ContextUpdate) -> None:
        self.queue.put(update)

    def get(self, timeout: float = 3.0) -> ContextUpdate:
        return self.queue.get(timeout=timeout)

    def empty_after(self, seconds: float) -> bool:
        try:
            self.queue.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


class Peer:
    """A UDP socket on 127.0.0.1 that sends raw datagrams and receives OSC replies."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))

    def receive(self, timeout: float = 3.0) -> list[Reply]:
        self.sock.settimeout(timeout)
        data, _ = self.sock.recvfrom(65535)
        return decode(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()
