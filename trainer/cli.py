"""`desktop-trainer`: fine-tune, evaluate and export descriptor models."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import logging
import os
import signal
import sys
from functools import partial
from pathlib import Path
from typing import Any

from trainer.config import (
    CONFIG_FILE,
    DATASETS,
    DEFAULT_WORKERS,
    FinetuneConfig,
    load_config_file,
    merge,
    saved_run_config,
)
from trainer.data.benchmarks import EVAL_DATASETS
from trainer.model import DEFAULT_ARCH, ModelConfig
from trainer.progress import JsonLines, Progress, ProgressBar, format_metrics

logger = logging.getLogger("trainer")
CONFIG_KEYS = {f.name for f in dataclasses.fields(FinetuneConfig)}
USER_ERRORS = (FileNotFoundError, FileExistsError, ValueError, RuntimeError)
"""Failures the user can act on: reported by their message alone, without a traceback."""


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


def add_model_arguments(parser: argparse.ArgumentParser, *, checkpoint: bool = True) -> None:
    """Backbone and weights options shared by every command that builds a network.

    Defaults are set by the caller (`set_defaults`), so a parser that suppresses defaults
    sees only the options actually given.
    """
    parser.add_argument("--arch", help=f"any timm ViT name ({DEFAULT_ARCH})")
    parser.add_argument("--input-size", type=int, help="square input side (default: the model's)")
    parser.add_argument(
        "--model-kwargs",
        nargs="*",
        metavar="KEY=VALUE",
        help="extra timm.create_model arguments, e.g. depth=2 drop_rate=0.1",
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--pretrained", action="store_true", help="timm's pretrained weights")
    weights.add_argument("--weights", type=Path, help="a timm/safetensors state dict file")
    if checkpoint:
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
    from trainer.data.transforms import recipe_spec
    from trainer.export import export_onnx

    if args.template:
        return export_template(args)
    net, weights = build_net(args)
    name = args.name or f"{net.config.arch} ({weights})"
    # a fine-tuned checkpoint keeps the recipe's preprocessing; timm's weights keep timm's
    spec = recipe_spec(net.input_spec()) if args.checkpoint else net.input_spec()
    info = export_onnx(net, args.out, name=name, training={"weights": weights}, spec=spec)
    print(
        f"wrote {args.out}: {info.name}, {info.descriptor_dim}-d descriptors, "
        f"input {info.input_spec.input_size}px, hash {info.content_hash[:12]}"
    )
    return 0


def export_template(args: argparse.Namespace) -> int:
    """`export --template`: the graph the app fills from timm weights (trainer/template.py)."""
    from trainer.template import distinct_weights, export_template

    if args.pretrained or args.weights or args.checkpoint:
        raise ValueError("--template writes no weights: leave out --pretrained, --weights, ...")
    net, _ = build_net(args)
    path = export_template(distinct_weights(net), args.out)
    print(f"wrote template {path} ({path.stat().st_size / 1e3:.0f} kB) for {net.config.arch}")
    return 0


def add_finetune_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `finetune`; each one given overrides the configuration file's value."""
    d = FinetuneConfig()  # the defaults the help shows
    parser.add_argument("data_dir", nargs="?", help="labelled folder or benchmark root")
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="CSV file of path,label rows: the photos to train on, instead of DATA_DIR",
    )
    parser.add_argument("--out", type=Path, help="run folder to create")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue this run")
    parser.add_argument("--config", type=Path, help="JSON file of options (below the CLI)")
    parser.add_argument("--dataset", choices=DATASETS, help=f"data layout ({d.dataset})")
    parser.add_argument(
        "--val-classes",
        type=float,
        metavar="F",
        help=f"share of the labels held out of training and evaluated on ({d.val_classes})",
    )
    add_model_arguments(parser, checkpoint=False)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=int, help=f"training steps ({d.iterations})")
    length.add_argument("--epochs", type=int, help="passes over the training photos")
    parser.add_argument("--batch-size", type=int, help=f"global batch ({d.batch_size})")
    parser.add_argument(  # torchrun takes a bare --m for its own options: give the long one
        "--photos-per-label",
        "--m",
        dest="m",
        type=int,
        help=f"photos per label in a batch, m ({d.m})",
    )
    parser.add_argument(
        "--drop-path", type=float, metavar="P", help=f"stochastic depth rate ({d.drop_path:g})"
    )
    parser.add_argument("--lr", type=float, help=f"AdamW learning rate ({d.lr:g})")
    parser.add_argument(
        "--weight-decay", type=float, help=f"AdamW weight decay ({d.weight_decay:g})"
    )
    parser.add_argument("--warmup", type=int, help=f"linear warmup steps ({d.warmup})")
    parser.add_argument("--schedule", choices=("constant", "cosine"), help=f"({d.schedule})")
    parser.add_argument(
        "--clip-grad", type=float, help=f"max gradient norm, 0 = off ({d.clip_grad:g})"
    )
    parser.add_argument("--margin", type=float, help=f"contrastive margin beta ({d.margin})")
    parser.add_argument("--koleo", type=float, help=f"KoLeo weight lambda, 0 = off ({d.koleo})")
    parser.add_argument("--xbm", type=int, help=f"cross-batch memory size, 0 = off ({d.xbm})")
    parser.add_argument(
        "--xbm-warmup",
        type=int,
        metavar="STEPS",
        help=f"steps before the memory fills and takes part in the loss ({d.xbm_warmup})",
    )
    parser.add_argument(
        "--momentum",
        type=float,
        help=f"momentum encoder feeding the memory, 0 = off ({d.momentum:g})",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help=f"({d.device})")
    parser.add_argument("--no-amp", dest="amp", action="store_false", help="no bf16 on GPUs")
    parser.add_argument("--seed", type=int, help=f"({d.seed})")
    parser.add_argument("--workers", type=int, help=f"data loading processes ({d.workers})")
    parser.add_argument("--log-every", type=int, help=f"steps per metrics line ({d.log_every})")
    parser.add_argument(
        "--eval-every", type=int, help=f"steps between evaluations, 0 = ends only ({d.eval_every})"
    )
    parser.add_argument(
        "--checkpoint-every", type=int, help=f"steps between checkpoints ({d.checkpoint_every})"
    )
    parser.add_argument("--eval-batch-size", type=int, help=f"({d.eval_batch_size})")
    parser.add_argument("--ks", type=int, nargs="+", help="K of Recall@K (default: per dataset)")
    parser.add_argument(
        "--progress",
        choices=("bar", "json"),
        help="bar: a progress bar (default); json: one JSON event per line on stdout, "
        "for a program that runs the trainer",
    )


