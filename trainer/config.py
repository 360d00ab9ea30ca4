"""The fine-tuning configuration: defaults, then a saved or user file, then the command line.

The merged result is saved as `config.json` in the run folder (and read back by
`--resume`), so a run folder always says exactly how its model was trained.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.files import write_json
from trainer.model import DEFAULT_ARCH, ModelConfig

CONFIG_FILE = "config.json"
DEFAULT_WORKERS = min(4, os.cpu_count() or 1)
DATASETS = ("folder", "cub", "sop", "inshop")


@dataclass
class FinetuneConfig:
    """The paper's category-level optimisation and loss settings, for a labelled folder.

    AdamW at lr 3e-5, weight decay 5e-4, batch 64, no schedule, margin 0.5, KoLeo 0.7 are
    the paper's. Our choices where the paper is silent: m = 2 photos per label, drop path
    0.1 (DeiT's and the public reproduction's). The cross-batch memory is off by default:
    the paper sizes it to each training set, so docs/reproduce.md gives it per benchmark.
    """

    data_dir: str = ""
    labels: str | None = None
    """A labels manifest (trainer/data/manifest.py) to train on instead of `data_dir`."""
    dataset: str = "folder"
    val_classes: float = 0.5
    # model
    arch: str = DEFAULT_ARCH
    input_size: int | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    pretrained: bool = False
    weights: str | None = None
    # optimisation
    iterations: int | None = 2000
    epochs: int | None = None
    batch_size: int = 64
    m: int = 2
    drop_path: float = 0.1
    lr: float = 3e-5
    weight_decay: float = 5e-4
    warmup: int = 0
    schedule: str = "constant"
    clip_grad: float = 0.0
    # objective
    margin: float = 0.5
    koleo: float = 0.7
    xbm: int = 0
    xbm_warmup: int = 0
    momentum: float = 0.0
    # runtime
    device: str = "auto"
    amp: bool = True
    seed: int = 0
    workers: int = DEFAULT_WORKERS
    log_every: int = 10
    eval_every: int = 0
    checkpoint_every: int = 500
    eval_batch_size: int = 128
    ks: list[int] | None = None

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; expected one of {DATASETS}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"unknown schedule {self.schedule!r}; expected constant or cosine")
        if self.data_dir and self.labels:
            raise ValueError("give DATA_DIR or --labels FILE, not both")
        if self.labels and self.dataset != "folder":
            raise ValueError(
                f"--labels replaces a labelled folder, not the {self.dataset} benchmark"
            )
        if self.iterations is not None and self.epochs is not None:
            raise ValueError("give --iterations or --epochs, not both")
        if self.pretrained and self.weights:
            raise ValueError("give --pretrained or --weights, not both")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        for name in ("batch_size", "m", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if min(self.xbm, self.xbm_warmup, self.koleo, self.warmup) < 0:
            raise ValueError("xbm, xbm_warmup, koleo and warmup cannot be negative")
        if not 0.0 <= self.drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {self.drop_path}")
        if "drop_path_rate" in self.model_kwargs:
            raise ValueError("set the drop path with drop_path (--drop-path), not model_kwargs")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def model_config(self) -> ModelConfig:
        """The network this configuration trains."""
        kwargs = {"drop_path_rate": self.drop_path, **self.model_kwargs}
        return ModelConfig(self.arch, self.input_size, kwargs)


_DEFAULTS = {
    "iterations": None,
    "epochs": None,
    "pretrained": False,
    "weights": None,
    "data_dir": "",
    "labels": None,
}
_ALTERNATIVES = [
    ("data_dir", "labels"),
    ("labels", "data_dir"),
    ("iterations", "epochs"),
    ("epochs", "iterations"),
    ("pretrained", "weights"),
    ("weights", "pretrained"),
]
"""Options that exclude each other: a layer that sets one clears the other."""


def merge(*layers: dict[str, Any]) -> FinetuneConfig:
    """Defaults overridden by each layer in turn; unknown keys are an error, not ignored."""
    known = {f.name for f in dataclasses.fields(FinetuneConfig)}
    values: dict[str, Any] = {}
    for layer in layers:
        unknown = sorted(set(layer) - known)
        if unknown:
            raise ValueError(f"unknown configuration keys: {', '.join(unknown)}")
        for one, other in _ALTERNATIVES:
            if one in layer and other not in layer:
                values[other] = _DEFAULTS[other]
        values.update(layer)
    return FinetuneConfig(**values)


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"configuration file not found: {path}")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return values


def saved_run_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The configuration a run folder was trained with, for `--resume`.

    Runs saved before `drop_path` existed trained without drop path, or with timm's
    `drop_path_rate` in `model_kwargs`: both resume with the drop path they had.
    """
    values = load_config_file(Path(run_dir) / CONFIG_FILE)
    if "drop_path" not in values:
        model_kwargs = dict(values.get("model_kwargs") or {})
        values["drop_path"] = float(model_kwargs.pop("drop_path_rate", 0.0))
        values["model_kwargs"] = model_kwargs
    return values


def save_config(config: FinetuneConfig, run_dir: str | os.PathLike) -> Path:
    return write_json(Path(run_dir) / CONFIG_FILE, config.to_dict())
