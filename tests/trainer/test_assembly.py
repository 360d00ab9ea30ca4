"""The app's torch-free assembly computes what the trainer's export of the same weights does.

For every catalog architecture, random weights are written in timm's hub layout (a timm
model at the checkpoint's native size, 518 px for DINOv2, classifier included) and loaded
by the trainer as `export --weights` does; that one export is the reference, and also
yields the template the current exporter would write, which must equal the committed one.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import timm
import torch
from safetensors.torch import save_file
from timm.layers import resample_abs_pos_embed as timm_resample
from timm.models._hub import save_config_for_hf

from desktop.core.descriptor_model import DescriptorSession
from desktop.core.images import load_input
from desktop.core.model_assembly import (
    TEMPLATE_KEY,
    assemble_model,
    read_template,
    resample_abs_pos_embed,
)
from tests.conftest import REPO_ROOT
from tests.photos import make_photo
from trainer.export import MIN_COSINE, ExportError, export_onnx
from trainer.model import ModelConfig, create_descriptor_net
from trainer.template import distinct_weights, make_template

TEMPLATES = REPO_ROOT / "resources" / "templates"
CATALOG = (
    "vit_small_patch14_dinov2.lvd142m",
    "deit_small_patch16_224.fb_in1k",
    "deit_small_distilled_patch16_224.fb_in1k",
)
RUN_SIZE = 224
WEIGHTS_SEED = 7
"""Not the templates' seed: the committed templates must not depend on the weights' values."""
POS_EMBED_SCALE = 20.0


def write_hub_checkpoint(folder, arch: str, **kwargs):
    """model.safetensors + config.json as timm's hub stores them, with random weights.

    The position embedding is scaled up to weigh in the descriptors as a trained one does,
    so that resampling it differently from timm shows.
    """
    folder.mkdir(parents=True, exist_ok=True)
    model = distinct_weights(timm.create_model(arch, pretrained=False, **kwargs), WEIGHTS_SEED)
    with torch.no_grad():
        model.pos_embed.mul_(POS_EMBED_SCALE)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors"
    )
    save_config_for_hf(model, str(folder / "config.json"))
    return folder / "model.safetensors"


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    return [
        make_photo(folder / f"{label}-{n}.jpg", label, n) for label in range(4) for n in range(2)
    ]


@pytest.fixture(scope="module", params=CATALOG)
def hub_export(request, tmp_path_factory):
    """(arch, weights file, trainer's export, template of that export) for one architecture."""
    arch = request.param
    folder = tmp_path_factory.mktemp(arch)
    weights = write_hub_checkpoint(folder / "hub", arch)
    net = create_descriptor_net(ModelConfig(arch, RUN_SIZE), weights_file=weights).eval()
    reference = export_onnx(net, folder / "trainer.onnx", name="trainer", training={}).path
    template = make_template(onnx.load(str(reference)), net)
    return arch, weights, reference, template


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.slow
def test_assembled_model_matches_the_trainers_export(hub_export, photos, tmp_path):
    arch, weights, reference, _ = hub_export
    info = assemble_model(
        TEMPLATES / f"{arch}.onnx", weights, tmp_path / "app.onnx", name="app", training={}
    )
    expected_model = DescriptorSession(reference)
    assert info.input_spec == expected_model.input_spec
    batch = np.stack([load_input(p, info.input_spec) for p in photos])
    expected = expected_model.embed(batch)
    actual = DescriptorSession(info.path).embed(batch)
    assert cosines(expected, actual).min() >= MIN_COSINE
    # The graphs are the same and so are the weights, the position embedding aside: anything
    # above float32 noise is a resampling that is not timm's (a=-0.75 gives 1.4e-4).
    np.testing.assert_allclose(actual, expected, atol=1e-5)
    assert cosines(expected, expected[::-1]).min() < 0.999  # the photos are told apart


@pytest.mark.slow
def test_committed_template_is_what_the_exporter_writes(hub_export):
    arch, _, _, fresh = hub_export
    committed, spec = read_template(TEMPLATES / f"{arch}.onnx")
    fresh_metadata = {e.key: e.value for e in fresh.metadata_props}
    assert json.loads(fresh_metadata.pop(TEMPLATE_KEY)) == json.loads(spec.to_json())
    committed_metadata = {e.key: e.value for e in committed.metadata_props if e.key != TEMPLATE_KEY}
    assert fresh_metadata == committed_metadata
    assert fresh.opset_import == committed.opset_import
    assert fresh.graph.SerializeToString(deterministic=True) == committed.graph.SerializeToString(
        deterministic=True
    ), f"regenerate: desktop-trainer export --template --arch {arch} --input-size {RUN_SIZE}"


@pytest.mark.parametrize(
    "old, new, prefix", [((37, 37), (16, 16), 1), ((14, 14), (16, 16), 2), ((7, 5), (3, 4), 0)]
)
def test_numpy_resampling_matches_timm(old, new, prefix):
    posemb = torch.randn(
        1, prefix + old[0] * old[1], 24, generator=torch.Generator().manual_seed(0)
    )
    expected = timm_resample(posemb, list(new), list(old), num_prefix_tokens=prefix).numpy()
    actual = resample_abs_pos_embed(posemb.numpy(), new, old, prefix)
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_cli_template_of_a_tiny_vit_assembles_like_its_export(tmp_path, photos):
    """The CLI path end to end on a one-block ViT-Tiny at 32 px (grid 14 -> 2)."""
    arch, kwargs = "vit_tiny_patch16_224", {"depth": 1}
    template = tmp_path / "tiny.onnx"
    command = [sys.executable, "-m", "trainer.cli", "export", "--template", "--arch", arch]
    command += ["--input-size", "32", "--model-kwargs", "depth=1", "--out", str(template)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    weights = write_hub_checkpoint(tmp_path / "hub", arch, **kwargs)
    net = create_descriptor_net(ModelConfig(arch, 32, kwargs), weights_file=weights).eval()
    reference = export_onnx(net, tmp_path / "trainer.onnx", name="trainer").path
    info = assemble_model(template, weights, tmp_path / "app.onnx", name="app", training={})
    batch = np.stack([load_input(p, info.input_spec) for p in photos])
    expected = DescriptorSession(reference).embed(batch)
    actual = DescriptorSession(info.path).embed(batch)
    assert cosines(expected, actual).min() >= MIN_COSINE


def test_cli_template_refuses_weights(tmp_path, capsys):
    from trainer.cli import main

    assert main(["export", "--template", "--pretrained", "--out", str(tmp_path / "t.onnx")]) == 2
    assert "--template writes no weights" in capsys.readouterr().err


def test_mapping_refuses_what_values_cannot_prove(tiny_export):
    """timm's own initialisation (all norms at 1) and weights the graph does not hold."""
    net, path = tiny_export
    with pytest.raises(ExportError, match="hold the same values"):
        make_template(onnx.load(str(path)), net)
    other = distinct_weights(copy.deepcopy(net))
    with pytest.raises(ExportError, match="initializers that match no timm weight"):
        make_template(onnx.load(str(path)), other)