def finetune_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration values given on the command line."""
    given = {k: v for k, v in vars(args).items() if k in CONFIG_KEYS}
    if "model_kwargs" in given:
        given["model_kwargs"] = parse_model_kwargs(given["model_kwargs"])
    if "weights" in given:
        given["weights"] = str(given["weights"])
    return given


def cmd_finetune(args: argparse.Namespace) -> int:
    """Fine-tune, reporting to `--progress`; a failure is reported there too, then raised."""
    if not is_main_process():
        progress = Progress()  # rank 0 reports for all torchrun ranks
    else:
        progress = JsonLines() if args.progress == "json" else ProgressBar()
    try:
        return run_finetune(args, progress)
    except Exception as exc:
        expected = isinstance(exc, USER_ERRORS)
        progress.failed(str(exc) if expected else f"{type(exc).__name__}: {exc}")
        raise


def run_finetune(args: argparse.Namespace, progress: Progress) -> int:
    """Exit status 0 when the run is complete; 128 + the signal number when SIGINT (130) or
    SIGTERM (143) stopped it (trainer/stopping.py)."""
    from trainer.finetune import finetune
    from trainer.stopping import Stopped, StopRequest

    if args.resume:
        if args.out or args.config:
            raise ValueError("--resume takes its run folder and configuration from RUN_DIR")
        run_dir = args.resume
        if not (run_dir / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{run_dir} holds no run to resume (no {CONFIG_FILE})")
        base = saved_run_config(run_dir)
    else:
        if not args.out:
            raise ValueError("finetune needs --out RUN_DIR (or --resume RUN_DIR)")
        run_dir = args.out
        base = load_config_file(args.config) if args.config else {}
    config = merge(base, finetune_overrides(args))
    if not (config.data_dir or config.labels):
        raise ValueError("finetune needs DATA_DIR or --labels FILE")
    stop = StopRequest()
    try:
        with stop.handling(), progress:
            report = finetune(
                config, run_dir, resume=bool(args.resume), progress=progress, stop=stop
            )
    except Stopped as stopped:
        progress.stopped(run_dir, stopped.step)
        return 128 + (stop.signum or signal.SIGINT)
    if report:  # else a torchrun rank other than 0
        progress.finished(run_dir, report)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from trainer.data.benchmarks import load_eval_dataset, protocol_view
    from trainer.embed import model_embedder
    from trainer.evaluate import DEFAULT_KS, evaluate_dataset
    from trainer.files import write_json

    dataset = load_eval_dataset(args.dataset, args.root)
    embedder = model_embedder(
        args.model, device=args.device, batch_size=args.batch_size, workers=args.workers
    )
    view = protocol_view(args.dataset, embedder.spec)
    ks = args.ks or DEFAULT_KS.get(args.dataset, DEFAULT_KS["folder"])
    metrics = evaluate_dataset(dataset, partial(embedder.embed, view=view), ks)
    print(f"{embedder.description} on {args.dataset} ({args.root}): {view.describe()}")
    print(format_metrics(metrics))
    if args.json:
        write_json(
            args.json,
            {
                "model": str(args.model),
                "dataset": args.dataset,
                "preprocessing": view.describe(),
                **metrics,
            },
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="desktop-trainer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    finetune = commands.add_parser(
        "finetune",
        help="fine-tune on labelled photos, evaluate before and after, export",
        argument_default=argparse.SUPPRESS,
    )
    add_finetune_arguments(finetune)
    finetune.set_defaults(func=cmd_finetune, out=None, resume=None, config=None, progress="bar")

    evaluate = commands.add_parser("evaluate", help="Recall@K and MAP@R (or mAP) of a model")
    evaluate.add_argument("--model", type=Path, required=True, help=".onnx or checkpoint .pt")
    evaluate.add_argument("--dataset", choices=EVAL_DATASETS, required=True)
    evaluate.add_argument("--root", type=Path, required=True, help="the dataset's folder")
    evaluate.add_argument("--json", type=Path, help="also write the metrics here")
    evaluate.add_argument("--ks", type=int, nargs="+", help="K of Recall@K")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    evaluate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    evaluate.set_defaults(func=cmd_evaluate)

    export = commands.add_parser("export", help="export a model to ONNX for the app")
    add_model_arguments(export)
    export.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    export.add_argument("--name", help="model name shown in the app")
    export.add_argument(
        "--template",
        action="store_true",
        help="write a weights-free graph template the app fills from timm hub weights",
    )
    export.set_defaults(func=cmd_export, arch=DEFAULT_ARCH, model_kwargs=[])
    return parser


def configure_logging() -> None:
    """The trainer's messages on stderr: INFO from the main process, warnings from the other
    torchrun ranks (which would only repeat it)."""
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if is_main_process() else logging.WARNING)


def is_main_process() -> bool:
    """Rank 0 under torchrun, and any process that torchrun did not start."""
    return os.environ.get("RANK", "0") == "0"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"desktop-trainer: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
