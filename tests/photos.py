"""Photos the tests make themselves: labelled scenes that look alike within a label.

Each label is a scene (a background colour and three coloured shapes); each photo of it
moves the shapes a little, changes the light and adds sensor noise. Photos of one label are
far closer to each other than to another label's, for a pixel model and a ViT alike, so the
engine, CLI and GUI tests can check real search behaviour without real photographs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PHOTO_SIZE = (96, 72)


def make_photo(path: Path, label: int, number: int, size: tuple[int, int] = PHOTO_SIZE) -> Path:
    """Photo `number` of scene `label` as a JPEG (or PNG, by suffix) at `path`."""
    scene = np.random.default_rng(1000 + label)
    shot = np.random.default_rng((label, number))
    width, height = size
    background = tuple(int(c) for c in scene.integers(0, 256, 3))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        colour = tuple(int(c) for c in scene.integers(0, 256, 3))
        cx, cy = scene.uniform(0.2, 0.8, 2) + shot.normal(0, 0.03, 2)
        rx, ry = scene.uniform(0.1, 0.3, 2)
        box = [(cx - rx) * width, (cy - ry) * height, (cx + rx) * width, (cy + ry) * height]
        if scene.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    pixels = np.asarray(image, np.float32) * shot.uniform(0.85, 1.15)
    pixels += shot.normal(0, 6, pixels.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def make_labelled_folder(
    root: Path, labels: int, per_label: int, size: tuple[int, int] = PHOTO_SIZE, first: int = 0
) -> Path:
    """`labels` sub-folders (one per label, as a user lays them out) of `per_label` photos."""
    for label in range(first, first + labels):
        for number in range(per_label):
            make_photo(root / f"label-{label:03d}" / f"photo-{number:02d}.jpg", label, number, size)
    return root
