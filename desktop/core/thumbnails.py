"""Thumbnails cached on disk, so the results grid shows a photo once decoded in any session.

The cache key covers the path, size and modification time, so an edited photo gets a new
thumbnail; files are written atomically and a damaged cache file is simply made again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from PIL import Image

from desktop.core.atomic import atomic_write
from desktop.core.images import DEFAULT_MAX_PIXELS, open_image

THUMBNAIL_QUALITY = 85


def thumbnail_path(cache_dir: Path, photo_path: str, size: int) -> Path:
    """Where the thumbnail of `photo_path` at `size` pixels lives (it may not exist yet)."""
    try:
        info = os.stat(photo_path)
        stamp = f"{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    text = f"{photo_path}\0{stamp}\0{size}"
    # surrogatepass: a name that is not valid UTF-8 (carried as lone surrogates) has a key too
    key = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
    return cache_dir / "thumbnails" / key[:2] / f"{key}.jpg"


def load_thumbnail(
    cache_dir: Path, photo_path: str, size: int, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """An RGB thumbnail (longer side at most `size`) of the photo, from the cache if there.

    A new thumbnail is written to the cache when possible; a full or read-only disk only
    means it is decoded again next time. Raises ImageLoadError when the photo cannot be read.
    """
    target = thumbnail_path(cache_dir, photo_path, size)
    try:
        with Image.open(target) as cached:
            cached.load()
            return cached.convert("RGB")
    except Exception:  # noqa: BLE001 - missing or damaged cache entry: decode the photo
        pass
    image = open_image(photo_path, max_pixels=max_pixels, draft_size=size)
    image.thumbnail((size, size), Image.Resampling.BICUBIC)
    _write_cache(image, target)
    return image


def _write_cache(image: Image.Image, target: Path) -> None:
    with contextlib.suppress(OSError):  # a full or read-only disk: decode again next time
        atomic_write(
            target,
            lambda stream: image.save(stream, "JPEG", quality=THUMBNAIL_QUALITY),
            durable=False,
        )
