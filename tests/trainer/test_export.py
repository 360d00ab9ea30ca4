"""ONNX export: parity with torch on photos, metadata the app verifies, failure leaves nothing."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from desktop.core.descriptor_model import DescriptorSession, ModelError, check_model_file
from desktop.core.images import load_input
from trainer import cli
from trainer import export as export_module
from trainer.export import ExportError, UInt8ImageWrapper, export_onnx
from trainer.model import ModelConfig, create_descriptor_net


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnxruntime_matches_torch_on_photos(tiny_export, made_photos):
    net, path = tiny_export
    model = DescriptorSession(path)
    photos = made_photos[::5]
    batch = np.stack([load_input(p, model.input_spec) for p in photos])
    with torch.no_grad():
        expected = UInt8ImageWrapper(net).eval()(torch.from_numpy(batch)).numpy()
    actual = model.embed(batch)
    assert cosines(expected, actual).min() >= 0.9999
    assert np.allclose(np.linalg.norm(actual, axis=1), 1.0, atol=1e-5)


def test_graph_normalises_with_the_backbone_mean_and_std(tiny_export, made_photos):
    """The uint8 graph equals the float net on timm-normalised input."""
    net, path = tiny_export
    model = DescriptorSession(path)
    pixels = load_input(made_photos[7], model.input_spec)
    cfg = net.data_config()
    x = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255.0
    x = (x - torch.tensor(cfg["mean"]).view(3, 1, 1)) / torch.tensor(cfg["std"]).view(3, 1, 1)
    with torch.no_grad():
        expected = net(x[None]).numpy()
    assert cosines(expected, model.embed(pixels[None]))[0] >= 0.9999


def test_metadata_round_trip(tiny_export):
    net, path = tiny_export
    info = check_model_file(path).info  # the app's own check recomputes the hash
    spec = net.input_spec()
    assert info.name == "tiny test model"
    assert info.architecture == "vit_tiny_patch16_224"
    assert info.descriptor_dim == 192
    assert info.input_spec == spec
    assert info.training == {"dataset": "none"}
    assert len(info.content_hash) == 64


def test_an_exported_model_with_changed_weights_is_refused(tiny_export, tmp_path):
    """The hash covers the weights: one changed number makes the file another model."""
    _, path = tiny_export
    model = onnx.load(str(path))
    weight = max(model.graph.initializer, key=lambda tensor: len(tensor.raw_data))
    values = onnx.numpy_helper.to_array(weight).copy()
    values.flat[0] += 1.0
    weight.CopyFrom(onnx.numpy_helper.from_array(values, weight.name))
    onnx.save(model, str(tmp_path / "changed.onnx"))
    with pytest.raises(ModelError, match="changed after it was exported"):
        check_model_file(tmp_path / "changed.onnx")


def test_export_is_self_contained(tiny_export):
    _, path = tiny_export
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_failed_parity_check_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "MIN_COSINE", 1.01)  # no real export can pass this
    net = create_descriptor_net(ModelConfig("vit_tiny_patch16_224", 32, {"depth": 1}))
    out = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match="does not reproduce torch"):
        export_onnx(net, out, name="x")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_with_extra_timm_arguments(tmp_path, capsys):
    out = tmp_path / "cli.onnx"
    status = cli.main(
        [
            "export",
            "--arch",
            "deit_tiny_distilled_patch16_224",
            "--input-size",
            "32",
            "--model-kwargs",
            "depth=1",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    info = DescriptorSession(out).info
    assert info.architecture == "deit_tiny_distilled_patch16_224"
    assert info.input_spec.input_size == 32
    assert info.training == {"weights": "random init"}
    assert "wrote" in capsys.readouterr().out


def test_cli_export_from_checkpoint(tmp_path):
    config = ModelConfig("vit_tiny_patch16_224", 32, {"depth": 1})
    net = create_descriptor_net(config)
    checkpoint = tmp_path / "last.pt"
    torch.save({"model": net.state_dict(), "model_config": config.to_dict()}, checkpoint)
    out = tmp_path / "from-checkpoint.onnx"
    assert cli.main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), np.uint8)
    with torch.no_grad():
        expected = UInt8ImageWrapper(net.eval())(torch.from_numpy(images)).numpy()
    assert cosines(expected, DescriptorSession(out).embed(images)).min() >= 0.9999


def test_cli_reports_missing_weights(tmp_path, capsys):
    status = cli.main(["export", "--weights", str(tmp_path / "no.pth"), "--out", "x.onnx"])
    assert status == 2
    assert "weights file not found" in capsys.readouterr().err
