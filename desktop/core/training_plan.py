"""What "Train on my labels" will do, worked out before it starts: the labels trained on and
held out, the model training starts from, and the trainer's command line.

The window shows the plan and runs the command (`python -m trainer.cli finetune`) in a
process of its own; nothing here imports torch or the trainer, so the app can say what it
would run even where the trainer is not installed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from desktop.core import model_contract as contract
from desktop.core.catalog import ModelRecord
from desktop.core.labels import TrainingSet, held_out_labels
from desktop.core.model_catalog import CatalogModel, ModelCatalog
from desktop.core.model_download import cached_weights
from desktop.core.model_provisioning import catalog_key

TRAINER_MODULE = "trainer.cli"
MANIFEST_FILE = "labels.csv"
MODEL_FILE = "model.onnx"
"""What a finished run folder holds for the app (the trainer's finetune.MODEL_FILE)."""
DEFAULT_ITERATIONS = 500
DEFAULT_HELD_OUT = 0.5
"""The share of the labels held out of training to measure the model on (`--val-classes`)."""
MIN_MEASURED_LABELS = 2
"""Held-out labels needed for Recall@1 to say anything: with one, every photo's nearest
neighbour is of its label."""
MIN_TRAINED_LABELS = 2
"""Labels a training batch needs (trainer.finetune.fit_batch_to_labels)."""
INSTALL_HINT = (
    'pip install "photo-search[train]" into the Python that runs the app, or, from a clone, '
    "`make test`, which sets up .venv with it"
)
TRAINER_PYTHON_ENV = "PHOTO_SEARCH_TRAINER_PYTHON"
"""A Python with photo-search's trainer installed, to train with from another install."""
NO_TRAINER_HINT = (
    "this installed app does not include the trainer: it needs torch, several GB. Install "
    'photo-search with it from source (pip install "photo-search[train]"), then start the '
    f"app with {TRAINER_PYTHON_ENV} set to that Python, or train from that install"
)


def trainer_python() -> str | None:
    """The Python that runs the trainer: $PHOTO_SEARCH_TRAINER_PYTHON, else the app's own.

    None in a frozen bundle: its executable is the app, which cannot run `-m trainer.cli`,
    and the bundle never holds torch.
    """
    chosen = os.environ.get(TRAINER_PYTHON_ENV)
    if chosen:
        return chosen
    return None if getattr(sys, "frozen", False) else sys.executable


@dataclass(frozen=True)
class StartingModel:
    """The network training starts from: a catalog model's architecture and its weights."""

    model: CatalogModel
    weights: Path | None
    """Its model.safetensors the app downloaded; None: timm downloads them (`--pretrained`)."""
    active: bool
    """The library's active model was made from this catalog model."""

    def arguments(self) -> list[str]:
        weights = ["--weights", str(self.weights)] if self.weights else ["--pretrained"]
        size = ["--input-size", str(self.model.input_size)]
        return ["--arch", self.model.architecture, *size, *weights]


def starting_model(active: ModelRecord | None, catalog: ModelCatalog) -> StartingModel:
    """The catalog model the active model was made from (by its catalog key, else by its
    architecture: a model fine-tuned from it); the catalog's default for any other model."""
    found = next(
        (m for m in catalog.models if active is not None and m.key == catalog_key(active)),
        None,
    ) or next(
        (
            m
            for m in catalog.models
            if active is not None
            and m.architecture == active.metadata.get(contract.KEY_ARCHITECTURE)
        ),
        None,
    )
    model = found or catalog.default
    return StartingModel(model, cached_weights(model), active=found is not None)


@dataclass(frozen=True)
class TrainingPlan:
    """The library's labels as a training set, the starting model, and the model that
    answers searches now (to compare the new one with)."""

    training_set: TrainingSet
    start: StartingModel
    serving: ModelRecord | None

    @property
    def labels(self) -> int:
        return len(self.training_set.counts())

    @property
    def trainable(self) -> bool:
        return self.labels >= MIN_TRAINED_LABELS

    def held_out(self, share: float) -> int:
        """Labels held out to measure on at this share, as the trainer splits them; 0 when
        too few would be left on either side to measure (all labels are trained on then)."""
        held = held_out_labels(share, self.labels)
        if held < MIN_MEASURED_LABELS or self.labels - held < MIN_TRAINED_LABELS:
            return 0
        return held


@dataclass(frozen=True)
class TrainingOptions:
    """What the user chose in the dialog."""

    iterations: int = DEFAULT_ITERATIONS
    held_out: float = DEFAULT_HELD_OUT
    """The share of labels held out; 0: all are trained on and nothing is measured."""
    device: str = "auto"


def finetune_arguments(
    run_dir: str | os.PathLike, network: list[str], options: TrainingOptions
) -> list[str]:
    """The interpreter's arguments that train the network (`StartingModel.arguments`) on the
    run folder's manifest, into the folder."""
    run_dir = Path(run_dir)
    return [
        "-m",
        TRAINER_MODULE,
        "finetune",
        "--labels",
        str(run_dir / MANIFEST_FILE),
        "--out",
        str(run_dir),
        "--progress",
        "json",
        *network,
        "--iterations",
        str(options.iterations),
        "--val-classes",
        f"{options.held_out:g}",
        "--device",
        options.device,
    ]


def resume_arguments(run_dir: str | os.PathLike) -> list[str]:
    """The interpreter's arguments that continue a stopped run (its settings are saved)."""
    return ["-m", TRAINER_MODULE, "finetune", "--resume", str(run_dir), "--progress", "json"]
