"""`desktop-trainer`: export (and, later, fine-tune and evaluate) descriptor models."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

from trainer.model import DEFAULT_ARCH, ModelConfig


def parse_model_kwargs(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs passed to timm.create_model; values are Python literals or strings."""
    kwargs: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--model-kwargs expects KEY=VALUE, got {item!r}")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    return kwargs


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Backbone and weights options shared by every command that builds a network."""
    parser.add_argument(
        "--arch", default=DEFAULT_ARCH, help="any timm ViT name (default: %(default)s)"
    )
    parser.add_argument("--input-size", type=int, help="square input side (default: the model's)")
    parser.add_argument(
        "--model-kwargs",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra timm.create_model arguments, e.g. depth=2 drop_path_rate=0.1",
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--pretrained", action="store_true", help="timm's pretrained weights")
    weights.add_argument("--weights", type=Path, help="a timm/safetensors state dict file")
    weights.add_argument("--checkpoint", type=Path, help="a desktop-trainer checkpoint")


def build_net(args: argparse.Namespace):
    """The DescriptorNet the model arguments describe, and a short name for its weights."""
    from trainer.model import create_descriptor_net, load_checkpoint_net

    if args.checkpoint:
        net, _ = load_checkpoint_net(args.checkpoint)
        return net, f"checkpoint {args.checkpoint.name}"
    config = ModelConfig(args.arch, args.input_size, parse_model_kwargs(args.model_kwargs))
    net = create_descriptor_net(config, pretrained=args.pretrained, weights_file=args.weights)
    if args.weights:
        return net, f"weights {args.weights.name}"
    return net, "pretrained" if args.pretrained else "random init"


def cmd_export(args: argparse.Namespace) -> int:
    from trainer.export import export_onnx

    net, weights = build_net(args)
    name = args.name or f"{net.config.arch} ({weights})"
    info = export_onnx(net, args.out, name=name, training={"weights": weights})
    print(
        f"wrote {args.out}: {info.name}, {info.descriptor_dim}-d descriptors, "
        f"input {info.input_spec.input_size}px, hash {info.content_hash[:12]}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desktop-trainer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="export a model to ONNX for the app")
    add_model_arguments(export)
    export.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    export.add_argument("--name", help="model name shown in the app")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"desktop-trainer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
