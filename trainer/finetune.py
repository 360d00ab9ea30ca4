"""`desktop-trainer finetune`: evaluate, train, evaluate again, export, report.

A run folder holds everything about one run: `config.json` (the merged configuration),
`metrics.jsonl`, `checkpoint.pt` (the whole training state, rewritten atomically every
`checkpoint_every` steps, at the end, and when a stop is requested: trainer/stopping.py),
`model.onnx` (for the app, with the training summary and metrics in its metadata),
`report.json` and `curves.png`. Under torchrun every rank trains; rank 0 alone evaluates
and writes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from desktop.core.atomic import atomic_write
from desktop.core.images import InputSpec
from trainer import distributed
from trainer.config import CONFIG_FILE, FinetuneConfig, save_config
from trainer.data.benchmarks import QueryGallery, load_cub, load_inshop, load_sop, protocol_view
from trainer.data.datasets import TrainViews
from trainer.data.folder import ImageList, scan_labelled_folder, split_classes
from trainer.data.manifest import read_labels_manifest
from trainer.data.transforms import EvalView, recipe_spec
from trainer.embed import embed_with_net
from trainer.engine import Trainer, train
from trainer.evaluate import DEFAULT_KS, evaluate_dataset
from trainer.export import export_onnx
from trainer.model import create_descriptor_net
from trainer.progress import Progress
from trainer.report import CURVES_FILE, MetricsLog, plot_curves, write_report
from trainer.sampler import ClassBalancedBatchSampler
from trainer.stopping import Stopped, StopRequest

logger = logging.getLogger("trainer")

CHECKPOINT_FILE = "checkpoint.pt"
MODEL_FILE = "model.onnx"
EXPORT_CHECK_PHOTOS = 8


@dataclass
class TrainingData:
    """The photos trained on and the held-out set (None: nothing held out) measured on."""

    name: str
    train: ImageList
    evaluation: ImageList | QueryGallery | None
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        summary = {
            "name": self.name,
            "train_photos": len(self.train),
            "train_classes": self.train.num_classes,
            "skipped": [{"path": str(p), "reason": reason} for p, reason in self.skipped],
        }
        if isinstance(self.evaluation, QueryGallery):
            summary["eval_queries"] = len(self.evaluation.query)
            summary["eval_gallery"] = len(self.evaluation.gallery)
        elif self.evaluation is not None:
            summary["eval_photos"] = len(self.evaluation)
            summary["eval_classes"] = self.evaluation.num_classes
        return summary

    def held_out_photos(self) -> int:
        if isinstance(self.evaluation, QueryGallery):
            return len(self.evaluation.query) + len(self.evaluation.gallery)
        return len(self.evaluation) if self.evaluation is not None else 0


def load_training_data(config: FinetuneConfig) -> TrainingData:
    """The train split and the held-out split of the configured dataset."""
    if config.dataset != "folder":
        root = Path(config.data_dir)
        load = {"cub": load_cub, "sop": load_sop, "inshop": load_inshop}[config.dataset]
        return TrainingData(config.dataset, load(root, "train"), load(root, "test"))
    if config.labels:
        images, name = read_labels_manifest(config.labels), f"labels {Path(config.labels).name}"
    else:
        images, name = scan_labelled_folder(config.data_dir), f"folder {Path(config.data_dir).name}"
    for path, reason in images.skipped:
        logger.warning("skipped %s: %s", path, reason)
    if config.val_classes > 0:
        train_set, held_out = split_classes(images, config.val_classes)
    else:
        train_set, held_out = images, None
    return TrainingData(name, train_set, held_out, images.skipped)


def fit_batch_to_labels(
    config: FinetuneConfig, num_labels: int, world_size: int = 1
) -> FinetuneConfig:
    """The configuration with a batch that `num_labels` labels can fill.

    A batch holds batch_size / m labels, m photos each. A personal collection often has fewer
    labels than the default batch of 64 needs; the batch then shrinks to m photos of every
    label (a multiple of the number of processes) instead of failing.
    """
    if config.batch_size // config.m <= num_labels:
        return config
    unit = math.lcm(config.m, world_size)
    batch_size = num_labels * config.m // unit * unit
    if batch_size // config.m < 2:
        raise ValueError(
            f"training needs at least 2 labels in each batch of m={config.m} photos per "
            f"label; the training data has {num_labels} label(s)"
        )
    logger.warning(
        "%d labels cannot fill a batch of %d with m=%d: using batches of %d",
        num_labels,
        config.batch_size,
        config.m,
        batch_size,
    )
    return dataclasses.replace(config, batch_size=batch_size)


def total_steps(config: FinetuneConfig, train_photos: int) -> int:
    if config.epochs is not None:
        return config.epochs * max(1, train_photos // config.batch_size)
    return int(config.iterations or 0)


class Checkpoint:
    """A run's checkpoint.pt, and the step it holds (None: none yet), where a resume starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.step: int | None = None

    def load(self, device: torch.device) -> dict[str, Any]:
        state = torch.load(self.path, map_location=device, weights_only=False)
        self.step = int(state["step"])
        return state

    def save(self, state: dict[str, Any]) -> None:
        atomic_write(self.path, partial(torch.save, state))
        self.step = int(state["step"])


