"""The DAW-side scripts: the REAPER Lua module run by a real Lua 5.4 sending over a real socket,
the ``.ReaperOSC`` pattern file checked against the address space, and the Bitwig script run in
Node.js against a recording fake of Bitwig's controller API (Bitwig itself cannot run here).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pythonosc.osc_message_builder import build_msg

from companion.bridge.address_space import SPEC_BY_ADDRESS
from companion.bridge.dispatcher import BridgeDispatcher
from companion.bridge.listener import OscListener
from companion.music.keys import Key

from .conftest import Sink

DAW = Path(__file__).resolve().parents[2] / "plugin_bridge" / "daw"
REAPER = DAW / "reaper"
LUA = shutil.which("lua5.4") or shutil.which("lua")
NODE = shutil.which("node")
needs_lua = pytest.mark.skipif(LUA is None, reason="Lua 5.4 is not installed (Debian: lua5.4)")


def lua(code: str, timeout: float = 20.0) -> str:
    assert LUA is not None
    prelude = f'package.path = "{REAPER}/?.lua;" .. package.path\nlocal osc = require("companion_osc")\n'
    result = subprocess.run([LUA, "-e", prelude + code], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_lua
def test_lua_encoding_matches_python_osc() -> None:
    hexdump = 'local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end\n'
    out = lua(
        hexdump
        + 'print(hex(osc.message("/context/bpm", "f", 124.5)))\n'
        + 'print(hex(osc.message("/context/key", "s", "A minor")))\n'
        + 'print(hex(osc.message("/context/playing", "i", 1)))\n'
    )
    lines = out.split()
    assert bytes.fromhex(lines[0]) == build_msg("/context/bpm", [124.5]).dgram
    assert bytes.fromhex(lines[1]) == build_msg("/context/key", ["A minor"]).dgram
    assert bytes.fromhex(lines[2]) == build_msg("/context/playing", [1]).dgram


@needs_lua
def test_lua_bundle_over_luasocket_reaches_the_listener(sink: Sink) -> None:
    probe = subprocess.run([LUA, "-e", 'require("socket.core")'], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("LuaSocket is not installed (Debian: lua-socket)")
    with OscListener(sink, port=0) as listener:
        lua(
            'local socket = require("socket.core")\n'
            "local udp = socket.udp()\n"
            f'assert(udp:setpeername("127.0.0.1", {listener.port}))\n'
            'local msgs = osc.changes({}, {bpm = 124.5, playing = true, key = "Am", timesig = "7/8"})\n'
            "assert(#msgs == 4)\n"
            "assert(udp:send(osc.bundle(msgs)))\n"
            "udp:close()\n"
        )
        update = sink.get()
    assert dict(update.fields) == {"bpm": 124.5, "playing": True, "key": Key(9, "minor")}
    assert dict(update.extras) == {"time_signature": "7/8"}
    assert update.addresses == ("/context/bpm", "/context/playing", "/context/key", "/time/signature")
    assert listener.counter.total == 0


@needs_lua
def test_lua_changes_sends_only_what_changed() -> None:
    out = lua(
        'local sent = {bpm = 120, playing = false, key = "Am", timesig = "4/4"}\n'
        'print(#osc.changes(sent, {bpm = 120.004, playing = false, key = "Am", timesig = "4/4"}))\n'
        'print(#osc.changes(sent, {bpm = 121, playing = true, key = "Am", timesig = "4/4"}))\n'
        'print(#osc.changes(sent, {bpm = 120, playing = false, key = "C", timesig = "3/4"}))\n'
    )
    assert out.split() == ["0", "2", "2"]


@needs_lua
def test_lua_key_marker_convention() -> None:
    out = lua(
        "local markers = {\n"
        '  {pos = 0.0, name = "Intro"}, {pos = 8.0, name = "key:Am"}, {pos = 30.0, name = "Key = F# minor"},\n'
        '  {pos = 60.0, name = "key:"}, {pos = 90.0, name = "KEY: 8B"},\n'
        "}\n"
        'for _, pos in ipairs({1.0, 8.0, 29.9, 45.0, 61.0, 120.0}) do print(osc.key_at(markers, pos) or "-") end\n'
        'print(osc.key_at({}, 5.0, "Tempo map by ear\\nkey: Eb major\\n") or "-")\n'
        'print(osc.key_at({}, 5.0, nil) or "-")\n'
    )
    assert out.splitlines() == ["-", "Am", "Am", "F# minor", "F# minor", "8B", "Eb major", "-"]


@needs_lua
def test_reaper_script_compiles() -> None:
    for path in sorted(REAPER.glob("*.lua")):
        lua(f'assert(loadfile("{path}"))')


def test_reaperosc_patterns_are_in_the_address_space() -> None:
    text = (REAPER / "SampleMindCompanion.ReaperOSC").read_text(encoding="utf-8")
    lines = [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert {line[0] for line in lines} == {"TEMPO", "PLAY"}  # nothing else: no track/FX feedback
    addresses = {pattern[1:] for line in lines for pattern in line[1:]}
    assert addresses == {"/tempo/raw", "/play"}
    assert addresses <= set(SPEC_BY_ADDRESS)


FAKE_BITWIG = r"""
const fs = require("fs");
const vm = require("vm");
const sent = [];
const observers = {};
function value(name) {
  return {
    addValueObserver: (fn) => { observers[name] = fn; },
    addRawValueObserver: (fn) => { observers[name] = fn; },
  };
}
const sandbox = {
  loadAPI: (v) => { if (v < 1) throw new Error("bad API version"); },
  println: () => {},
  host: {
    defineController: () => {},
    defineMidiPorts: () => {},
    getPreferences: () => ({
      getStringSetting: () => ({ get: () => "127.0.0.1" }),
      getNumberSetting: () => ({ getRaw: () => 9137 }),
    }),
    getOscModule: () => ({
      createAddressSpace: () => ({}),
      connectToUdpServer: (h, p) => ({ sendMessage: (address, ...args) => sent.push([address, ...args]) }),
    }),
    createTransport: () => ({
      tempo: () => ({ value: () => value("tempo") }),
      isPlaying: () => value("playing"),
      timeSignature: () => ({ numerator: () => value("num"), denominator: () => value("den") }),
    }),
  },
  Math: Math,
};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), sandbox);
sandbox.init();
observers.tempo(123.456);
observers.tempo(123.456);
observers.playing(true);
observers.num(7);
observers.den(8);
observers.playing(false);
sandbox.flush();
sandbox.exit();
console.log(JSON.stringify(sent));
"""


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_bitwig_script_sends_addresses_the_companion_reads(tmp_path: Path) -> None:
    harness = tmp_path / "fake_bitwig.js"
    harness.write_text(FAKE_BITWIG, encoding="utf-8")
    script = DAW / "bitwig" / "SampleMindCompanion.control.js"
    result = subprocess.run([NODE, str(harness), str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)
    assert sent == [
        ["/context/bpm", 123.46],
        ["/context/playing", 1],
        ["/time/signature", "7/8"],
        ["/context/playing", 0],
    ]
    updates: list = []
    dispatcher = BridgeDispatcher(updates.append)
    for address, *args in sent:
        dispatcher.call_handlers_for_packet(build_msg(address, args).dgram, ("127.0.0.1", 1))
    assert dispatcher.counter.total == 0
    assert [dict(u.fields) or dict(u.extras) for u in updates] == [
        {"bpm": pytest.approx(123.46, abs=1e-4)},
        {"playing": True},
        {"time_signature": "7/8"},
        {"playing": False},
    ]


def test_readme_gives_install_steps_for_each_script() -> None:
    readme = (DAW.parent / "README.md").read_text(encoding="utf-8")
    for name in (
        "SampleMind_Companion_context.lua",
        "SampleMindCompanion.ReaperOSC",
        "SampleMindCompanion.control.js",
        "AbletonOSC",
        "aalink",
    ):
        assert name in readme
    assert re.search(r"GPLv2", readme) and re.search(r"GPLv3", readme)
