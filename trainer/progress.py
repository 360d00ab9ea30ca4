"""What a fine-tuning run tells whoever watches it: a person at a terminal, or a program.

`finetune` reports the start, each evaluation and each step; the command line reports how
the run ended. `ProgressBar` draws a tqdm bar and prints a summary (the default);
`JsonLines` prints one JSON object per line on stdout, for the app that runs the trainer
as a process and shows its progress in its window.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any


class Progress:
    """Says nothing: the default of `finetune`, and the torchrun ranks other than 0."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def started(self, info: dict[str, Any]) -> None:
        """The run starts at step `info["step"]` of `info["steps"]` (0 unless resumed)."""

    def evaluated(self, step: int, metrics: dict[str, Any]) -> None:
        """The held-out set was measured at `step`: before (0), during and after training."""

    def stepped(self, step: int, steps: int, metrics: dict[str, float]) -> None:
        """Step `step` of `steps` is done; `metrics` has its loss and `step_seconds`."""

    def finished(self, run_dir: Path, report: dict[str, Any]) -> None:
        """The run is complete; `report` is report.json's contents."""

    def stopped(self, run_dir: Path, step: int | None) -> None:
        """The run was interrupted; its checkpoint holds `step` (None: it has none)."""

    def failed(self, message: str) -> None:
        """The run failed with `message`."""


class ProgressBar(Progress):
    """The terminal's view: a bar of steps with the loss and the time left (on stderr), the
    log lines kept above it, and the before/after metrics on stdout at the end."""

    def __init__(self) -> None:
        self.bar = None
        self.log_lines = contextlib.ExitStack()

    def __enter__(self) -> ProgressBar:
        from tqdm.contrib.logging import logging_redirect_tqdm

        self.log_lines.enter_context(logging_redirect_tqdm(loggers=[logging.getLogger("trainer")]))
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()
        self.log_lines.close()

    def stepped(self, step: int, steps: int, metrics: dict[str, float]) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=steps, initial=step - 1, unit="step", dynamic_ncols=True)
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)

    def finished(self, run_dir: Path, report: dict[str, Any]) -> None:
        print(f"wrote {run_dir}: model.onnx, report.json, curves.png, metrics.jsonl")
        for when in ("before", "after"):
            if report[when]:
                print(f"{when:>6}: {format_metrics(report[when])}")

    def stopped(self, run_dir: Path, step: int | None) -> None:
        if step is None:
            message = f"interrupted before the first checkpoint: start again with --out {run_dir}"
        else:
            message = f"interrupted: continue with --resume {run_dir} (from step {step})"
        print(message, file=sys.stderr)


class JsonLines(Progress):
    """One JSON object per line on stdout, flushed at once, and nothing else there; the
    `event` key says which:

    - start: steps, step (where it starts), train_photos, train_labels, held_out_photos,
      device ("cpu" or "cuda"), run_dir
    - eval: step, metrics (before training at step 0, every --eval-every steps, after)
    - step: step, steps, loss, seconds_left (from the mean step time so far)
    - done: report (report.json's contents)
    - stopped: step (the checkpoint's, where --resume continues; null: none), run_dir
    - error: message
    """

    def __init__(self) -> None:
        self.step_seconds = 0.0
        self.steps_timed = 0

    def started(self, info: dict[str, Any]) -> None:
        self._emit({"event": "start", **info})

    def evaluated(self, step: int, metrics: dict[str, Any]) -> None:
        self._emit({"event": "eval", "step": step, "metrics": metrics})

    def stepped(self, step: int, steps: int, metrics: dict[str, float]) -> None:
        self.step_seconds += metrics["step_seconds"]
        self.steps_timed += 1
        seconds_left = self.step_seconds / self.steps_timed * (steps - step)
        self._emit(
            {
                "event": "step",
                "step": step,
                "steps": steps,
                "loss": metrics["loss"],
                "seconds_left": round(seconds_left, 1),
            }
        )

    def finished(self, run_dir: Path, report: dict[str, Any]) -> None:
        self._emit({"event": "done", "report": report})

    def stopped(self, run_dir: Path, step: int | None) -> None:
        self._emit({"event": "stopped", "step": step, "run_dir": str(run_dir)})

    def failed(self, message: str) -> None:
        self._emit({"event": "error", "message": message})

    @staticmethod
    def _emit(event: dict[str, Any]) -> None:
        print(json.dumps(event), flush=True)


def format_metrics(metrics: dict[str, Any]) -> str:
    """`recall@1 71.2%, ...`: fractions as percentages, counts as they are."""
    return ", ".join(
        f"{key} {100 * value:.2f}%" if isinstance(value, float) else f"{key} {value}"
        for key, value in metrics.items()
    )
