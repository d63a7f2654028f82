"""Desktop integration files: the icon renders, PNG sizes match it, the .desktop entry and the
AppStream metadata pass the freedesktop validators and agree with each other and the app."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from companion import __version__

from .conftest import REPO

sys.path.insert(0, str(REPO / "packaging"))
import render_icons

ASSETS = REPO / "assets"
APP_ID = render_icons.APP_ID
DESKTOP = ASSETS / f"{APP_ID}.desktop"
METAINFO = ASSETS / f"{APP_ID}.metainfo.xml"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package {package} (./dev setup)")
    return path


def _png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from a PNG's IHDR chunk (PNG spec §11.2.2)."""
    data = path.read_bytes()[:33]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


@pytest.mark.parametrize("size", render_icons.SIZES)
def test_png_of_each_size_is_rgba_at_that_size(size: int) -> None:
    path = render_icons.png_path(size)
    assert path.is_file(), f"missing {path}: run python packaging/render_icons.py"
    assert _png_header(path) == (size, size, 8, 6)  # 8-bit RGBA


def test_pngs_match_a_fresh_render_of_the_svg() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QImage

    for size in render_icons.SIZES:
        fresh = render_icons.render(size).convertToFormat(QImage.Format.Format_RGBA8888)
        stored = QImage(str(render_icons.png_path(size))).convertToFormat(QImage.Format.Format_RGBA8888)
        assert (stored.width(), stored.height()) == (size, size)
        a = bytes(fresh.constBits())
        b = bytes(stored.constBits())
        worst = max(abs(x - y) for x, y in zip(a, b, strict=True))
        assert worst <= 8, f"{size}px icon differs from the SVG by {worst}/255: run python packaging/render_icons.py"
        # Not blank: the tile covers most of the icon and is opaque in the middle.
        assert stored.pixelColor(size // 2, size // 2).alpha() == 255
        assert stored.pixelColor(0, 0).alpha() == 0  # rounded corner stays transparent


def test_windows_and_macos_icons_exist() -> None:
    assert (ASSETS / "companion.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"  # ICONDIR, type 1
    assert (ASSETS / "companion.icns").read_bytes()[:4] == b"icns"


def test_desktop_entry_validates_and_names_the_icon_and_command() -> None:
    proc = subprocess.run(
        [_tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP)], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
    entry = configparser.ConfigParser(interpolation=None, strict=True)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(DESKTOP, encoding="utf-8")
    desk = entry["Desktop Entry"]
    assert desk["Type"] == "Application" and desk["Name"] == "SampleMind Companion"
    assert desk["Icon"] == APP_ID and desk["Exec"] == "companion" and desk["Terminal"] == "false"
    assert {"AudioVideo", "Audio"} <= set(filter(None, desk["Categories"].split(";")))


def test_metainfo_validates_and_agrees_with_the_app() -> None:
    proc = subprocess.run(
        [_tool("appstreamcli", "appstream"), "validate", "--no-net", "--explain", str(METAINFO)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "E:" not in proc.stdout and "W:" not in proc.stdout, proc.stdout
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("provides/binary") == "companion"
    releases = [r.get("version") for r in root.iter("release")]
    assert releases[0] == __version__, "add a <release> for the new version to the metainfo"
