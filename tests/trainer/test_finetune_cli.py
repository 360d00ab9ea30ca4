"""`finetune` as the app runs it: on a labels manifest, with JSON progress on stdout."""

from __future__ import annotations

import contextlib
import io
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


def run_cli(*arguments: str) -> tuple[int, list[dict]]:
    """cli.main's exit status and its stdout, which must be JSON events and nothing else."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = cli.main(["finetune", *arguments])
    return status, [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_a_labels_manifest_trains_with_json_progress(manifest, tmp_path):
    run_dir = tmp_path / "run"
    status, events = run_cli(
        "--labels", str(manifest), "--out", str(run_dir), *TINY_ARGS,
        "--iterations", "3", "--eval-every", "2", "--progress", "json",
    )  # fmt: skip
    assert status == 0
    kinds = [(event["event"], event.get("step")) for event in events]
    assert kinds == [
        ("start", 0), ("eval", 0), ("step", 1), ("step", 2), ("eval", 2), ("step", 3),
        ("eval", 3), ("done", None),
    ]  # fmt: skip
    assert events[0] == {
        "event": "start",
        "steps": 3,
        "step": 0,
        "train_photos": 36,  # 6 labels x 6 photos; 2 labels held out
        "train_labels": 6,
        "held_out_photos": 12,
        "device": "cpu",
        "run_dir": str(run_dir),
    }
    assert {"recall@1", "map@r"} <= set(events[1]["metrics"])
    steps = [event for event in events if event["event"] == "step"]
    assert all(event["steps"] == 3 and event["loss"] > 0 for event in steps)
    assert steps[0]["seconds_left"] > 0 and steps[-1]["seconds_left"] == 0
    report = json.loads((run_dir / "report.json").read_text())
    assert events[-1]["report"] == report
    assert report["after"] == events[-2]["metrics"]
    assert report["data"]["name"] == "labels labels.csv"
    assert [entry["path"] for entry in report["data"]["skipped"]] == [str(tmp_path / "deleted.jpg")]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["labels"] == str(manifest) and config["data_dir"] == ""


def test_a_failure_is_an_error_event_and_a_non_zero_exit(
    manifest, small_labelled, tmp_path, capsys
):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nphotos/a.jpg,dog\n", encoding="utf-8")
    out = str(tmp_path / "run")
    status, events = run_cli("--labels", str(bad), "--out", out, "--progress", "json")
    assert status == 2
    assert events == [
        {"event": "error", "message": f"{bad} line 2: photos/a.jpg is not an absolute path"}
    ]
    assert "desktop-trainer: error: " in capsys.readouterr().err
    arguments = [str(small_labelled), "--labels", str(manifest), "--out", out, "--progress", "json"]
    status, events = run_cli(*arguments)
    assert status == 2
    assert events == [{"event": "error", "message": "give DATA_DIR or --labels FILE, not both"}]
