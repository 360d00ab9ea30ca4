"""What a run leaves behind for people: the metrics log, report.json and curves.png."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first

from trainer.files import read_json_lines, write_bytes, write_json, write_json_lines  # noqa: E402

METRICS_FILE = "metrics.jsonl"
REPORT_FILE = "report.json"
CURVES_FILE = "curves.png"
LOSS_TERMS = ("loss", "contrastive", "xbm", "koleo")


class MetricsLog:
    """`metrics.jsonl`: one JSON object per line, `kind` "train" or "eval", with its `step`."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.path = Path(run_dir) / METRICS_FILE

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, sort_keys=True) + "\n")

    def records(self) -> list[dict[str, Any]]:
        return read_json_lines(self.path)

    def clear(self) -> None:
        """Start an empty log: a new run in a folder where an earlier one stopped early."""
        write_json_lines(self.path, [])

    def keep_until(self, step: int) -> None:
        """Drop records after `step`: a resumed run rewrites what followed its checkpoint."""
        write_json_lines(self.path, [r for r in self.records() if r["step"] <= step])


def write_report(run_dir: str | os.PathLike, report: dict[str, Any]) -> Path:
    return write_json(Path(run_dir) / REPORT_FILE, report)


def plot_curves(records: list[dict[str, Any]], path: str | os.PathLike) -> Path:
    """Loss terms (left) and held-out retrieval metrics (right) against the step."""
    train = [r for r in records if r["kind"] == "train"]
    evals = [r for r in records if r["kind"] == "eval"]
    panels = 2 if evals else 1
    figure, axes = plt.subplots(1, panels, figsize=(6 * panels, 4), squeeze=False)
    loss_axis = axes[0][0]
    for term in LOSS_TERMS:
        points = [(r["step"], r[term]) for r in train if term in r]
        if points:
            steps, values = zip(*points, strict=True)
            loss_axis.plot(steps, values, label=term, linewidth=2 if term == "loss" else 1)
    loss_axis.set(title="training loss (mean over each logged interval)", xlabel="step")
    loss_axis.legend(title="loss = weighted sum of terms", loc="best")
    loss_axis.grid(alpha=0.3)
    if evals:
        eval_axis = axes[0][1]
        names = [k for k in evals[-1] if k.startswith(("recall@", "map"))]
        for name in names:
            points = [(r["step"], r[name]) for r in evals if name in r]
            steps, values = zip(*points, strict=True)
            eval_axis.plot(steps, values, marker="o", label=name)
        eval_axis.set(title="held-out retrieval", xlabel="step", ylim=(0, 1.05))
        eval_axis.legend(loc="best", fontsize="small")
        eval_axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return write_bytes(path, buffer.getvalue())