def finetune(
    config: FinetuneConfig,
    run_dir: str | os.PathLike,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    stop: StopRequest | None = None,
) -> dict[str, Any]:
    """Run the whole fine-tuning and return the report (also written to report.json).

    `stop` is read after every step: once it is requested, the run writes the checkpoint of
    the step reached and raises `Stopped`, as it does on any KeyboardInterrupt (then with the
    last checkpoint written). A resumed run takes its weights from the checkpoint and trains
    up to `config`'s number of steps, which may differ from the first run's.
    """
    run_dir = Path(run_dir)
    checkpoint = Checkpoint(run_dir / CHECKPOINT_FILE)
    if resume and not checkpoint.path.is_file():
        raise FileNotFoundError(f"{checkpoint.path} not found: nothing to resume")
    if not resume and checkpoint.path.exists():
        raise FileExistsError(f"{run_dir} already holds a run: pass --resume or a new --out")
    world = distributed.World()
    try:
        device = distributed.resolve_device(config.device)
        world = distributed.init_world(device)
        resumed = checkpoint.load(device) if resume else None
        progress, stop = progress or Progress(), stop or StopRequest()
        return _finetune(config, run_dir, checkpoint, resumed, progress, stop, device, world)
    except KeyboardInterrupt as exc:
        raise Stopped(checkpoint.step) from exc
    finally:
        distributed.close(world)


