"""Training on the user's labels from the window: the trainer runs as a process of its own.

`python -m trainer.cli finetune --progress json` (same interpreter as the app, unless told
otherwise) prints one JSON object per line on stdout; this controller reads them as they
come and turns them into signals. The trainer lives in another process because it needs
torch, which the app never imports, and so a crash or a stop cannot take the window with it.
Stopping sends SIGTERM: the trainer finishes its step, saves a checkpoint and says
"stopped", and `resume` continues from there. Anything else ending the process (an error, a
crash, output that is not the protocol) is reported with the trainer's last words.

The plan (labels, starting model), the manifest and the comparison of two models on the
current query are engine work and run in the worker pool.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from desktop.core.library import Library, LibraryError
from desktop.core.model_catalog import ModelCatalog, load_catalog
from desktop.core.queries import Query
from desktop.core.search import SearchResult
from desktop.core.status import ModelState
from desktop.core.training_plan import (
    MANIFEST_FILE,
    MODEL_FILE,
    NO_TRAINER_HINT,
    StartingModel,
    TrainingOptions,
    TrainingPlan,
    finetune_arguments,
    resume_arguments,
    starting_model,
    trainer_python,
)
from desktop.ui.workers import WorkerPool, error_text

PROBE_CODE = "import torch, trainer.cli; print(torch.cuda.is_available())"
"""Run by the trainer's interpreter: can it train, and on a GPU?"""
STOP_WAIT_MS = 60_000
"""How long a stopping trainer may take to finish its step and save before it is killed."""
TAIL_LINES = 8
"""The trainer's last lines of output kept for a failure's message."""
_MISSING_MODULE = re.compile(r"No module named '([^']+)'")


class EventLines:
    """A process's stdout as JSON objects, one a line: a line the pipe delivers in pieces
    waits for its end, and a line that is not a JSON object comes back as its text."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[dict[str, Any] | str]:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return [_parse(line) for line in lines if line.strip()]

    def flush(self) -> list[dict[str, Any] | str]:
        """The last line, when the process ended without a newline after it."""
        rest, self._partial = self._partial, b""
        return [_parse(rest)] if rest.strip() else []


def _parse(line: bytes) -> dict[str, Any] | str:
    text = line.decode("utf-8", "replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) and isinstance(value.get("event"), str) else text


@dataclass(frozen=True)
class TrainerCheck:
    """Whether the trainer can run, and where."""

    ready: bool
    gpu: bool = False
    missing: str | None = None
    """The module the interpreter lacks (torch, timm, trainer): the trainer is not installed."""
    problem: str = ""
    """Why it cannot run otherwise, in the interpreter's words."""


def trainer_check(exit_code: int, stdout: str, stderr: str) -> TrainerCheck:
    """What the probe's output says (PROBE_CODE prints True or False)."""
    answer = stdout.strip().splitlines()[-1:] if stdout.strip() else []
    if exit_code == 0 and answer in (["True"], ["False"]):
        return TrainerCheck(True, gpu=answer == ["True"])
    missing = _MISSING_MODULE.search(stderr)
    if "ModuleNotFoundError" in stderr and missing:
        return TrainerCheck(False, missing=missing.group(1))
    return TrainerCheck(False, problem=_tail(stderr or stdout) or f"exit status {exit_code}")


@dataclass(frozen=True)
class ComparedModel:
    """One model's answer to the compared query."""

    state: ModelState
    """The model and how many photos it has indexed so far."""
    results: list[SearchResult]
    problem: str | None = None
    """Why it could not answer (the query photo not indexed by it yet)."""


