"""Trainer fixtures: a tiny exported ViT, labelled folders, tiny configurations, image and
labels-manifest writers."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.photos import make_labelled_folder
from trainer.config import FinetuneConfig
from trainer.export import export_onnx
from trainer.model import ModelConfig, create_descriptor_net

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


def write_manifest(path: Path, rows: list[tuple[Path | str, str]]) -> Path:
    """A labels manifest of (photo, label) rows, quoted by the csv module as the app writes it."""
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "label"])
        writer.writerows((str(photo), label) for photo, label in rows)
    return path


def folder_rows(root: Path) -> list[tuple[Path, str]]:
    """(photo, label) of every photo of a labelled folder, the label being its sub-folder."""
    return [(photo, photo.parent.name) for photo in sorted(root.glob("*/*.jpg"))]


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory):
    """A timm vit_tiny_patch16_224 at 64 px with random weights, exported once per session.

    Returns (net, path): the torch network and its ONNX file.
    """
    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig("vit_tiny_patch16_224", input_size=64)).eval()
    path = tmp_path_factory.mktemp("models") / "tiny-vit.onnx"
    export_onnx(net, path, name="tiny test model", training={"dataset": "none"})
    return net, path


@pytest.fixture(scope="session")
def small_labelled(tmp_path_factory) -> Path:
    """8 labels x 6 made photos: a labelled folder as a user hands it to `finetune`."""
    return make_labelled_folder(tmp_path_factory.mktemp("small") / "labelled", 8, 6)
