"""The plan the training dialog shows: which model training starts from (and whether its
weights are here or need the internet), how many labels are held out, the trainer's command."""

from __future__ import annotations

import dataclasses
import json
import sys

import pytest

from desktop.core import model_contract as contract
from desktop.core.catalog import ModelRecord
from desktop.core.labels import TrainingSet
from desktop.core.model_catalog import WEIGHTS_FILE, load_catalog
from desktop.core.training_plan import (
    TRAINER_PYTHON_ENV,
    TrainingOptions,
    TrainingPlan,
    finetune_arguments,
    resume_arguments,
    starting_model,
    trainer_python,
)

DEIT = "deit_small_patch16_224.fb_in1k"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def cache_weights(cache, repo: str) -> str:
    """model.safetensors in huggingface_hub's cache layout, as a download leaves it."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)
    weights = folder / "snapshots" / COMMIT / WEIGHTS_FILE
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"weights")
    return str(weights)


def record(metadata: dict[str, str]) -> ModelRecord:
    return ModelRecord(1, "hash", "a model", "/models/a.onnx", 384, metadata)


def made_from(key: str) -> ModelRecord:
    return record({contract.KEY_TRAINING: json.dumps({"catalog_key": key})})


def test_a_catalog_model_starts_from_its_downloaded_weights(hub_cache):
    catalog = load_catalog()
    deit = catalog.get(DEIT)
    weights = cache_weights(hub_cache, deit.repo)

    start = starting_model(made_from(DEIT), catalog)

    assert start.model == deit and start.active
    assert str(start.weights) == weights
    assert start.arguments() == [
        "--arch",
        "deit_small_patch16_224",
        "--input-size",
        "224",
        "--weights",
        weights,
    ]


def test_without_downloaded_weights_the_trainer_gets_pretrained_ones(hub_cache):
    start = starting_model(made_from(DEIT), load_catalog())
    assert start.weights is None
    assert start.arguments()[-1] == "--pretrained"


def test_a_fine_tuned_model_starts_from_the_catalog_model_of_its_architecture(hub_cache):
    fine_tuned = record({contract.KEY_ARCHITECTURE: "deit_small_patch16_224"})
    start = starting_model(fine_tuned, load_catalog())
    assert start.model.key == DEIT and start.active


def test_any_other_model_starts_from_the_catalog_default(hub_cache):
    catalog = load_catalog()
    for active in (record({contract.KEY_ARCHITECTURE: "pixel-projection"}), None):
        start = starting_model(active, catalog)
        assert start.model == catalog.default and not start.active


@pytest.mark.parametrize(
    ("labels", "share", "held_out"),
    [
        (4, 0.5, 2),
        (10, 0.3, 3),
        (3, 0.5, 0),  # round(1.5) = 2 held out would leave 1 to train on
        (10, 0.1, 0),  # 1 held out says nothing
        (2, 0.5, 0),
        (0, 0.5, 0),
    ],
)
def test_labels_are_held_out_to_measure_only_when_enough_remain(labels, share, held_out):
    rows = [(f"/photos/{n}-{i}.jpg", f"label {n}") for n in range(labels) for i in range(4)]
    plan = TrainingPlan(TrainingSet(rows), starting_model(None, load_catalog()), None)
    assert plan.held_out(share) == held_out
    assert plan.trainable == (labels >= 2)


def test_the_command_trains_on_the_run_folders_manifest_into_it(tmp_path):
    run = tmp_path / "run"
    options = TrainingOptions(iterations=300, held_out=0.4, device="cuda")
    arguments = finetune_arguments(run, ["--arch", "x", "--pretrained"], options)
    assert arguments == [
        "-m",
        "trainer.cli",
        "finetune",
        "--labels",
        str(run / "labels.csv"),
        "--out",
        str(run),
        "--progress",
        "json",
        "--arch",
        "x",
        "--pretrained",
        "--iterations",
        "300",
        "--val-classes",
        "0.4",
        "--device",
        "cuda",
    ]
    nothing_held_out = dataclasses.replace(options, held_out=0.0)
    assert finetune_arguments(run, [], nothing_held_out)[-3] == "0"
    assert resume_arguments(run) == [
        "-m",
        "trainer.cli",
        "finetune",
        "--resume",
        str(run),
        "--progress",
        "json",
    ]


def test_the_trainer_runs_in_the_apps_python_a_chosen_one_or_none_in_a_bundle(monkeypatch):
    monkeypatch.delenv(TRAINER_PYTHON_ENV, raising=False)
    assert trainer_python() == sys.executable
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert trainer_python() is None
    monkeypatch.setenv(TRAINER_PYTHON_ENV, "/opt/train/bin/python")
    assert trainer_python() == "/opt/train/bin/python"
