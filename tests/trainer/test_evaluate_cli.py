"""`desktop-trainer evaluate` on each benchmark layout, with an ONNX model and a checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from trainer import cli
from trainer.model import ModelConfig, create_descriptor_net

from .replicas import write_cub, write_inshop, write_revisited, write_sop

CASES = {
    "cub": (write_cub, {"recall@1", "recall@2", "recall@4", "recall@8", "map@r"}),
    "sop": (write_sop, {"recall@1", "recall@10", "recall@100", "recall@1000", "map@r"}),
    "inshop": (write_inshop, {"recall@1", "recall@10", "recall@50", "map@r"}),
    "roxford5k": (write_revisited, {"map_medium", "map_hard"}),
}
PREPROCESSING = {
    "cub": "shorter side resized to 37, centre crop 32, bicubic",
    "sop": "shorter side resized to 37, centre crop 32, bicubic",
    "inshop": "shorter side resized to 37, centre crop 32, bicubic",
    "roxford5k": "whole photo resized to 32x32, bicubic",
}


@pytest.mark.parametrize("dataset", sorted(CASES))
def test_evaluate_writes_the_protocols_metrics(dataset, tiny_model_path, tmp_path, capsys):
    write, keys = CASES[dataset]
    root = write(tmp_path / "data")
    out = tmp_path / "metrics.json"
    arguments = ["--dataset", dataset, "--root", str(root), "--json", str(out), "--workers", "0"]
    assert cli.main(["evaluate", "--model", str(tiny_model_path), *arguments]) == 0
    metrics = json.loads(out.read_text())
    assert keys <= set(metrics)
    assert metrics["dataset"] == dataset and metrics["model"] == str(tiny_model_path)
    assert all(0.0 <= metrics[key] <= 1.0 for key in keys)
    printed = capsys.readouterr().out
    assert "tiny test model (ONNX, 48-d)" in printed and "%" in printed
    # the tiny model's metadata says resize 32 (no crop); each benchmark uses its protocol
    expected = PREPROCESSING[dataset]
    assert metrics["preprocessing"] == expected and expected in printed


def test_evaluate_a_checkpoint_on_revisited_paris(tmp_path, capsys):
    config = ModelConfig("vit_tiny_patch16_224", 32, {"depth": 1})
    net = create_descriptor_net(config)
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"model": net.state_dict(), "model_config": config.to_dict(), "step": 9}, checkpoint)
    root = write_revisited(tmp_path / "data", "rparis6k")
    arguments = ["--dataset", "rparis6k", "--root", str(root / "rparis6k"), "--device", "cpu"]
    assert cli.main(["evaluate", "--model", str(checkpoint), "--workers", "0", *arguments]) == 0
    printed = capsys.readouterr().out
    assert "vit_tiny_patch16_224 checkpoint at step 9" in printed
    assert "map_medium" in printed and "map_hard" in printed


def test_evaluate_reports_a_wrong_root(tmp_path, tiny_model_path, capsys):
    arguments = ["--model", str(tiny_model_path), "--dataset", "cub", "--root", str(tmp_path)]
    assert cli.main(["evaluate", *arguments]) == 2
    assert "images.txt not found" in capsys.readouterr().err
