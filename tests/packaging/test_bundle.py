"""The installable bundle, built with `make package` and run as a user runs it.

One build (about a minute and a half on two cores) serves every test here: the frozen
self-test, the frozen app indexing a small library and showing a search, what the bundle
holds and leaves out, and `install.sh` installing for a user and uninstalling.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageStat
from safetensors.numpy import save

from desktop import __version__
from desktop.core.model_assembly import read_template
from desktop.core.model_catalog import load_catalog
from desktop.core.model_provisioning import template_path
from desktop.self_test import SelfTest
from tests.conftest import REPO_ROOT
from tests.hub import FakeHub
from tests.models import write_model
from tests.photos import make_labelled_folder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux bundles only"),
]
APP_ID = "io.github.photo_search.PhotoSearch"
NAME = f"photo-search-{__version__}-linux-x86_64"
SYSTEM_CACHES = {"mimeinfo.cache", "icon-theme.cache"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`make package` into a temporary folder, as a user would run it."""
    dist = tmp_path_factory.mktemp("dist")
    work = tmp_path_factory.mktemp("package-work")
    result = subprocess.run(
        ["make", "package", f"DIST={dist}", f"PACKAGE_WORK={work}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    print(result.stdout[-1500:])  # the sizes and build time, in the test log
    return dist


@pytest.fixture(scope="module")
def bundle(dist) -> Path:
    return dist / NAME


def run_frozen(bundle: Path, *args: str, env: dict | None = None, home: Path | None = None):
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    if home is not None:
        environment["PHOTO_SEARCH_HOME"] = str(home)
    return subprocess.run(
        [str(bundle / "photo-search"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def test_the_frozen_self_test_passes_every_check(bundle):
    result = run_frozen(bundle, "self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["self_test"] == "passed"
    assert report["frozen"] is True
    assert report["passed"] == [name for name, _ in SelfTest(Path()).checks()]
    assert report["qt_platform"] == "offscreen"


def test_the_frozen_app_indexes_a_library_and_shows_a_search(bundle, tmp_path):
    photos = make_labelled_folder(tmp_path / "photos", 3, 4)
    model = write_model(tmp_path / "model.onnx", size=32, dim=48)
    library = tmp_path / "library"
    indexed = run_frozen(bundle, "index", "--library", str(library), "--model", str(model),
                         str(photos))  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    assert "12 embedded" in indexed.stdout
    query = sorted(photos.glob("*/*.jpg"))[0]
    searched = run_frozen(bundle, "search", "--library", str(library), "--json", str(query))
    assert json.loads(searched.stdout)[0]["path"] == str(query.resolve())

    shot = tmp_path / "window.png"
    shown = run_frozen(bundle, "gui", "--library", str(library), "--query", str(query),
                       "--screenshot", str(shot))  # fmt: skip
    assert shown.returncode == 0, shown.stdout + shown.stderr
    image = Image.open(shot).convert("RGB")
    assert image.width >= 800 and image.height >= 500
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 20  # not one flat colour
    assert len(image.getcolors(image.width * image.height)) > 1000  # photos, not just widgets


def test_the_frozen_app_gets_the_default_model_on_first_run_and_searches(bundle, tmp_path):
    """What the first window's "Get this model" does, from the stand-in hub: real-sized
    random weights downloaded, assembled into the shipped template, indexed with."""
    model = load_catalog().default
    _, spec = read_template(template_path(model))
    rng = np.random.default_rng(0)
    weights = {
        key: rng.normal(0, 0.02, size=shape).astype(np.float32)
        for key, shape in spec.checkpoint_shapes().items()
    }
    hub = FakeHub()
    hub.add_model(model, save(weights))
    hub.start()
    env = {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "hf-cache")}
    library = tmp_path / "library"
    try:
        got = run_frozen(bundle, "models", "get", model.key, "--activate", "--json",
                         "--library", str(library), env=env)  # fmt: skip
    finally:
        hub.stop()
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["name"] == model.name
    photos = make_labelled_folder(tmp_path / "photos", 2, 3)
    indexed = run_frozen(bundle, "index", "--library", str(library), str(photos), "--json")
    assert json.loads(indexed.stdout)["embedded"] == 6
    query = sorted(photos.glob("*/*.jpg"))[0]
    searched = run_frozen(bundle, "search", "--library", str(library), "--json", str(query))
    assert json.loads(searched.stdout)[0]["path"] == str(query.resolve())


def test_the_frozen_app_names_a_platform_plugin_it_cannot_start(bundle, tmp_path):
    result = run_frozen(bundle, "gui", env={"QT_QPA_PLATFORM": "nosuchplatform"}, home=tmp_path)
    assert result.returncode == 3, result.stderr
    assert 'Qt has no platform plugin named "nosuchplatform"' in result.stderr
    listed = next(line for line in result.stderr.splitlines() if "platform plugins it has" in line)
    names = set(listed.split(":", 1)[1].strip(" .").split(", "))
    assert {"xcb", "wayland", "offscreen"} <= names  # found through the bundle's own Qt
    assert not names & {"eglfs", "vnc", "linuxfb"}  # trimmed


def test_the_bundle_is_one_program_without_torch_or_the_trainer(bundle, dist):
    version = run_frozen(bundle, "--version")
    assert version.stdout.strip() == f"photo-search {__version__}"
    help_text = run_frozen(bundle, "--help").stdout
    for command in ("gui", "index", "search", "self-test", "labels"):
        assert command in help_text
    internal = bundle / "_internal"
    assert (internal / "resources" / "models.json").is_file()
    assert sorted(p.name for p in (internal / "resources" / "templates").iterdir())
    for absent in ("torch", "timm", "torchvision", "trainer", "PySide6/Qt/translations"):
        assert not (internal / absent).exists(), absent
    plugins = internal / "PySide6" / "Qt" / "plugins"
    assert {p.name for p in (plugins / "platforms").iterdir()} == {
        "libqxcb.so", "libqwayland.so", "libqoffscreen.so", "libqminimal.so"
    }  # fmt: skip
    assert not (plugins / "imageformats" / "libqpdf.so").exists()
    with tarfile.open(dist / f"{NAME}.tar.gz") as archive:
        names = set(archive.getnames())
    assert {f"{NAME}/photo-search", f"{NAME}/install.sh", f"{NAME}/_internal"} <= names


def test_install_sh_installs_for_the_user_and_uninstall_removes_it(bundle, tmp_path):
    home = tmp_path / "home"
    local = home / ".local"
    env = {**os.environ, "HOME": str(home), "PATH": os.environ["PATH"]}
    env.pop("PREFIX", None)
    installed = subprocess.run(["sh", str(bundle / "install.sh")], env=env, capture_output=True,
                               text=True, timeout=120)  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    command = local / "bin" / "photo-search"
    assert command.is_symlink()
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"photo-search {__version__}"

    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(local / "share" / "applications" / f"{APP_ID}.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Icon"] == "photo-search"
    assert desktop["Exec"] == f'"{local}/lib/photo-search/photo-search" gui'
    icons = local / "share" / "icons" / "hicolor"
    for size in (16, 32, 48, 64, 128, 256, 512):
        icon = icons / f"{size}x{size}" / "apps" / "photo-search.png"
        assert Image.open(icon).size == (size, size)
    assert (icons / "scalable" / "apps" / "photo-search.svg").is_file()
    metainfo = (local / "share" / "metainfo" / f"{APP_ID}.metainfo.xml").read_text()
    assert f'<release version="{__version__}"' in metainfo and "@DATE@" not in metainfo

    removed = subprocess.run(
        ["sh", str(local / "lib" / "photo-search" / "install.sh"), "--uninstall"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    left = [p for p in local.rglob("*") if p.is_file() or p.is_symlink()]
    # the desktop's own caches, rebuilt by update-desktop-database / gtk-update-icon-cache
    # where they are installed, stay: they index whatever entries remain
    assert [p for p in left if p.name not in SYSTEM_CACHES] == []
