"""docs/screenshots/capture.py runs (so CI captures the screenshots) and saves the window at
480, 800 and 1280 px."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def png_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` in px from a PNG's IHDR chunk (PNG spec, section 11.2.2)."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_capture_script_saves_the_window_at_three_widths(tmp_path, sonic_pi):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "docs" / "screenshots" / "capture.py"),
            "--out",
            str(tmp_path),
            "--only",
            "widths",
            "--samples",
            "12",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for width in (480, 800, 1280):
        path = tmp_path / f"main-{width}.png"
        assert path.exists(), proc.stdout
        assert png_size(path) == (width, 800)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main-1280.png", "main-480.png", "main-800.png"]
