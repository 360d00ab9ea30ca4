"""The shipped model catalog is valid, and a broken catalog is refused with its problem named."""

from __future__ import annotations

import json
import math

import pytest

from desktop.core import model_contract as contract
from desktop.core.model_catalog import ModelCatalogError, load_catalog

KEYS = [
    "vit_small_patch14_dinov2.lvd142m",
    "deit_small_patch16_224.fb_in1k",
    "deit_small_distilled_patch16_224.fb_in1k",
]


def test_the_shipped_catalog_offers_the_three_vits_with_dinov2_as_default():
    catalog = load_catalog()
    assert catalog.keys() == KEYS
    assert catalog.default.key == "vit_small_patch14_dinov2.lvd142m"
    for model in catalog.models:
        assert model.repo == f"timm/{model.key}"
        assert model.licence == "Apache-2.0"
        assert model.resize_size == math.floor(model.input_size / model.crop_pct)
        assert model.interpolation in contract.INTERPOLATIONS
        assert model.descriptor.startswith("CLS token after the final norm")
        assert 80e6 < model.download_bytes < 100e6
    dinov2, deit, distilled = catalog.models
    assert (dinov2.input_size, dinov2.resize_size, dinov2.crop_pct) == (224, 224, 1.0)
    assert (deit.resize_size, distilled.resize_size) == (248, 248)  # timm's crop_pct 0.9


def test_an_unknown_key_names_the_catalog_keys():
    with pytest.raises(ModelCatalogError, match="deit_small_patch16_224.fb_in1k"):
        load_catalog().get("vit_huge")


def _broken(tmp_path, change):
    document = json.loads(load_catalog().path.read_text())
    change(document)
    path = tmp_path / "models.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["models"][1].update(resize_size=256), r"resize_size must be floor.* = 248"),
        (lambda d: d["models"][0].pop("licence"), r"model 1 \(vit_small.*missing licence"),
        (lambda d: d["models"][2].update(sha256="abc"), "sha256 must be 64 lowercase hex"),
        (lambda d: d["models"][1].update(default=True), "exactly one model must be the default"),
        (lambda d: d["models"][0].update(input_size="224"), "input_size has the wrong type"),
        (lambda d: d["models"][0].update(interpolation="lanczos"), "interpolation must be"),
        (lambda d: d["models"][0].update(repo="dinov2"), "repo must be a hub repository"),
        (lambda d: d["models"][0].update(revison="main"), "unknown fields revison"),
        (lambda d: d["models"].append(dict(d["models"][1])), "listed twice"),
        (lambda d: d.update(format_version=2), "not a format version 1 catalog"),
    ],
)
def test_a_broken_catalog_is_refused_naming_the_problem(tmp_path, change, message):
    with pytest.raises(ModelCatalogError, match=message):
        load_catalog(_broken(tmp_path, change))


def test_a_catalog_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "models.json"
    path.write_text("{ not json")
    with pytest.raises(ModelCatalogError, match="not valid JSON"):
        load_catalog(path)
