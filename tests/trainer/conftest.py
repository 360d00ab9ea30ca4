"""Trainer fixtures: small real photo folders, tiny configurations, image writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.config import FinetuneConfig

TINY_MODEL = {"arch": "vit_tiny_patch16_224", "input_size": 32, "model_kwargs": {"depth": 1}}


def tiny_config(**overrides) -> FinetuneConfig:
    """A configuration that trains in seconds on the CPU."""
    values = {
        **TINY_MODEL,
        "batch_size": 8,
        "m": 2,
        "lr": 1e-3,
        "device": "cpu",
        "workers": 0,
        "log_every": 1,
        "eval_batch_size": 32,
        **overrides,
    }
    return FinetuneConfig(**values)


def write_photo(path: Path, size: tuple[int, int] = (40, 30), seed: int = 0) -> Path:
    """A small random-colour JPEG (or PNG, by suffix) at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def link_flowers(flowers_dir: Path, target: Path, classes: int, photos: int) -> Path:
    """`classes` labels x `photos` real flowers60 photos, as symlinks under `target`."""
    for class_dir in sorted(p for p in flowers_dir.iterdir() if p.is_dir())[:classes]:
        (target / class_dir.name).mkdir(parents=True)
        for photo in sorted(class_dir.glob("*.jpg"))[:photos]:
            (target / class_dir.name / photo.name).symlink_to(photo)
    return target


@pytest.fixture(scope="session")
def small_flowers(tmp_path_factory, flowers_dir) -> Path:
    """8 labels x 6 real photos: a labelled folder as a user hands it to `finetune`."""
    return link_flowers(flowers_dir, tmp_path_factory.mktemp("small") / "flowers", 8, 6)
