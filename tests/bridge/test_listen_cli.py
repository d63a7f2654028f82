"""``companion listen`` and ``companion send`` end to end: a real catalog, real processes, oscsend."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_samples

OSCSEND = shutil.which("oscsend")
SAMPLES = ["loop_amen.flac", "loop_breakbeat.flac", "loop_garzul.flac", "bd_haus.flac", "ambi_choir.flac"]


def companion(*args: str) -> list[str]:
    return [sys.executable, "-m", "companion", *args]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory, sonic_pi: Path) -> Path:
    root = tmp_path_factory.mktemp("listen")
    copy_samples(sonic_pi, root / "samples", SAMPLES)
    db = root / "library.db"
    subprocess.run(
        companion("scan", str(root / "samples"), "--library-db", str(db), "-j", "1"),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return db


class Listen:
    """A running ``companion listen`` whose stdout lines arrive on a queue."""

    def __init__(self, db: Path, port: int) -> None:
        env = {**os.environ, "RECS_USE_CLAP": "false", "PYTHONUNBUFFERED": "1"}
        self.port = port
        self.proc = subprocess.Popen(
            companion("listen", "--port", str(port), "--top-k", "3", "--library-db", str(db)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        ready = threading.Event()

        def pump_out() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.put(line)

        def pump_err() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.err.append(line)
                if "listening for OSC" in line:
                    ready.set()

        threading.Thread(target=pump_out, daemon=True).start()
        threading.Thread(target=pump_err, daemon=True).start()
        if not ready.wait(60):
            self.proc.kill()
            raise AssertionError("companion listen did not start: " + "".join(self.err))

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return json.loads(self.lines.get(timeout=timeout))

    def quiet(self, seconds: float) -> bool:
        try:
            self.lines.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def oscsend(self, *args: str) -> None:
        assert OSCSEND is not None
        subprocess.run([OSCSEND, "127.0.0.1", str(self.port), *args], check=True, timeout=10)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=20)
        return "".join(self.err)


@pytest.fixture
def listen(catalog: Path) -> Iterator[Listen]:
    running = Listen(catalog, free_port())
    yield running
    running.stop()
    if running.proc.poll() is None:
        running.proc.kill()


@pytest.mark.skipif(OSCSEND is None, reason="liblo-tools (oscsend) is not installed")
def test_listen_follows_oscsend_and_survives_bad_input(listen: Listen) -> None:
    listen.oscsend("/context/bpm", "f", "124")
    line = listen.next()
    assert line["context"]["bpm"] == 124.0
    assert line["addresses"] == ["/context/bpm"]
    assert 0 < line["rank_ms"] <= line["latency_ms"] < 5000
    assert 1 <= len(line["suggestions"]) <= 3
    for s in line["suggestions"]:  # the tempo filter: loops within ±5 BPM (half/double allowed)
        if s["kind"] == "loop" and s["bpm"]:
            assert min(abs(s["bpm"] * f - 124.0) for f in (0.5, 1.0, 2.0)) <= 5.0 + 1e-6

    listen.oscsend("/context/key", "s", "A minor")
    line = listen.next()
    assert (line["context"]["key"], line["context"]["bpm"]) == ("A minor", 124.0)

    # every bad-input kind, then a good message
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(b"\x00garbage", ("127.0.0.1", listen.port))
    sock.close()
    listen.oscsend("/context/bpm", "f", "5000")
    listen.oscsend("/context/bpm", "s", "fast")
    listen.oscsend("/context/key", "s", "Q major")
    listen.oscsend("/no/such/address", "i", "1")
    assert listen.quiet(0.5)
    listen.oscsend("/tempo/raw", "f", "90")
    line = listen.next()
    assert line["context"]["bpm"] == 90.0 and line["context"]["key"] == "A minor"

    err = listen.stop()
    assert listen.proc.returncode == 0
    (final,) = [line for line in err.splitlines() if line.startswith("stopped: ")]
    stats = {k: v for k, v in json.loads(final.removeprefix("stopped: "))["bad"].items() if v}
    assert stats == {"malformed": 1, "out_of_range": 1, "wrong_type": 1, "unknown_key": 1, "unknown_address": 1}
    for kind in stats:
        assert sum(f"OSC bad input ({kind})" in e for e in err.splitlines()) == 1


def test_send_check_bundle_and_errors(listen: Listen) -> None:
    ok = subprocess.run(
        companion(
            "send",
            "--port",
            str(listen.port),
            "--reset",
            "--bpm",
            "128",
            "--key",
            "8A",
            "--mood",
            "dark",
            "--genre",
            "techno",
            "--playing",
            "--check",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    line = listen.next()
    ctx = line["context"]
    assert (ctx["bpm"], ctx["key"], ctx["mood_tags"], ctx["genre"], ctx["playing"]) == (
        128.0,
        "A minor",
        ["dark"],
        "techno",
        True,
    )
    assert line["coalesced"] == 1  # one bundle, one update, one ranking
    assert listen.quiet(0.3)

    bad = subprocess.run(
        companion("send", "--port", str(listen.port), "--bpm", "128", "--key", "H minor", "--check"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "unknown_key" in bad.stderr
    assert listen.quiet(0.3)  # the whole bundle was rejected: bpm did not apply either


def test_accepted_sample_is_not_suggested_again(listen: Listen) -> None:
    subprocess.run(companion("send", "--port", str(listen.port), "--bpm", "120"), check=True, timeout=60)
    first = listen.next()["suggestions"]
    assert first
    top = first[0]["path"]
    subprocess.run(companion("send", "--port", str(listen.port), "--accepted", top), check=True, timeout=60)
    line = listen.next()
    assert line["addresses"] == ["/context/accepted"]
    assert top not in [s["path"] for s in line["suggestions"]]


def test_send_check_without_listener_fails() -> None:
    result = subprocess.run(
        companion("send", "--port", str(free_port()), "--bpm", "120", "--check", "--timeout", "0.5"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no reply" in result.stderr


def test_listen_without_catalog_fails_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        companion("listen", "--port", str(free_port()), "--library-db", str(tmp_path / "none.db")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "companion scan" in result.stderr
