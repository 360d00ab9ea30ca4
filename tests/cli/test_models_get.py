"""`photo-search models available` and `models get` against the stand-in hub, with --json."""

from __future__ import annotations

import json

import pytest

from desktop.core import model_contract as contract
from desktop.core import model_provisioning
from desktop.core.descriptor_model import DescriptorSession
from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.main import main
from tests.hub import serving, use_fake_assembly
from tests.models import write_model

DEFAULT = "vit_small_patch14_dinov2.lvd142m"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    use_fake_assembly(monkeypatch, tmp_path)
    with serving(tmp_path, monkeypatch) as fake:
        yield fake


def _available(capsys, home) -> dict:
    assert main(["models", "available", "--library", str(home), "--json"]) == 0
    return {m["key"]: m for m in json.loads(capsys.readouterr().out)}


def test_models_get_downloads_adds_and_shows_in_available(hub, capsys, tmp_path):
    home = tmp_path / "lib"
    before = _available(capsys, home)
    assert list(before) == [
        DEFAULT,
        "deit_small_patch16_224.fb_in1k",
        "deit_small_distilled_patch16_224.fb_in1k",
    ]
    assert before[DEFAULT]["default"] and not before[DEFAULT]["downloaded"]
    assert before[DEFAULT]["licence"] == "Apache-2.0" and before[DEFAULT]["in_library"] == []

    assert main(["models", "get", DEFAULT, "--activate", "--library", str(home), "--json"]) == 0
    captured = capsys.readouterr()
    added = json.loads(captured.out)
    assert added["name"] == "DINOv2 ViT-S/14"
    assert "] Downloading" in captured.err and "MB/s" in captured.err

    after = _available(capsys, home)
    assert after[DEFAULT]["downloaded"] and after[DEFAULT]["in_library"] == [added["id"]]
    with Library(app_paths(home)) as library:
        assert library.active_model().id == added["id"]


def test_models_get_int8_adds_the_int8_variant(hub, capsys, tmp_path, monkeypatch):
    """The int8 step gets the assembled file (the real quantiser is tested on its own: it
    cannot keep the tests' pixel-projection model normalised on a flat grey image)."""

    def quantize_int8(src, dst):
        info = DescriptorSession(src).info
        training = {contract.KEY_TRAINING: json.dumps(info.training)}  # kept, as quantize does
        return write_model(
            dst, size=32, dim=48, seed=7, name=info.name + " (int8)", metadata=training
        )

    monkeypatch.setattr(model_provisioning, "quantize_int8", quantize_int8)
    home = tmp_path / "lib"
    assert main(["models", "get", DEFAULT, "--int8", "--library", str(home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "DINOv2 ViT-S/14 (int8)"
    assert _available(capsys, home)[DEFAULT]["in_library"] == [1]


def test_models_get_errors_are_plain_messages(hub, capsys, tmp_path, monkeypatch):
    home = tmp_path / "lib"
    assert main(["models", "get", "vit_huge", "--library", str(home)]) == 2
    assert "no catalog model 'vit_huge'" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["models", "get", DEFAULT, "--library", str(home), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "not downloaded yet" in captured.err and "photo-search models add" in captured.err


def test_models_available_in_words(hub, capsys, tmp_path):
    assert main(["models", "available", "--library", str(tmp_path / "lib")]) == 0
    out = capsys.readouterr().out
    assert f"{DEFAULT}  (default)" in out and "88 MB, Apache-2.0, not downloaded" in out
