"""`finetune` as the app runs it: on a labels manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer import cli

from .conftest import folder_rows, write_manifest

TINY_ARGS = [
    "--arch", "vit_tiny_patch16_224", "--input-size", "32", "--model-kwargs", "depth=1",
    "--batch-size", "8", "--m", "2", "--lr", "1e-3", "--val-classes", "0.25",
    "--device", "cpu", "--workers", "0", "--log-every", "1",
]  # fmt: skip


@pytest.fixture
def manifest(small_labelled, tmp_path) -> Path:
    """The small labelled folder's photos under labels that hold commas, and a photo deleted
    since it was labelled."""
    rows = [(photo, f"{label}, as labelled") for photo, label in folder_rows(small_labelled)]
    rows.append((tmp_path / "deleted.jpg", "label-000, as labelled"))
    return write_manifest(tmp_path / "labels.csv", rows)


def test_a_labels_manifest_trains_as_a_folder_does(manifest, tmp_path):
    run_dir = tmp_path / "run"
    arguments = ["--labels", str(manifest), "--out", str(run_dir), *TINY_ARGS, "--iterations", "3"]
    assert cli.main(["finetune", *arguments]) == 0
    report = json.loads((run_dir / "report.json").read_text())
    assert report["data"]["name"] == "labels labels.csv"
    assert (report["data"]["train_photos"], report["data"]["eval_photos"]) == (36, 12)
    assert [entry["path"] for entry in report["data"]["skipped"]] == [str(tmp_path / "deleted.jpg")]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["labels"] == str(manifest) and config["data_dir"] == ""


def test_a_folder_and_a_labels_manifest_together_are_refused(manifest, small_labelled, capsys):
    assert cli.main(["finetune", str(small_labelled), "--labels", str(manifest), "--out", "r"]) == 2
    assert "give DATA_DIR or --labels FILE, not both" in capsys.readouterr().err
