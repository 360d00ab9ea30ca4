"""Assembling a pretrained model from a committed template and timm weights, without torch.

The weights are written with numpy and `safetensors.numpy` in timm's hub layout (every key
the template asks for, at the checkpoint's own grid, plus the classifier a hub checkpoint
carries), so these tests need neither torch nor a download. That the assembled model
computes what timm computes is tested against the trainer in tests/trainer/test_assembly.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from desktop.core import model_contract as contract
from desktop.core.descriptor_model import ModelError
from desktop.core.model_assembly import (
    TEMPLATE_KEY,
    aa_weights,
    assemble_model,
    read_template,
    resample_abs_pos_embed,
)
from tests.conftest import REPO_ROOT
from tests.test_import_rules import run_without_torch

TEMPLATES = REPO_ROOT / "resources" / "templates"
DEIT = TEMPLATES / "deit_small_patch16_224.fb_in1k.onnx"
CATALOG_TEMPLATES = {  # architecture: its patch grid at 224 px
    "vit_small_patch14_dinov2.lvd142m": (16, 16),
    "deit_small_patch16_224.fb_in1k": (14, 14),
    "deit_small_distilled_patch16_224.fb_in1k": (14, 14),
}


def hub_weights(template: Path, seed: int = 0, scale: float = 0.1) -> dict[str, np.ndarray]:
    """Random float32 weights in timm's hub layout for the template's architecture, with
    the classifier a hub checkpoint carries."""
    _, spec = read_template(template)
    rng = np.random.default_rng(seed)
    shapes = spec.checkpoint_shapes()
    weights = {key: rng.normal(0, scale, shape).astype(np.float32) for key, shape in shapes.items()}
    dim = weights["cls_token"].shape[-1]
    weights["head.weight"] = rng.normal(0, scale, (1000, dim)).astype(np.float32)
    weights["head.bias"] = np.zeros(1000, np.float32)
    return weights


def write_weights(path: Path, weights: dict[str, np.ndarray]) -> Path:
    save_file(weights, str(path))
    return path


@pytest.fixture(scope="module")
def deit_weights() -> dict[str, np.ndarray]:
    return hub_weights(DEIT)


@pytest.mark.parametrize("arch, grid", CATALOG_TEMPLATES.items())
def test_templates_are_committed_small_and_describe_their_architecture(arch, grid):
    path = TEMPLATES / f"{arch}.onnx"
    model, spec = read_template(path)
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    assert spec.architecture == metadata[contract.KEY_ARCHITECTURE] == arch
    assert metadata[contract.KEY_INPUT_SIZE] == "224" and spec.grid == grid
    assert path.stat().st_size < 500_000  # the weights are not in it
    assert all(not init.raw_data for init in model.graph.initializer if init.name in spec.weights)


def test_dinov2_template_resamples_from_the_checkpoints_518px_grid():
    _, spec = read_template(TEMPLATES / "vit_small_patch14_dinov2.lvd142m.onnx")
    assert (spec.grid, spec.checkpoint_grid, spec.num_prefix_tokens) == ((16, 16), (37, 37), 1)
    _, distilled = read_template(TEMPLATES / "deit_small_distilled_patch16_224.fb_in1k.onnx")
    assert distilled.num_prefix_tokens == 2


def test_assembly_imports_no_torch(tmp_path, deit_weights):
    weights = write_weights(tmp_path / "model.safetensors", deit_weights)
    code = f"""
from pathlib import Path
from desktop.core.model_assembly import assemble_model
out = Path({str(tmp_path)!r}) / "m.onnx"
info = assemble_model(Path({str(DEIT)!r}), Path({str(weights)!r}), out, name="DeiT-S",
                      training={{"weights": "timm"}})
print(info.architecture, info.descriptor_dim, info.input_spec.input_size, info.training["weights"])
assert not any(name.split(".")[0] in ("torch", "timm") for name in sys.modules)
"""
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["deit_small_patch16_224.fb_in1k", "384", "224", "timm"]


def test_assembled_model_follows_the_contract(tmp_path, deit_weights):
    weights = write_weights(tmp_path / "model.safetensors", deit_weights)
    out = tmp_path / "models" / "deit.onnx"
    info = assemble_model(DEIT, weights, out, name="DeiT-S", training={"weights": "hub"})
    assert info.path == out and info.name == "DeiT-S" and info.training == {"weights": "hub"}
    assert info.content_hash == contract.file_content_hash(out)
    assert TEMPLATE_KEY not in info.metadata
    assert sorted(p.name for p in out.parent.iterdir()) == ["deit.onnx"]  # no staging left


def test_a_missing_key_is_named(tmp_path, deit_weights):
    weights = dict(deit_weights)
    del weights["blocks.3.mlp.fc1.weight"]
    path = write_weights(tmp_path / "model.safetensors", weights)
    with pytest.raises(ModelError, match=r"lacks 1 weight.*blocks\.3\.mlp\.fc1\.weight"):
        assemble_model(DEIT, path, tmp_path / "m.onnx", name="x", training={})
    assert not (tmp_path / "m.onnx").exists()


def test_a_wrong_shape_is_named(tmp_path, deit_weights):
    weights = {**deit_weights, "blocks.0.attn.qkv.weight": np.zeros((1152, 768), np.float32)}
    path = write_weights(tmp_path / "model.safetensors", weights)
    with pytest.raises(ModelError, match=r"blocks\.0\.attn\.qkv\.weight has shape \[1152, 768\]"):
        assemble_model(DEIT, path, tmp_path / "m.onnx", name="x", training={})


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"PK\x03\x04 a torch pickle, say" + bytes(64))
    with pytest.raises(ModelError, match="not a readable safetensors file"):
        assemble_model(DEIT, path, tmp_path / "m.onnx", name="x", training={})


def test_a_model_that_fails_its_check_leaves_the_previous_file(tmp_path, deit_weights):
    out = tmp_path / "m.onnx"
    out.write_bytes(b"the model that was there")
    weights = {**deit_weights, "norm.weight": np.full(384, np.nan, np.float32)}
    path = write_weights(tmp_path / "model.safetensors", weights)
    with pytest.raises(ModelError, match="not finite"):
        assemble_model(DEIT, path, out, name="x", training={})
    assert out.read_bytes() == b"the model that was there"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "model.safetensors"]


def test_interpolation_weights_keep_a_constant_and_the_same_size_is_identity():
    for in_size, out_size in ((37, 16), (14, 16), (16, 16), (5, 2)):
        weights = aa_weights(in_size, out_size)
        assert weights.shape == (out_size, in_size)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(aa_weights(16, 16), np.eye(16), atol=1e-12)


def test_resampling_keeps_the_prefix_tokens():
    posemb = np.random.default_rng(0).normal(size=(1, 2 + 37 * 37, 8)).astype(np.float32)
    resampled = resample_abs_pos_embed(posemb, (16, 16), (37, 37), 2)
    assert resampled.shape == (1, 2 + 256, 8) and resampled.dtype == np.float32
    np.testing.assert_array_equal(resampled[:, :2], posemb[:, :2])


def test_template_description_is_json_with_a_version():
    model, _ = read_template(DEIT)
    (text,) = [e.value for e in model.metadata_props if e.key == TEMPLATE_KEY]
    assert json.loads(text)["version"] == 1
