"""A small OSC sender for scripts, tests and benchmarks (``companion send``).

It builds one packet from context values — a bundle when there are several messages, so the
companion applies them atomically — and sends it with python-osc's UDP client. With
``ping=True`` it adds ``/companion/ping`` to the bundle and waits for the replies
(``/companion/pong`` and any ``/companion/error`` for the other messages).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import build_msg
from pythonosc.osc_packet import OscPacket, ParseError

from companion.bridge.address_space import DEFAULT_PORT
from companion.errors import CompanionError

Message = tuple[str, Sequence[Any]]


def context_messages(
    *,
    bpm: float | None = None,
    key: str | None = None,
    mode: str | None = None,
    mood: Sequence[str] | None = None,
    genre: str | None = None,
    prompt: str | None = None,
    time_remaining_s: float | None = None,
    playing: bool | None = None,
    accepted: Sequence[str] = (),
    reset: bool = False,
    ping: bool = False,
) -> list[Message]:
    """The ``/context/*`` messages for the given values, reset first and ping last.

    Args:
        bpm: tempo, BPM (sent as float).
        key: key name as the producer writes it (``"Am"``, ``"A minor"``, ``"8A"``).
        mode: ``"major"`` or ``"minor"``.
        mood: mood words (an empty list clears the mood).
        genre, prompt: text ("" clears).
        time_remaining_s: seconds left in the session.
        playing: transport state (sent as int 0/1).
        accepted: paths of samples used.
        reset: clear the context first.
        ping: ask for ``/companion/pong`` (and errors) in reply.
    """
    messages: list[Message] = []
    if reset:
        messages.append(("/context/reset", []))
    if bpm is not None:
        messages.append(("/context/bpm", [float(bpm)]))
    if key is not None:
        messages.append(("/context/key", [key]))
    if mode is not None:
        messages.append(("/context/mode", [mode]))
    if mood is not None:
        messages.append(("/context/mood", list(mood)))
    if genre is not None:
        messages.append(("/context/genre", [genre]))
    if prompt is not None:
        messages.append(("/context/prompt", [prompt]))
    if time_remaining_s is not None:
        messages.append(("/context/time_remaining", [float(time_remaining_s)]))
    if playing is not None:
        messages.append(("/context/playing", [int(bool(playing))]))
    messages.extend(("/context/accepted", [path]) for path in accepted)
    if ping:
        messages.append(("/companion/ping", []))
    return messages


def encode(messages: Sequence[Message], *, bundle: bool | None = None) -> bytes:
    """Encode messages as one datagram: a bundle (timetag "immediately") when there are
    several messages or ``bundle`` is True, else a single message.

    Raises:
        CompanionError: when there is nothing to send or a value cannot be encoded.
    """
    if not messages:
        raise CompanionError("nothing to send: give at least one value, e.g. --bpm 124")
    try:
        built = [build_msg(address, list(args)) for address, args in messages]
    except Exception as exc:  # python-osc raises BuildError / ValueError on unencodable values
        raise CompanionError(f"cannot encode OSC message: {exc}") from exc
    if len(built) == 1 and not bundle:
        return built[0].dgram
    builder = OscBundleBuilder(IMMEDIATELY)
    for msg in built:
        builder.add_content(msg)
    return builder.build().dgram


@dataclass(frozen=True)
class Reply:
    """One message received back from the companion."""

    address: str
    args: tuple[Any, ...]


def send(
    datagram: bytes,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    wait_s: float = 0.0,
    expect: int = 1,
    until: str | None = None,
) -> list[Reply]:
    """Send one datagram; optionally wait up to ``wait_s`` seconds for replies.

    Args:
        datagram: an encoded OSC packet (see :func:`encode`).
        host, port: where the companion listens.
        wait_s: how long to wait for replies (0: do not wait).
        expect: stop waiting once this many replies arrived.
        until: stop waiting once a reply to this address arrived (e.g. ``/companion/pong``,
            which the companion sends after any ``/companion/error`` of the same packet).

    Returns:
        The replies received (messages of reply bundles are flattened).

    Raises:
        CompanionError: when the datagram cannot be sent (unknown host, network down).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(datagram, (host, port))
        except OSError as exc:
            raise CompanionError(f"cannot send OSC to {host}:{port}: {exc}") from exc
        replies: list[Reply] = []
        if wait_s <= 0:
            return replies
        sock.settimeout(wait_s)
        while len(replies) < expect:
            try:
                data, _ = sock.recvfrom(65535)
            except TimeoutError:
                break
            except ConnectionRefusedError:  # an ICMP "port unreachable" from a previous send
                break
            try:
                packet = OscPacket(data)
            except ParseError:
                continue
            replies.extend(Reply(m.message.address, tuple(m.message.params)) for m in packet.messages)
            if until is not None and any(r.address == until for r in replies):
                break
        return replies


def decode(datagram: bytes) -> list[Reply]:
    """Decode a datagram into its messages (bundles flattened); for tests and tools."""
    packet = OscPacket(datagram)
    return [Reply(m.message.address, tuple(m.message.params)) for m in packet.messages]


__all__ = ["Message", "Reply", "context_messages", "decode", "encode", "send"]
