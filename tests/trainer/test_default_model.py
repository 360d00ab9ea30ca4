"""The first-run window's command for the default model is one the trainer accepts."""

from __future__ import annotations

import subprocess

import timm

from desktop.core import default_model
from tests.conftest import REPO_ROOT
from trainer import cli
from trainer.model import DEFAULT_ARCH


def test_export_command_for_the_default_model_is_a_pretrained_export(tmp_path):
    out = tmp_path / "default.onnx"
    command = default_model.export_command(out)
    assert command[1:3] == ["-m", "trainer.cli"]
    args = cli.build_parser().parse_args(command[3:])
    assert args.func is cli.cmd_export
    assert (args.arch, args.pretrained, args.weights, args.checkpoint) == (
        "deit_small_patch16_224", True, None, None,
    )  # fmt: skip
    assert args.out == out and args.name == default_model.DEFAULT_NAME
    assert args.input_size is None and args.model_kwargs == []
    assert default_model.DEFAULT_ARCH == DEFAULT_ARCH  # the app and the trainer agree
    assert f"{DEFAULT_ARCH}.fb_in1k" in timm.list_pretrained(DEFAULT_ARCH + "*")

    helped = subprocess.run(  # `python -m trainer.cli` runs the parser that accepted it
        [*command, "--help"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0 and "--pretrained" in helped.stdout, helped.stderr
