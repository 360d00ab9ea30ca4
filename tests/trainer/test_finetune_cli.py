"""`finetune` as the app runs it: on a labels manifest, with JSON progress on stdout, stopped by
a signal and resumed."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO_ROOT
from trainer import cli
from trainer.report import MetricsLog

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


def start_finetune(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trainer.cli", "finetune", *arguments],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )


def default_signals() -> None:
    """The child's SIGINT and SIGTERM as a terminal or the app leaves them: a test run started
    in the background by a shell without job control ignores SIGINT, and a child inherits
    that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def killed_after(process: subprocess.Popen, seconds: float):
    """Kill `process` if it is still running after `seconds`, so a hung child fails the test
    (its stdout ends) instead of blocking it."""
    timer = threading.Timer(seconds, process.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()


def saved_step(run_dir: Path) -> int:
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)["step"]


@pytest.mark.skipif(os.name != "posix", reason="the app stops the trainer with SIGTERM on POSIX")
def test_sigterm_stops_after_the_step_with_its_checkpoint_and_the_run_resumes(manifest, tmp_path):
    run_dir = tmp_path / "run"
    process = start_finetune(
        "--labels", str(manifest), "--out", str(run_dir), *TINY_ARGS,
        "--iterations", "10000", "--progress", "json",
    )  # fmt: skip
    with killed_after(process, 180):
        lines = []
        for line in process.stdout:
            lines.append(line)
            if json.loads(line)["event"] == "step":
                break
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "Traceback" not in err
    events = [json.loads(line) for line in [*lines, *out.splitlines()]]
    stopped = events[-1]
    assert stopped == {"event": "stopped", "step": stopped["step"], "run_dir": str(run_dir)}
    assert events[-2] == {**events[-2], "event": "step", "step": stopped["step"]}
    step = stopped["step"]
    assert 1 <= step < 10000 and saved_step(run_dir) == step  # no periodic checkpoint before 500
    assert not (run_dir / "report.json").exists()

    fewer = str(step - 1)
    status, events = run_cli("--resume", str(run_dir), "--iterations", fewer, "--progress", "json")
    message = f"{run_dir} is at step {step}, past the {step - 1} steps asked for"
    assert status == 2 and events == [{"event": "error", "message": message}]
    more = str(step + 2)  # a resumed run trains up to --iterations, here 2 more steps
    status, events = run_cli("--resume", str(run_dir), "--iterations", more, "--progress", "json")
    assert status == 0
    start = events[0]
    assert (start["event"], start["step"], start["steps"]) == ("start", step, step + 2)
    assert [e["step"] for e in events if e["event"] == "step"] == [step + 1, step + 2]
    assert events[-1]["event"] == "done" and saved_step(run_dir) == step + 2
    train_steps = [r["step"] for r in MetricsLog(run_dir).records() if r["kind"] == "train"]
    assert train_steps == list(range(1, step + 3))  # continued from the step reached, once each
    assert json.loads((run_dir / "config.json").read_text())["iterations"] == step + 2


@pytest.mark.skipif(os.name != "posix", reason="Ctrl-C is SIGINT on POSIX")
def test_ctrl_c_stops_after_the_step_with_its_checkpoint(manifest, tmp_path):
    run_dir = tmp_path / "run"
    process = start_finetune(
        "--labels", str(manifest), "--out", str(run_dir), *TINY_ARGS, "--iterations", "10000"
    )
    with killed_after(process, 180):
        while not [r for r in MetricsLog(run_dir).records() if r["kind"] == "train"]:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and out == ""
    step = saved_step(run_dir)
    assert err.strip().splitlines()[-1] == (
        f"interrupted: continue with --resume {run_dir} (from step {step})"
    )
    train_steps = [r["step"] for r in MetricsLog(run_dir).records() if r["kind"] == "train"]
    assert train_steps == list(range(1, step + 1))
