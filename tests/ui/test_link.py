"""The window follows Ableton Link exactly as ``companion listen`` does: a real Link peer in
another process (aalink over loopback multicast) changes the tempo, the list is re-ranked for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.bridge.test_link import PEER, multicast_loopback_works

from .conftest import wait_until

pytest.importorskip("aalink", reason="aalink (Ableton Link binding) is not installed")


@pytest.mark.skipif(not multicast_loopback_works(), reason="this host drops loopback multicast (Link discovery)")
def test_window_follows_a_link_peer(qtbot, make_window):
    window = make_window(link=True, osc_enabled=False)
    c = window.controller
    wait_until(qtbot, lambda: c.session.sources is not None and c.session.sources.states["link"].state == "running")
    wait_until(qtbot, lambda: "following Link" in window.context_bar.connection.text.text())
    peer = subprocess.Popen([sys.executable, "-c", PEER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(qtbot, lambda: window.latest is not None and window.latest.context.bpm == 141.5, timeout_s=20)
    finally:
        _out, err = peer.communicate(timeout=20)
    assert peer.returncode == 0, err
    ctx = window.latest.context
    assert ctx.playing is True
    assert ctx.updated["bpm"][0] == "link"  # the context records Link as the tempo's source
    wait_until(qtbot, lambda: window.context_bar.source.text().startswith("Link"))  # the source chip
