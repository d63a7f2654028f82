"""A producer's path through the real app on a virtual X display (Xvfb, ``xcb`` platform) at
480 px: first run → model download from a local hub → scan with cards appearing while they are
analysed → DAW context over OSC (``oscsend``) → audition of a pre-rendered top card → filter by
kind → restart with tempo, key and filter restored. The steps run in a child process
(:mod:`tests.e2e.producer_path`); this test starts Xvfb and the hub and checks what it saw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.embedding.clap.fetch import DEFAULT_REPO
from tests.clap.fakehub import FakeHub, folder_files

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
from smoke import Xvfb

SONIC_PI = Path("/usr/share/sonic-pi/samples")
LMMS = Path("/usr/share/lmms/samples")
#: Loops and one-shots of both Debian libraries (copied, so the run owns its catalog): enough that
#: one analysis worker takes several seconds, so the list is seen filling in.
FILES = [
    *sorted(SONIC_PI.glob("*.flac"))[:90],
    *sorted((LMMS / "beats").glob("*.ogg")),
    *sorted((LMMS / "drums").glob("*.ogg"))[:10],
]

pytestmark = [
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (Debian: xvfb)"),
    pytest.mark.skipif(shutil.which("oscsend") is None, reason="needs oscsend (Debian: liblo-tools)"),
]


@pytest.fixture
def hub(tiny_model: Path) -> Iterator[FakeHub]:
    server = FakeHub()
    server.repos[DEFAULT_REPO] = folder_files(tiny_model)
    yield server
    server.close()


def test_producer_path_at_480_px_under_xvfb(tmp_path: Path, hub: FakeHub) -> None:
    pack = tmp_path / "My Samples"
    pack.mkdir()
    for f in FILES:
        shutil.copy2(f, pack / f"{f.parent.name}-{f.name}" if f.parent.parent == LMMS else pack / f.name)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = out_dir / "result.json"
    home = tmp_path / "home"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "HF_HOME": str(home / "hf"),
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "RECS_OSC_PORT": "0",
        "RECS_SCAN_WORKERS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "protocol"), str(ROOT / "packaging")]),
    }
    for key in [k for k in env if k.startswith("RECS_") and k not in ("RECS_OSC_PORT", "RECS_SCAN_WORKERS")]:
        del env[key]
    with Xvfb("1600x1000x24") as display:
        env["DISPLAY"] = display
        proc = subprocess.run(
            [sys.executable, "-m", "tests.e2e.producer_path", str(result), str(pack)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.exists(), f"no result (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    seen = json.loads(result.read_text())
    print(json.dumps(seen, indent=1))
    assert not seen.get("errors"), "\n".join(seen["errors"]) + "\n" + proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    # first run → model: downloaded with byte progress, loaded, the offer gone
    assert (
        seen["fetch"]["ok"]
        and seen["fetch"]["progress_events"] > 1
        and seen["fetch"]["bytes_total"] > 0
        and seen["fetch"]["bytes_done"] == seen["fetch"]["bytes_total"]
    )
    assert seen["clap_loaded"] and not seen["get_model_button_visible"]
    # scan: cards were "analysing…" first, ranked cards came in before the scan ended
    assert seen["scan"]["error"] is None and seen["scan"]["analysed"] == len(FILES)
    lists = seen["lists_while_scanning"]
    assert any(analysing > 0 for analysing, _ranked in lists), lists
    assert any(analysing > 0 and ranked > 0 for analysing, ranked in lists), lists
    # OSC context from a real peer
    assert seen["context"]["bpm"] == 124.0 and seen["context"]["key"] == "B minor"
    assert "OSC" in seen["context"]["source_text"]
    # Space on a pre-rendered top card: it played from the cache (the figure is printed above)
    assert seen["audition"]["cached"] and seen["audition"]["press_to_sound_ms"] > 0
    # filter by kind, nothing cut off at 480 px
    assert seen["width"] == 480
    assert seen["filtered_kinds"] == ["loop"] and seen["filtered_count"] > 0
    assert seen["cut_off"] == []
    # restart: context and filter restored, no first-run dialog
    restored = seen["restored"]
    assert restored["bpm"] == 124.0 and restored["key"] == "B minor"
    assert not restored["first_run_dialog"] and restored["width"] == 480  # where the producer left it
    assert restored["kinds"] == ["loop"] and "loop" in restored["filter"].lower()
    for name in ("1-first-run", "2-scanned", "3-filtered", "4-restarted"):
        assert (out_dir / f"{name}.png").stat().st_size > 0
