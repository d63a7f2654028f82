"""Render the app icon's PNG sizes (and the Windows .ico / macOS .icns) from the SVG.

    python packaging/render_icons.py            # rewrite assets/icons/... from the SVG
    python packaging/render_icons.py --check    # exit 1 if a committed PNG differs from a fresh render

The PNGs follow the freedesktop icon theme layout (``icons/hicolor/<n>x<n>/apps/<id>.png``,
https://specifications.freedesktop.org/icon-theme-spec/latest/) so they can be copied into
``~/.local/share/icons`` as they are. Rendering uses Qt's SVG renderer (PySide6 QtSvg) on the
``offscreen`` platform, so it needs no display.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
APP_ID = "io.samplemind.Companion"
SVG = ASSETS / f"{APP_ID}.svg"
#: Icon sizes in pixels: the hicolor theme's standard application sizes.
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
#: Sizes packed into the Windows .ico and the macOS .icns.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512)


def png_path(size: int, assets: Path = ASSETS) -> Path:
    """Where the PNG of one size lives: ``assets/icons/hicolor/<n>x<n>/apps/<id>.png``."""
    return assets / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def _app():
    # A QApplication, not a bare QGuiApplication: the process may later build widgets (the
    # test suite does), and Qt aborts on a QWidget in a process whose app has no widgets.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([sys.argv[0]])


def render(size: int, svg: Path = SVG):
    """Render the SVG at ``size``×``size`` pixels: ARGB32 premultiplied, transparent background."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app()
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG for Qt's renderer")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def _png_bytes(image) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def _write_multi(path: Path, fmt: str, sizes: tuple[int, ...]) -> None:
    """Write an .ico or .icns (Qt's ico/icns image plugins) from the largest of ``sizes``.

    Qt's writers store the one image they are given; Windows and macOS scale it down for the
    smaller sizes (256 px is the largest ICO size, 512 px the usual ICNS one).
    """
    from PySide6.QtGui import QImageWriter

    if fmt.encode() not in [bytes(f.data()) for f in QImageWriter.supportedImageFormats()]:
        raise SystemExit(f"render_icons: this Qt cannot write {fmt} files (image format plugin missing)")
    writer = QImageWriter(str(path), fmt.encode())
    if not writer.write(render(max(sizes))):
        raise SystemExit(f"render_icons: cannot write {path}: {writer.errorString()}")


def main(argv: list[str] | None = None) -> int:
    """Render (or with ``--check`` compare) every icon file; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare the committed PNGs with a fresh render")
    args = parser.parse_args(argv)
    stale = []
    for size in SIZES:
        data = _png_bytes(render(size))
        path = png_path(size)
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)} ({len(data)} bytes)")
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} — run python packaging/render_icons.py", file=sys.stderr)
        return 1 if stale else 0
    _write_multi(ASSETS / "companion.ico", "ico", ICO_SIZES)
    _write_multi(ASSETS / "companion.icns", "icns", ICNS_SIZES)
    print("wrote assets/companion.ico, assets/companion.icns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
