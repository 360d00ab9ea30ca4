"""Render the app icon from `resources/icon.svg` at build time, for every platform.

Linux desktops look up PNGs in the hicolor theme at fixed sizes (and the SVG itself as
`scalable`); Windows wants one .ico holding several sizes, macOS one .icns. Qt's SVG
renderer draws the PNGs, Pillow packs the .ico and .icns, so no other tool is needed.

    python packaging/icons.py OUT_DIR
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icon.svg"
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
"""The freedesktop icon theme's usual fixed sizes."""
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICON_NAME = "photo-search"


def render_png(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot read the icon {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"cannot write {out}")


def render_icons(out: Path, svg: Path = SOURCE) -> Path:
    """Write `hicolor/<N>x<N>/apps/photo-search.png`, `hicolor/scalable/apps/photo-search.svg`,
    `photo-search.ico` and `photo-search.icns` under `out`; returns `out`."""
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication([ICON_NAME])
    pngs = {}
    for size in HICOLOR_SIZES:
        folder = out / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        pngs[size] = folder / f"{ICON_NAME}.png"
        render_png(svg, size, pngs[size])
    scalable = out / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable / f"{ICON_NAME}.svg")
    largest = Image.open(pngs[max(HICOLOR_SIZES)])
    largest.save(out / f"{ICON_NAME}.ico", sizes=[(s, s) for s in ICO_SIZES])
    largest.save(out / f"{ICON_NAME}.icns")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(render_icons(Path(sys.argv[1])))