def _finetune(
    config: FinetuneConfig,
    run_dir: Path,
    checkpoint: Checkpoint,
    resumed: dict[str, Any] | None,
    progress: Progress,
    stop: StopRequest,
    device: torch.device,
    world: distributed.World,
) -> dict[str, Any]:
    resume = resumed is not None
    data = load_training_data(config)
    config = fit_batch_to_labels(config, len(np.unique(data.train.labels)), world.size)
    num_steps = total_steps(config, len(data.train))
    trainer = _build_trainer(config, num_steps, device, world, resume)
    history: dict[str, Any] = {"before": None, "seconds": 0.0}
    if resume:
        trainer.load_state_dict(resumed)
        history = resumed["history"]
        if trainer.step > num_steps:
            raise ValueError(
                f"{run_dir} is at step {trainer.step}, past the {num_steps} steps asked for"
            )
    sampler = ClassBalancedBatchSampler(
        data.train.labels,
        config.batch_size,
        config.m,
        seed=config.seed,
        num_steps=num_steps,
        start_step=trainer.step,
        rank=world.rank,
        world_size=world.size,
    )  # checks the batch can be drawn before anything is written
    log = MetricsLog(run_dir)
    if world.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir)
        if resume:
            log.keep_until(trainer.step)
        else:
            log.clear()
    ks = config.ks or DEFAULT_KS[config.dataset]
    view = protocol_view(config.dataset, recipe_spec(trainer.net.input_spec()))

    def evaluate_now(step: int) -> dict[str, float] | None:
        if data.evaluation is None or not world.is_main:
            return None
        embed = partial(
            embed_with_net,
            trainer.net,
            view=view,
            device=device,
            batch_size=config.eval_batch_size,
            workers=config.workers,
        )
        metrics = evaluate_dataset(data.evaluation, embed, ks)
        log.append({"kind": "eval", "step": step, **metrics})
        logger.info("step %d: %s", step, _format_metrics(metrics))
        progress.evaluated(step, metrics)
        return metrics

    if world.is_main:
        progress.started(
            {
                "steps": num_steps,
                "step": trainer.step,
                "train_photos": len(data.train),
                "train_labels": data.train.num_classes,
                "held_out_photos": data.held_out_photos(),
                "device": device.type,
                "run_dir": str(run_dir),
            }
        )
    if resume:
        logger.info("resumed %s at step %d of %d", run_dir, trainer.step, num_steps)
    else:
        logger.info(
            "%s: %d photos of %d labels to train on, %d steps",
            data.name,
            len(data.train),
            data.train.num_classes,
            num_steps,
        )
        history["before"] = evaluate_now(0)

    window: list[dict[str, float]] = []
    session_seconds = 0.0

    def on_step(step: int, metrics: dict[str, float]) -> None:
        nonlocal session_seconds
        session_seconds += metrics["step_seconds"]
        window.append(metrics)
        if world.is_main and (step % config.log_every == 0 or step == num_steps):
            log.append({"kind": "train", "step": step, **_mean(window)})
            window.clear()
        if world.is_main:
            progress.stepped(step, num_steps, metrics)
        evaluation_due = config.eval_every and step % config.eval_every == 0 and step < num_steps
        if evaluation_due and not stop.requested:
            evaluate_now(step)
        stopping = stop.requested  # read once: a later request waits for the next step
        periodic = config.checkpoint_every and step % config.checkpoint_every == 0
        if (periodic or step == num_steps or stopping) and world.is_main:
            state = trainer.state_dict()
            state["history"] = {**history, "seconds": history["seconds"] + session_seconds}
            state["config"] = config.to_dict()
            checkpoint.save(state)
        if stopping:
            raise KeyboardInterrupt

    loader = DataLoader(
        TrainViews(data.train, trainer.net.input_spec()),
        batch_sampler=sampler,
        num_workers=config.workers,
        pin_memory=device.type == "cuda",
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with stop.deferred():
        throughput = train(trainer, loader, on_step=on_step)
    throughput["peak_memory_bytes"] = (
        torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    )
    history["seconds"] += session_seconds
    distributed.barrier(world)
    if not world.is_main:
        return {}
    after = evaluate_now(num_steps) if history["before"] is not None else None
    return _finish(config, run_dir, data, trainer, history, after, throughput, log, view)


def _build_trainer(
    config: FinetuneConfig,
    num_steps: int,
    device: torch.device,
    world: distributed.World,
    resume: bool,
) -> Trainer:
    """The network with its starting weights (seeded alike on every rank) and its trainer.

    A resumed run takes its weights from the checkpoint, so none are loaded here.
    """
    torch.manual_seed(config.seed)
    net = create_descriptor_net(
        config.model_config(),
        pretrained=config.pretrained and not resume,
        weights_file=None if resume else config.weights,
    )
    return Trainer(net, config, num_steps=num_steps, device=device, world=world)


def _finish(
    config: FinetuneConfig,
    run_dir: Path,
    data: TrainingData,
    trainer: Trainer,
    history: dict[str, Any],
    after: dict[str, float] | None,
    throughput: dict[str, Any],
    log: MetricsLog,
    view: EvalView,
) -> dict[str, Any]:
    """Export the model with its training summary, then write report.json and curves.png.

    The model is exported with the recipe's preprocessing, the scale it was trained at.
    """
    metrics = {"before": history["before"], "after": after}
    spec = recipe_spec(trainer.net.input_spec())
    info = export_onnx(
        trainer.net,
        run_dir / MODEL_FILE,
        name=f"{config.arch} fine-tuned on {data.name}",
        training=_training_summary(config, data, trainer.num_steps, metrics),
        check_images=_check_images(data, spec),
        spec=spec,
    )
    records = log.records()
    report = {
        "data": data.summary(),
        "before": history["before"],
        "after": after,
        "preprocessing": view.describe(),
        "training": {
            "steps": trainer.num_steps,
            "seconds": history["seconds"],
            "images_per_s": throughput["images_per_s"] if throughput["steps"] else None,
            "peak_memory_bytes": throughput["peak_memory_bytes"],
            "last": next((r for r in reversed(records) if r["kind"] == "train"), None),
        },
        "model": {
            "onnx": MODEL_FILE,
            "name": info.name,
            "architecture": info.architecture,
            "descriptor_dim": info.descriptor_dim,
            "input_size": info.input_spec.input_size,
            "content_hash": info.content_hash,
        },
        "config": CONFIG_FILE,
    }
    write_report(run_dir, report)
    plot_curves(records, run_dir / CURVES_FILE)
    return report


def _training_summary(
    config: FinetuneConfig, data: TrainingData, num_steps: int, metrics: dict[str, Any]
) -> dict[str, Any]:
    """What the ONNX metadata says about how the model was trained."""
    terms = ["contrastive"] + (["xbm"] if config.xbm else []) + (["koleo"] if config.koleo else [])
    if config.weights:
        weights = f"weights {Path(config.weights).name}"
    else:
        weights = "pretrained" if config.pretrained else "random init"
    return {
        "dataset": data.name,
        "train_photos": len(data.train),
        "train_classes": data.train.num_classes,
        "loss": " + ".join(terms),
        "margin": config.margin,
        "koleo": config.koleo,
        "xbm": config.xbm,
        "xbm_warmup": config.xbm_warmup,
        "momentum": config.momentum,
        "drop_path": config.drop_path,
        "iterations": num_steps,
        "batch_size": config.batch_size,
        "m": config.m,
        "lr": config.lr,
        "weights": weights,
        "metrics": metrics,
    }


def _check_images(data: TrainingData, spec: InputSpec) -> np.ndarray | None:
    """A few real photos for the export's torch/onnxruntime parity check."""
    source = data.evaluation.query if isinstance(data.evaluation, QueryGallery) else data.evaluation
    photos = (source or data.train).paths[:EXPORT_CHECK_PHOTOS]
    return np.stack([EvalView(spec).load(path) for path in photos]) if photos else None


def _mean(window: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([m[key] for m in window])) for key in window[-1]}


def _format_metrics(metrics: dict[str, float]) -> str:
    return ", ".join(
        f"{key} {value:.4f}" if isinstance(value, float) else f"{key} {value}"
        for key, value in metrics.items()
    )
