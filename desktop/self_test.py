"""`photo-search self-test`: does this install, from source or a frozen bundle, hold every
piece the app needs? It runs offscreen, offline and away from the user's library.

A bundle can build fine and still lack a Qt plugin, a shared library or a resource, which
only shows when a user meets the window. So the self-test walks the app's real paths: the
Qt platform plugin, every image format the scanner indexes (decoded by Qt for display and
by Pillow for the model), the icon, the model catalog and its templates, a model assembled
from the default template exactly as first run does (with seeded random weights instead
of a download), then indexing photos it writes, a search and the catalog's integrity.
It prints one JSON line and exits 0, or names the check that failed and exits 1.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from desktop import APP_NAME, __version__

PHOTO_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
"""Formats the scanner indexes, each written as one photo; GIF is checked for decoding."""
PHOTO_SIZE = (320, 240)
MIN_SELF_SCORE = 0.99
"""A photo searched with its own file must come back first at about cosine 1."""


class CheckFailed(Exception):
    """One check found a missing or broken piece; the message names it."""


class SelfTest:
    """The checks, in order; each returns what it found for the report."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.model_path = work / "model.onnx"
        self.photos: list[Path] = []

    def checks(self) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
        return [
            ("qt_platform", self.qt_platform),
            ("image_formats", self.image_formats),
            ("icon", self.icon),
            ("model_catalog", self.model_catalog),
            ("model", self.model),
            ("index", self.index),
            ("search", self.search),
            ("duplicates", self.duplicates),
            ("catalog", self.catalog),
        ]

    def qt_platform(self) -> dict[str, Any]:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6 import __version__ as pyside_version
        from PySide6.QtWidgets import QApplication

        from desktop.ui.qt_platform import platform_guard

        app = QApplication.instance()
        if app is None:
            with platform_guard():  # a missing plugin is named, then the process exits
                app = QApplication([APP_NAME])
        return {"qt": pyside_version, "qt_platform": app.platformName()}

    def image_formats(self) -> dict[str, Any]:
        """Each format decoded by Qt (the preview) and by Pillow (the model's input)."""
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice
        from PySide6.QtGui import QImageReader

        from desktop.core.images import InputSpec, load_input

        checked = []
        for kind in [*PHOTO_FORMATS, "GIF"]:
            data = _encode(_pattern(len(checked)), kind)
            held = QByteArray(data)  # the buffer does not keep its bytes alive
            buffer = QBuffer(held)
            buffer.open(QIODevice.OpenModeFlag.ReadOnly)
            image = QImageReader(buffer).read()
            if image.isNull() or (image.width(), image.height()) != PHOTO_SIZE:
                supported = sorted(bytes(f).decode() for f in QImageReader.supportedImageFormats())
                raise CheckFailed(
                    f"Qt cannot decode {kind}: its imageformats plugin is missing "
                    f"(Qt reads {', '.join(supported)})"
                )
            try:
                load_input(io.BytesIO(data), InputSpec(input_size=32, resize_size=32))
            except Exception as exc:
                raise CheckFailed(f"Pillow cannot decode {kind}: {exc}") from exc
            checked.append(kind)
        return {"image_formats": checked}

    def icon(self) -> dict[str, Any]:
        from PySide6.QtGui import QIcon

        from desktop.core.paths import resource_path

        path = resource_path("icon.svg")
        if not path.is_file():
            raise CheckFailed(f"the app icon is missing: {path}")
        if QIcon(str(path)).pixmap(64, 64).isNull():
            raise CheckFailed(f"Qt cannot draw {path}: the SVG icon engine plugin is missing")
        return {}

    def model_catalog(self) -> dict[str, Any]:
        from desktop.core.model_catalog import ModelCatalogError, load_catalog
        from desktop.core.model_provisioning import template_path

        try:
            catalog = load_catalog()
        except ModelCatalogError as exc:
            raise CheckFailed(str(exc)) from exc
        missing = [str(template_path(m)) for m in catalog.models if not template_path(m).is_file()]
        if missing:
            raise CheckFailed(f"model templates are missing: {', '.join(missing)}")
        return {"catalog_models": len(catalog.models)}

    def model(self) -> dict[str, Any]:
        """The default catalog model, assembled as first run does, from random weights."""
        from safetensors.numpy import save_file

        from desktop.core.model_assembly import assemble_model, read_template
        from desktop.core.model_catalog import load_catalog
        from desktop.core.model_provisioning import template_path

        default = load_catalog().default
        template = template_path(default)
        _, spec = read_template(template)
        rng = np.random.default_rng(0)
        weights = {
            key: rng.normal(0.0, 0.02, size=shape).astype(np.float32)
            for key, shape in spec.checkpoint_shapes().items()
        }
        save_file(weights, str(self.work / "model.safetensors"))
        info = assemble_model(
            template,
            self.work / "model.safetensors",
            self.model_path,
            name=f"{default.name} (random weights, self-test)",
            training={"self_test": True},
        )
        return {"model": info.name, "descriptor_dim": info.descriptor_dim}

    def index(self) -> dict[str, Any]:
        folder = self.work / "photos"
        folder.mkdir()
        for number, (kind, suffix) in enumerate(PHOTO_FORMATS.items()):
            path = folder / f"photo {number} été{suffix}"  # a space and a non-ASCII name
            path.write_bytes(_encode(_pattern(number), kind))
            self.photos.append(path)
        self.mirrored = folder / "photo 0 mirrored.jpg"
        self.mirrored.write_bytes(_encode(ImageOps.mirror(_pattern(0)), "JPEG"))
        self.photos.append(self.mirrored)
        with self._library() as library:
            library.add_model(self.model_path, activate=True)
            library.add_folder(folder)
            report = library.sync()
            provider = library.session(library.active_model()).provider
        if report.skipped or report.embedded != len(self.photos):
            raise CheckFailed(
                f"indexed {report.embedded} of {len(self.photos)} photos; skipped: "
                + "; ".join(f"{path}: {reason}" for path, reason in report.skipped)
            )
        return {"photos_indexed": report.embedded, "provider": provider}

    def search(self) -> dict[str, Any]:
        query = self.photos[0]
        started = time.perf_counter()
        with self._library() as library:
            results = library.search_images([query], top=len(self.photos))
        seconds = time.perf_counter() - started
        if not results or Path(results[0].photo.path) != query.resolve():
            found = results[0].photo.path if results else "nothing"
            raise CheckFailed(f"searching with {query.name} found {found} first")
        if results[0].score < MIN_SELF_SCORE:
            raise CheckFailed(f"{query.name} matched itself at {results[0].score:.4f} only")
        return {"top_score": round(results[0].score, 4), "search_seconds": round(seconds, 3)}

    def duplicates(self) -> dict[str, Any]:
        """The mirrored copy of the first photo is its near-duplicate by the perceptual hash,
        and nothing else is. (Descriptors from random weights say every photo is like every
        other, so the descriptor alone is set to need identical photos.)"""
        with self._library() as library:
            groups = library.duplicates(threshold=1.0)
        found = [sorted(Path(p.path).name for p in group) for group in groups]
        expected = [sorted((self.photos[0].name, self.mirrored.name))]
        if found != expected:
            raise CheckFailed(f"near-duplicates found {found}, not {expected}")
        return {}

    def catalog(self) -> dict[str, Any]:
        """Reopened from disk: the photos are all there and SQLite finds no damage."""
        with self._library() as library:
            status = library.status()
            catalog_path = library.catalog.path
        if status.photos != len(self.photos):
            raise CheckFailed(f"the catalog holds {status.photos} photos, not {len(self.photos)}")
        with sqlite3.connect(f"{catalog_path.as_uri()}?mode=ro", uri=True) as connection:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise CheckFailed(f"the catalog {catalog_path} is damaged: {verdict}")
        return {}

    def _library(self):
        from desktop.core.library import Library
        from desktop.core.paths import app_paths

        return Library(app_paths(self.work / "library"))


