"""Shared fixtures: the real test photos, an isolated app home, and a tiny exported model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from desktop.core.library import Library
from desktop.core.paths import app_paths

REPO_ROOT = Path(__file__).resolve().parents[1]
CLASSES, PER_CLASS = 4, 5
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own PHOTO_SEARCH_HOME so nothing touches the user's folders."""
    home = tmp_path / "photo-search-home"
    monkeypatch.setenv("PHOTO_SEARCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def flowers_dir() -> Path:
    """../shared/data/flowers60: 60 labelled folders of 20 real photos each."""
    path = Path(os.environ.get("PHOTO_SEARCH_TEST_DATA", SHARED_DATA)) / "flowers60"
    if not path.is_dir():
        pytest.fail(f"test photos not found at {path} (set PHOTO_SEARCH_TEST_DATA)")
    return path.resolve()  # the library stores resolved paths


@pytest.fixture(scope="session")
def flower_photos(flowers_dir) -> list[Path]:
    """Every photo of flowers60, sorted."""
    return sorted(flowers_dir.glob("*/*.jpg"))


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory):
    """A timm vit_tiny_patch16_224 at 64 px with random weights, exported once per session.

    Returns (net, path): the torch network and its ONNX file.
    """
    pytest.importorskip("torch")
    import torch

    from trainer.export import export_onnx
    from trainer.model import ModelConfig, create_descriptor_net

    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig("vit_tiny_patch16_224", input_size=64)).eval()
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    export_onnx(net, path, name="tiny test model", training={"dataset": "none"})
    return net, path


@pytest.fixture(scope="session")
def tiny_model_path(tiny_export) -> Path:
    return tiny_export[1]


@pytest.fixture
def photo_folder(tmp_path, flowers_dir) -> Path:
    """4 flower classes x 5 real photos, copied so tests may change them."""
    root = tmp_path / "photos"
    for class_dir in sorted(flowers_dir.iterdir())[:CLASSES]:
        target = root / class_dir.name
        target.mkdir(parents=True)
        for photo in sorted(class_dir.glob("*.jpg"))[:PER_CLASS]:
            shutil.copy2(photo, target / photo.name)
    return root


@pytest.fixture
def library(tiny_model_path):
    """A library in the test's PHOTO_SEARCH_HOME with the tiny model added and active."""
    with Library(app_paths()) as lib:
        lib.add_model(tiny_model_path)
        yield lib
