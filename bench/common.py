"""Shared parts of the benchmarks: a cached DeiT-sized ONNX model, camera-size JPEGs, and a
timed sync into a fresh library.

Both are expensive to make (an export takes about a minute, a 12-megapixel JPEG a fraction of
a second), so they are written once under the work dir and reused by later runs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from desktop.core.library import Library
from desktop.core.paths import app_paths

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK_DIR = REPO / ".bench"
SHARED_PHOTOS = REPO.parent / "shared" / "data" / "flowers60"
DEFAULT_ARCH = "deit_small_patch16_224"
SEED = 0
"""torch seed for the random weights, so the baseline can rebuild the exported network."""

T = TypeVar("T")
_ORIENTATION, _EXIF_IFD, _DATE_TIME_ORIGINAL = 0x0112, 0x8769, 0x9003


def shared_photos() -> list[Path]:
    photos = sorted(SHARED_PHOTOS.glob("*/*.jpg"))
    if not photos:
        raise SystemExit(f"no photos under {SHARED_PHOTOS}")
    return photos


def make_net(arch: str):
    """The random-weight descriptor network, identical on every call (seeded)."""
    import torch

    from trainer.model import ModelConfig, create_descriptor_net

    torch.manual_seed(SEED)
    return create_descriptor_net(ModelConfig(arch)).eval()


def ensure_model(work_dir: Path, arch: str) -> Path:
    """The exported ONNX model of `arch` with seeded random weights, exported on first use."""
    path = work_dir / "models" / f"{arch}-seed{SEED}.onnx"
    if not path.exists():
        from trainer.export import export_onnx

        print(f"exporting {arch} to {path} (once; about a minute for DeiT-Small)", flush=True)
        started = time.perf_counter()
        export_onnx(make_net(arch), path, name=f"bench-{arch}")
        print(f"  exported in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def camera_photo(source: Path, target: Path, index: int, size=(4000, 3000)) -> None:
    """Write a camera-like JPEG: `source` upscaled to `size`, quality 90, with EXIF.

    Like a camera, the pixels are always stored landscape; every third photo says
    orientation 6 or 8 (shot in portrait), so decoding must rotate it.
    """
    with Image.open(source) as image:
        image = image.convert("RGB")
        width, height = image.size
        ratio = size[0] / size[1]
        crop_w, crop_h = min(width, round(height * ratio)), min(height, round(width / ratio))
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        big = image.resize(
            size, Image.Resampling.BICUBIC, box=(left, top, left + crop_w, top + crop_h)
        )
    exif = Image.Exif()
    exif[_ORIENTATION] = (1, 6, 8)[index % 3]
    exif.get_ifd(_EXIF_IFD)[_DATE_TIME_ORIGINAL] = f"2024:07:{1 + index % 28:02d} 12:00:00"
    tmp = target.with_suffix(".tmp")
    big.save(tmp, "JPEG", quality=90, exif=exif)
    tmp.replace(target)


def ensure_camera_photos(work_dir: Path, count: int, size=(4000, 3000)) -> list[Path]:
    """`count` camera-size JPEGs made from the shared photos, written once and reused."""
    folder = work_dir / f"camera-{size[0]}x{size[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    sources = shared_photos()
    paths = [folder / f"IMG_{i:05d}.jpg" for i in range(count)]
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    if missing:
        print(f"writing {len(missing)} {size[0]}x{size[1]} JPEGs to {folder} (once)", flush=True)
    for i in missing:
        camera_photo(sources[(i * 37) % len(sources)], paths[i], i, size)
    return paths


def timed(fn: Callable[[T], object], items: Iterable[T]) -> list[float]:
    """Wall-clock milliseconds of `fn(item)` for each item, one call at a time."""
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - started) * 1000)
    return times


def median_p95(times_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(times_ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def machine_load() -> float:
    """1-minute load average: figures from a 2-core machine shared with others need it."""
    return round(os.getloadavg()[0], 2)


def print_result(result: dict) -> None:
    """The last line every benchmark prints: its figures as JSON."""
    print(json.dumps(result, sort_keys=True))


def timed_sync(
    model_path: Path, photos: list[Path], work_dir: Path, batch_size: int, workers: int | None
) -> tuple[float, np.ndarray]:
    """Photos/s of a full `Library.sync` into a fresh library (scan, diff, decode, embed,
    commit, index save), and the descriptors it stored, in `photos` order."""
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="library-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for number, path in enumerate(photos):
            target = folder / f"{number:05d}-{path.name}"
            try:  # a hard link costs nothing; the photos may live on another filesystem
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
        with Library(app_paths(Path(tmp) / "home")) as library:
            library.add_folder(folder)
            model = library.add_model(model_path, activate=True)
            session = library.session(model)
            size = session.input_spec.input_size
            session.embed(np.zeros((batch_size, size, size, 3), np.uint8))  # warm-up
            started = time.perf_counter()
            report = library.sync(batch_size=batch_size, workers=workers)
            seconds = time.perf_counter() - started
            if report.embedded != len(photos):
                raise SystemExit(
                    f"sync embedded {report.embedded} of {len(photos)}: {report.skipped}"
                )
            ids, vectors = library.catalog.descriptors(model.id)
            names = {i: Path(p.path).name for i, p in library.catalog.photos_by_ids(ids).items()}
    order = np.argsort([names[int(i)] for i in ids])  # the numbered names sort in `photos` order
    return len(photos) / seconds, vectors[order]