def _pattern(seed: int) -> Image.Image:
    """A photo-sized image unlike the others: smooth random colour fields."""
    coarse = np.random.default_rng(seed).integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize(PHOTO_SIZE, Image.Resampling.BICUBIC)


def _encode(image: Image.Image, kind: str) -> bytes:
    stream = io.BytesIO()
    image.save(stream, kind)
    return stream.getvalue()


def run_self_test() -> dict[str, Any]:
    """Every check in order, stopping at the first failure; the report says which."""
    started = time.perf_counter()
    report: dict[str, Any] = {
        "self_test": "passed",
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "passed": [],
    }
    with tempfile.TemporaryDirectory(prefix=f"{APP_NAME}-self-test-") as work:
        for name, check in SelfTest(Path(work)).checks():
            try:
                report.update(check())
            except CheckFailed as exc:
                report.update(self_test="failed", failed=name, error=str(exc))
                break
            except Exception as exc:  # a piece missing from the install shows up as anything
                report.update(self_test="failed", failed=name, error=f"{type(exc).__name__}: {exc}")
                break
            report["passed"].append(name)
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def register(subcommands: argparse._SubParsersAction) -> None:
    self_test = subcommands.add_parser(
        "self-test", help="check that this install can index and search (offscreen, offline)"
    )
    self_test.set_defaults(func=cmd_self_test)


def cmd_self_test(args: argparse.Namespace) -> int:
    report = run_self_test()
    print(json.dumps(report))
    return 0 if report["self_test"] == "passed" else 1
