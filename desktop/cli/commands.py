"""Headless subcommands of `photo-search`, registered on the main parser."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from desktop.core.descriptor_model import DescriptorModel, ModelError


def register(subcommands: argparse._SubParsersAction) -> None:
    check = subcommands.add_parser(
        "check-model", help="check that an ONNX file follows the model contract"
    )
    check.add_argument("model", type=Path)
    check.add_argument("--json", action="store_true", help="print the model info as JSON")
    check.set_defaults(func=cmd_check_model)


def cmd_check_model(args: argparse.Namespace) -> int:
    try:
        info = DescriptorModel(args.model).info
    except ModelError as exc:
        print(f"photo-search: {exc}", file=sys.stderr)
        return 2
    summary = {
        "path": str(info.path),
        "name": info.name,
        "architecture": info.architecture,
        "descriptor_dim": info.descriptor_dim,
        "input_size": info.input_spec.input_size,
        "resize_size": info.input_spec.resize_size,
        "interpolation": info.input_spec.interpolation,
        "content_hash": info.content_hash,
        "training": info.training,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>15}: {value}")
    return 0