class TrainingController(QObject):
    planned = Signal(object)
    """The TrainingPlan of the library's labels, after `load_plan`."""
    plan_failed = Signal(str)
    checked = Signal(object)
    """A TrainerCheck, after `check_trainer`."""
    started = Signal(object)
    """The trainer's start event: steps, step (where a resumed run starts), train_photos,
    train_labels, held_out_photos, device."""
    step = Signal(int, int, float, object)
    """(step, steps, loss, seconds left or None) after each training step."""
    evaluated = Signal(int, object)
    """(step, metrics) measured on the held-out labels: step 0 before training, the last
    step after."""
    finished = Signal(object)
    """The run's report (report.json); the model it made is `model_file`."""
    stopped = Signal(object)
    """The run folder of a run stopped on request with a checkpoint: `resume` continues it
    (a run stopped before its first checkpoint is `failed`)."""
    failed = Signal(str)
    """Why training did not finish, in words (the trainer's last lines included)."""
    compared = Signal(object)
    """list[ComparedModel], in the order asked, after `compare`."""
    compare_failed = Signal(str)

    def __init__(
        self,
        library: Library,
        workers: WorkerPool,
        catalog: ModelCatalog | None = None,
        parent: QObject | None = None,
        *,
        python: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.catalog = catalog or load_catalog()
        self.python = python or trainer_python()
        """The interpreter that runs the trainer (default: `trainer_python()`); None where
        there is none, as in a bundle."""
        self.network_arguments: list[str] | None = None
        """Replaces the starting model's --arch/--input-size/--weights when set (a small
        random network, for tests)."""
        self.extra_arguments: list[str] = []
        """Appended to the trainer's command line; later options win."""
        self.run_dir: Path | None = None
        """The folder of the run started last."""
        self.resumable = False
        """The last run was stopped on request and can be resumed."""
        self._preparing = False
        self._process: QProcess | None = None
        self._probe: QProcess | None = None
        self._lines = EventLines()
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._ending: tuple[str, Any] | None = None
        self._stop_requested = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    @property
    def running(self) -> bool:
        """A run is being prepared or the trainer is running."""
        return self._preparing or self._process is not None

    @property
    def model_file(self) -> Path | None:
        """The ONNX model the last run writes when it finishes."""
        return self.run_dir / MODEL_FILE if self.run_dir is not None else None

    # before training -----------------------------------------------------------------------

    def load_plan(self) -> None:
        library, catalog = self.library, self.catalog

        def plan(progress, cancel) -> TrainingPlan:
            start = starting_model(library.active_model(), catalog)
            return TrainingPlan(library.training_set(), start, library.serving_model())

        self.workers.start(
            plan,
            on_finished=self.planned.emit,
            on_error=lambda exc: self.plan_failed.emit(error_text(exc)),
        )

    def check_trainer(self) -> None:
        """Ask the trainer's interpreter whether it can train and sees a GPU (a few seconds:
        it imports torch), in a process of its own; one check at a time."""
        if self._probe is not None:
            return
        if self.python is None:
            self.checked.emit(TrainerCheck(False, problem=NO_TRAINER_HINT))
            return
        self._probe = QProcess(self)
        self._probe.finished.connect(self._probed)
        self._probe.errorOccurred.connect(self._probe_error)
        self._probe.start(self.python, ["-c", PROBE_CODE])

    def _probed(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        probe, self._probe = self._probe, None
        stdout = bytes(probe.readAllStandardOutput().data()).decode("utf-8", "replace")
        stderr = bytes(probe.readAllStandardError().data()).decode("utf-8", "replace")
        probe.deleteLater()
        self.checked.emit(trainer_check(exit_code, stdout, stderr))

    def _probe_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._probe is not None:
            probe, self._probe = self._probe, None
            problem = f"cannot run {self.python}: {probe.errorString()}"
            probe.deleteLater()
            self.checked.emit(TrainerCheck(False, problem=problem))

    def command(self, start: StartingModel, options: TrainingOptions, run_dir: Path) -> list[str]:
        """The whole command line that trains into `run_dir`."""
        network = start.arguments() if self.network_arguments is None else self.network_arguments
        arguments = finetune_arguments(run_dir, network, options)
        python = self.python or "python"  # shown for a Python that has the trainer
        return [python, *arguments, *self.extra_arguments]

    def next_run_dir(self) -> Path:
        """Where a run started now goes: the data folder's training/<date and time>."""
        return self.library.paths.data / "training" / time.strftime("%Y-%m-%d_%H-%M-%S")

    # training ------------------------------------------------------------------------------

    def start(self, start: StartingModel, options: TrainingOptions) -> None:
        """Write the labels' manifest into a new run folder (in a worker), then train."""
        if self.running:
            return
        library, run_dir = self.library, self.next_run_dir()

        def prepare(progress, cancel) -> Path:
            created = _create_unused(run_dir)
            library.training_set().write_manifest(created / MANIFEST_FILE)
            return created

        def prepared(created: Path) -> None:
            self.run_dir = created
            self._launch(self.command(start, options, created))

        self._begin(None)
        self.workers.start(
            prepare,
            on_finished=prepared,
            on_error=lambda exc: self._not_launched(f"Cannot prepare training: {error_text(exc)}"),
        )

    def resume(self) -> None:
        """Continue the run stopped last, from its checkpoint."""
        if self.running or not self.resumable or self.run_dir is None:
            return
        self._begin(self.run_dir)
        self._launch([self.python or "python", *resume_arguments(self.run_dir)])

    def stop(self) -> None:
        """Ask the trainer to stop after its current step and save (it is killed if it has
        not ended after STOP_WAIT_MS)."""
        self._stop_requested = True
        if self._process is not None and not self._kill_timer.isActive():
            self._process.terminate()
            self._kill_timer.start(STOP_WAIT_MS)

    def shutdown(self, msecs: int) -> None:
        """Stop a run and wait up to `msecs` for it to save, as the window closes."""
        process = self._process
        if process is None:
            return
        self.stop()
        if not process.waitForFinished(msecs):
            process.kill()
            process.waitForFinished(1000)

    def _begin(self, run_dir: Path | None) -> None:
        self.run_dir, self.resumable = run_dir, False
        self._preparing, self._stop_requested, self._ending = True, False, None
        self._lines = EventLines()
        self._tail.clear()

    def _not_launched(self, message: str) -> None:
        self._preparing = False
        self.failed.emit(message)

    def _launch(self, command: list[str]) -> None:
        if self._stop_requested:
            self._not_launched("Training was stopped before it started.")
            return
        if self.python is None:
            self._not_launched(f"Cannot run the trainer: {NO_TRAINER_HINT}.")
            return
        process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()  # as it is now: tests change it
        environment.insert("PYTHONUNBUFFERED", "1")
        environment.insert("PYTHONIOENCODING", "utf-8")
        process.setProcessEnvironment(environment)
        process.readyReadStandardOutput.connect(self._read_output)
        process.readyReadStandardError.connect(self._read_errors)
        process.finished.connect(self._ended)
        process.errorOccurred.connect(self._process_error)
        self._process, self._preparing = process, False
        process.start(command[0], command[1:])

    def _read_output(self) -> None:
        if self._process is not None:
            self._take(self._lines.feed(bytes(self._process.readAllStandardOutput().data())))

    def _read_errors(self) -> None:
        if self._process is not None:
            data = bytes(self._process.readAllStandardError().data())
            lines = data.decode("utf-8", "replace").replace("\r", "\n").splitlines()
            self._tail.extend(line.strip() for line in lines if line.strip())

    def _take(self, items: list[dict[str, Any] | str]) -> None:
        for item in items:
            if isinstance(item, str) or not self._handle(item):
                self._tail.append(item if isinstance(item, str) else json.dumps(item))

    def _handle(self, event: dict[str, Any]) -> bool:
        """Emit what an event says; False when it is not one this app understands."""
        kind = event["event"]
        try:
            if kind == "start":
                at = int(event.get("step", 0))
                self.started.emit({**event, "steps": int(event["steps"]), "step": at})
            elif kind == "step":
                left = event.get("seconds_left")
                self.step.emit(
                    int(event["step"]),
                    int(event["steps"]),
                    float(event["loss"]),
                    float(left) if isinstance(left, (int, float)) else None,
                )
            elif kind == "eval":
                self.evaluated.emit(int(event["step"]), dict(event["metrics"]))
            elif kind == "done":
                self._ending = ("done", dict(event["report"]))
            elif kind == "stopped":
                self._ending = ("stopped", event.get("step"))
            elif kind == "error":
                self._ending = ("error", str(event["message"]))
            else:
                return False
        except (KeyError, TypeError, ValueError):
            return False
        return True

    def _ended(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_output()
        self._read_errors()
        self._take(self._lines.flush())
        self._forget_process()
        kind, value = self._ending or (None, None)
        normal = exit_status == QProcess.ExitStatus.NormalExit
        if kind == "done" and normal and exit_code == 0:
            self.finished.emit(value)
        elif kind == "stopped" and value is not None:  # the step its checkpoint holds
            self.resumable = True
            self.stopped.emit(self.run_dir)
        elif kind == "error":
            self.failed.emit(f"Training failed: {value}")
        elif self._stop_requested:
            self.failed.emit(
                "Training was stopped before it could save where it was, so it cannot be "
                f"resumed; start it again.{self._last_words()}"
            )
        else:
            how = f"exit status {exit_code}" if normal else "it crashed or was killed"
            self.failed.emit(f"The trainer ended without finishing ({how}).{self._last_words()}")

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            reason = self._process.errorString()
            self._forget_process()
            self.failed.emit(f"Cannot run the trainer with {self.python}: {reason}")

    def _forget_process(self) -> None:
        self._kill_timer.stop()
        if self._process is not None:
            self._process.deleteLater()
            self._process = None

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()

    def _last_words(self) -> str:
        return f"\n\nThe trainer's last output:\n{chr(10).join(self._tail)}" if self._tail else ""

    # after training ------------------------------------------------------------------------

    def compare(self, query: Query, model_ids: Sequence[int], top: int) -> None:
        """Run one query with each of these models, over the photos each has indexed."""
        library, ids = self.library, list(model_ids)

        def task(progress, cancel) -> list[ComparedModel]:
            states = {state.record.id: state for state in library.model_states()}
            compared = []
            for model_id in ids:
                state = states[model_id]
                try:
                    outcome = library.run_query(query, top=top, model=state.record)
                except LibraryError as exc:
                    compared.append(ComparedModel(state, [], error_text(exc)))
                else:
                    compared.append(ComparedModel(state, outcome.results))
            return compared

        self.workers.start(
            task,
            on_finished=self.compared.emit,
            on_error=lambda exc: self.compare_failed.emit(error_text(exc)),
        )


def _create_unused(run_dir: Path) -> Path:
    """Create the run folder, or one with a number after it when a run started this second."""
    candidate, number = run_dir, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            number += 1
            candidate = run_dir.with_name(f"{run_dir.name}-{number}")


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-TAIL_LINES:])
