"""Shared fixtures: an isolated app home, photos and a model the tests make, real photos.

The engine, CLI and GUI tests need neither torch nor real photographs: their photos come
from `tests.photos` and their model from `tests.models`. Tests of what only real labelled
photographs can show (a learning signal, retrieval figures) take `flowers_dir`, which skips
with its reason when the photos are absent, and fails instead when
PHOTO_SEARCH_REQUIRE_TEST_DATA=1 (as CI sets it), so CI cannot pass without them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import send2trash
from send2trash import plat_other

from desktop.core.library import Library
from desktop.core.paths import app_paths
from tests.models import write_model
from tests.photos import make_labelled_folder

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
REQUIRE_TEST_DATA = "PHOTO_SEARCH_REQUIRE_TEST_DATA"
CLASSES, PER_CLASS = 4, 5
SPARE_CLASSES = 2
"""Labels made beyond `photo_folder`'s: photos that are not in the library."""
MODEL_SIZE, MODEL_DIM = 32, 48


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own PHOTO_SEARCH_HOME so nothing touches the user's folders."""
    home = tmp_path / "photo-search-home"
    monkeypatch.setenv("PHOTO_SEARCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def flowers_dir() -> Path:
    """flowers60 (60 labelled folders of 20 real photos), from PHOTO_SEARCH_TEST_DATA or
    ../shared/data beside the clone."""
    path = Path(os.environ.get("PHOTO_SEARCH_TEST_DATA", SHARED_DATA)) / "flowers60"
    if not path.is_dir():
        reason = f"real test photos not found at {path} (set PHOTO_SEARCH_TEST_DATA)"
        if os.environ.get(REQUIRE_TEST_DATA) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_TEST_DATA}=1 requires them")
        pytest.skip(reason)
    return path.resolve()  # the library stores resolved paths


@pytest.fixture(scope="session")
def made_photos(tmp_path_factory) -> list[Path]:
    """Photos made for the tests, sorted: CLASSES + SPARE_CLASSES labels x PER_CLASS."""
    root = tmp_path_factory.mktemp("made") / "photos"
    make_labelled_folder(root, CLASSES + SPARE_CLASSES, PER_CLASS)
    return sorted(root.glob("*/*.jpg"))


@pytest.fixture(scope="session")
def spare_photos(made_photos) -> list[Path]:
    """Made photos of labels that `photo_folder` does not hold."""
    return made_photos[CLASSES * PER_CLASS :]


@pytest.fixture
def photo_folder(tmp_path, made_photos) -> Path:
    """CLASSES labelled folders x PER_CLASS photos, copied so tests may change them."""
    root = tmp_path / "photos"
    for photo in made_photos[: CLASSES * PER_CLASS]:
        (root / photo.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(photo, root / photo.parent.name / photo.name)
    return root.resolve()


@pytest.fixture
def scenes(tmp_path) -> Path:
    """Eight photos of eight different made scenes: no two are near-duplicates. (Photos of
    one scene are, like a burst: their perceptual hashes are a few bits apart.)"""
    return make_labelled_folder(tmp_path / "scenes", 8, 1).resolve()


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A contract model made with the onnx helpers: no torch needed."""
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    return write_model(path, size=MODEL_SIZE, dim=MODEL_DIM, name="tiny test model")


@pytest.fixture
def library(tiny_model_path):
    """A library in the test's PHOTO_SEARCH_HOME with the tiny model added and active."""
    with Library(app_paths()) as lib:
        lib.add_model(tiny_model_path)
        yield lib


@pytest.fixture(autouse=True)
def no_real_trash(monkeypatch) -> None:
    """A test that would move a file to the trash without `system_trash` fails, instead of
    filling the trash of whoever runs the tests."""

    def refuse(paths) -> None:
        pytest.fail(f"send2trash({paths!r}) outside the system_trash fixture")

    monkeypatch.setattr(send2trash, "send2trash", refuse)


@pytest.fixture
def system_trash(tmp_path, monkeypatch) -> Path:
    """The freedesktop trash that send2trash moves files to, in the test's temporary folder:
    its `files` and `info` folders, and nothing reaches the user's own trash.

    send2trash moves a file on the same device as the home folder to
    `$XDG_DATA_HOME/Trash` (`plat_other.send2trash`: `get_dev(path) == get_dev("~")`), any
    other to a `.Trash-UID` folder at the top of its drive. So HOME moves into the temporary
    folder, where the tests' photos are. XDG_DATA_HOME is read once, when send2trash is
    imported, so its constants are set as well as the variable; and the freedesktop code is
    used even where PyGObject would have send2trash call GIO instead.
    """
    home, data = tmp_path / "home", tmp_path / "xdg-data"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(data))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(data / "Trash"))
    monkeypatch.setattr(plat_other, "HOMETRASH", str(data / "Trash"))
    monkeypatch.setattr(send2trash, "send2trash", plat_other.send2trash)
    return data / "Trash"
