"""Train on my labels: what will be trained, the training as it goes, and the model it made.

Before: the labels and their photos (`Library.training_set`), what is left out and why, the
share of labels held out to measure the model, the model training starts from, the
iterations and the device, and the exact command. While training: a progress bar, the loss
and time left, and the loss curve. After: held-out Recall@1 and MAP@R before and after,
"Use this model" (added and activated as the Models dialog does: the library re-indexes in
the background while the old model answers), then "Compare" the current query with the old
and the new model. The dialog only shows and asks; the training controller does the work.
"""

from __future__ import annotations

import html
import os
import shlex

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import text
from desktop.core.catalog import ModelRecord
from desktop.core.labels import MIN_TRAINING_PHOTOS
from desktop.core.paths import display_path
from desktop.core.training_plan import (
    DEFAULT_HELD_OUT,
    DEFAULT_ITERATIONS,
    INSTALL_HINT,
    MIN_MEASURED_LABELS,
    MIN_TRAINED_LABELS,
    TrainingOptions,
    TrainingPlan,
)
from desktop.ui.comparison_dialog import ComparisonDialog
from desktop.ui.controllers.models import ModelsController
from desktop.ui.controllers.search import SearchController
from desktop.ui.controllers.training import ComparedModel, TrainerCheck, TrainingController
from desktop.ui.loss_curve import LossCurve
from desktop.ui.thumbnails import ThumbnailProvider

SHOWN_NAMES = 3
"""Left-out labels or photos named in a warning; the rest are counted."""
WARNING = "color:#b36b00"
ERROR = "color:#c33"


class TrainingDialog(QDialog):
    def __init__(
        self,
        training: TrainingController,
        models: ModelsController,
        search: SearchController,
        thumbnails: ThumbnailProvider,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.training, self.models, self.search = training, models, search
        self.plan: TrainingPlan | None = None
        self.check: TrainerCheck | None = None
        self.report: dict | None = None
        self.new_model: ModelRecord | None = None
        self.metrics: dict[str, dict] = {}
        """'before' and 'after' figures as the trainer measures them."""
        self._adding = False
        self.comparison = ComparisonDialog(thumbnails, self)
        self.setWindowTitle("Train on my labels")
        self.resize(780, 760)
        layout = QVBoxLayout(self)
        layout.addWidget(self._what_box())
        layout.addWidget(self._how_box())
        layout.addWidget(self._progress_box())
        self.message = _label(self)
        layout.addWidget(self.message)
        layout.addLayout(self._buttons())
        self._connect()

    # layout --------------------------------------------------------------------------------

    def _what_box(self) -> QGroupBox:
        box = QGroupBox("What will be trained", self)
        self.summary = _label(box, "Reading your labels…")
        self.table = QTableWidget(0, 2, box)
        self.table.setHorizontalHeaderLabels(("Label", "Photos"))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMaximumHeight(120)
        self.warnings = _label(box)
        self.split = _label(box)
        layout = QVBoxLayout(box)
        for widget in (self.summary, self.table, self.warnings, self.split):
            layout.addWidget(widget)
        return box

    def _how_box(self) -> QGroupBox:
        box = QGroupBox("How", self)
        self.start_model = _label(box, "…")
        self.iterations = QSpinBox(box)
        self.iterations.setRange(1, 1_000_000)
        self.iterations.setSingleStep(100)
        self.iterations.setValue(DEFAULT_ITERATIONS)
        self.held_out = QSpinBox(box)
        self.held_out.setRange(10, 90)
        self.held_out.setSingleStep(10)
        self.held_out.setSuffix(" % of the labels")
        self.held_out.setValue(round(100 * DEFAULT_HELD_OUT))
        self.device = _label(box, "Looking for a GPU…")
        self.trainer_message = _label(box)
        self.trainer_message.hide()
        self.command = QPlainTextEdit(box)
        self.command.setReadOnly(True)
        self.command.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
        self.command.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.command.setFixedHeight(4 * self.command.fontMetrics().lineSpacing() + 8)
        form = QFormLayout(box)
        form.addRow("Starts from:", self.start_model)
        form.addRow("Iterations:", self.iterations)
        form.addRow("Held out to measure:", self.held_out)
        form.addRow("Device:", self.device)
        form.addRow(self.trainer_message)
        form.addRow("Command:", self.command)
        return box

    def _progress_box(self) -> QGroupBox:
        box = QGroupBox("Training", self)
        self.progress = QProgressBar(box)
        self.progress.setFormat("step %v of %m")
        self.progress_text = _label(box, "Not started.")
        self.curve = LossCurve(box)
        self.results = _label(box)
        self.results.setWordWrap(False)
        beside = QHBoxLayout()
        beside.addWidget(self.curve, 1)
        beside.addWidget(self.results)
        layout = QVBoxLayout(box)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_text)
        layout.addLayout(beside)
        return box

    def _buttons(self) -> QHBoxLayout:
        self.train_button = QPushButton("Train", self)
        self.train_button.setDefault(True)
        self.stop_button = QPushButton("Stop", self)
        self.resume_button = QPushButton("Resume", self)
        self.use_button = QPushButton("Use this model", self)
        self.compare_button = QPushButton("Compare…", self)
        close = QPushButton("Close", self)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.stop_button, self.resume_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.use_button, self.compare_button, close):
            buttons.addWidget(button)
        self.train_button.clicked.connect(self.train)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.use_button.clicked.connect(self.use_model)
        self.compare_button.clicked.connect(self.compare)
        close.clicked.connect(self.reject)
        return buttons

    def _connect(self) -> None:
        training = self.training
        training.planned.connect(self._planned)
        training.plan_failed.connect(self._show_error)
        training.checked.connect(self._checked)
        training.started.connect(self._started)
        training.step.connect(self._step)
        training.evaluated.connect(self._evaluated)
        training.finished.connect(self._finished)
        training.stopped.connect(self._stopped)
        training.failed.connect(self._failed)
        training.compared.connect(self._compared)
        training.compare_failed.connect(self._show_error)
        self.models.added.connect(self._added)
        self.models.failed.connect(self._not_added)
        self.iterations.valueChanged.connect(self._update)
        self.held_out.valueChanged.connect(self._update)

    # opening -------------------------------------------------------------------------------

    def present(self) -> None:
        """Show the dialog with the labels as they are now (unless a run is going on), and
        ask the trainer whether it can run, and on what."""
        if not self.training.running:
            self.plan = None
            self.training.load_plan()
        if self.check is None or not self.check.ready:
            self.check = None
            self.training.check_trainer()
        self._update()
        self.show()
        self.raise_()
        self.activateWindow()

    def _planned(self, plan: TrainingPlan) -> None:
        self.plan = plan
        counts = plan.training_set.counts()
        self.table.setRowCount(len(counts))
        for row, (label, count) in enumerate(counts.items()):
            self.table.setItem(row, 0, QTableWidgetItem(display_path(label)))
            self.table.setItem(row, 1, QTableWidgetItem(f"{count:,}"))
        photos = sum(counts.values())
        self.summary.setText(
            f"{photos:,} photos under {len(counts)} labels."
            if counts
            else "No labels to train on yet: label photos first "
            f"({MIN_TRAINED_LABELS} labels or more, {MIN_TRAINING_PHOTOS} photos each)."
        )
        self.warnings.setText(_warnings(plan))
        self.start_model.setText(_starting_point(plan, self.training.network_arguments))
        self._update()

    def _checked(self, check: TrainerCheck) -> None:
        self.check = check
        if check.ready:
            self.device.setText("GPU (CUDA)" if check.gpu else "CPU: no GPU found, so it is slow")
            self.trainer_message.hide()
        else:
            self.device.setText("—")
            self.trainer_message.setText(_not_ready(check, self.training.python))
            self.trainer_message.show()
        self._update()

    def _options(self) -> TrainingOptions:
        share = self.held_out.value() / 100
        measured = self.plan is not None and self.plan.held_out(share) > 0
        device = "auto" if self.check is None else ("cuda" if self.check.gpu else "cpu")
        return TrainingOptions(self.iterations.value(), share if measured else 0.0, device)

    def _update(self) -> None:
        """Buttons, the split and the command, from the plan, the check and the run."""
        plan, check, running = self.plan, self.check, self.training.running
        if plan is not None and not running:  # while running, what it runs stays shown
            self.split.setText(_split(plan, self.held_out.value() / 100))
            run_dir = self.training.next_run_dir()
            command = self.training.command(plan.start, self._options(), run_dir)
            self.command.setPlainText(display_path(shlex.join(command)))
        ready = plan is not None and plan.trainable and check is not None and check.ready
        self.train_button.setEnabled(ready and not running)
        self.iterations.setEnabled(not running)
        self.held_out.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.resume_button.setVisible(self.training.resumable and not running)
        self.use_button.setVisible(self.report is not None)
        self.use_button.setEnabled(self.new_model is None and not self._adding)
        self.compare_button.setVisible(self.new_model is not None)

    # training ------------------------------------------------------------------------------

    def train(self) -> None:
        if self.plan is None:
            return
        self.report, self.new_model, self.metrics = None, None, {}
        self.results.clear()
        self.curve.reset(self.iterations.value())
        self.progress.setRange(0, self.iterations.value())
        self.progress.setValue(0)
        self.progress_text.setText("Preparing…")
        self.message.clear()
        self.training.start(self.plan.start, self._options())
        self._update()

    def stop(self) -> None:
        self.training.stop()
        self.progress_text.setText("Stopping after this step, and saving…")
        self.stop_button.setEnabled(False)

    def resume(self) -> None:
        self.message.clear()
        self.progress_text.setText("Resuming…")
        self.training.resume()
        self._update()

    def _started(self, event: dict) -> None:
        steps, at = event["steps"], event["step"]
        self.progress.setRange(0, steps)
        self.progress.setValue(at)
        if self.curve.steps != steps:
            self.curve.reset(steps)
        device = "GPU" if event.get("device") == "cuda" else "CPU"
        held_out = event.get("held_out_photos") or 0
        if at:
            then = f"; resuming at step {at:,}…"
        elif held_out:
            then = f"; first measuring the starting model on {held_out:,} held-out photos…"
        else:
            then = "…"
        self.progress_text.setText(
            f"Training on {event.get('train_photos', '?')} photos of "
            f"{event.get('train_labels', '?')} labels on the {device}{then}"
        )

    def _step(self, step: int, steps: int, loss: float, seconds_left: float | None) -> None:
        self.progress.setRange(0, steps)
        self.progress.setValue(step)
        self.curve.add(step, loss)
        last = " · measuring the trained model and exporting it…" if step == steps else ""
        self.progress_text.setText(
            " · ".join(
                part
                for part in (
                    f"Step {step:,} of {steps:,}",
                    f"loss {loss:.4f}",
                    text.time_left(seconds_left),
                )
                if part
            )
            + last
        )

    def _evaluated(self, step: int, metrics: dict) -> None:
        self.metrics["before" if step == 0 else "after"] = metrics
        self.results.setText(_figures(self.metrics.get("before"), self.metrics.get("after")))

    def _finished(self, report: dict) -> None:
        self.report = report
        self.progress.setValue(self.progress.maximum())
        self.progress_text.setText(
            f"Done: the model is in {display_path(str(self.training.run_dir))}."
        )
        self.results.setText(_figures(report.get("before"), report.get("after")))
        self._update()

    def _stopped(self, run_dir) -> None:
        self.progress_text.setText(
            f"Stopped at step {self.progress.value():,}. Resume continues from there."
        )
        self._update()

    def _failed(self, message: str) -> None:
        self.progress_text.setText("Training did not finish.")
        self._show_error(message)
        self._update()

    # after training ------------------------------------------------------------------------

    def use_model(self) -> None:
        """Add the trained model and make it the active one, as the Models dialog does."""
        self._adding = True
        self.message.setText("Checking and adding the model…")
        self.models.add_file(str(self.training.model_file), activate=True)
        self._update()

    def _added(self, record: ModelRecord, active: bool) -> None:
        model = (self.report or {}).get("model", {})
        if not self._adding or record.content_hash != model.get("content_hash"):
            return  # another model added elsewhere (the Models dialog)
        self._adding, self.new_model = False, record
        old = self.plan.serving.name if self.plan and self.plan.serving else "the old model"
        self.message.setText(
            f"Added and activated {html.escape(record.name)}: your photos are being indexed "
            f"with it in the background; searches use {html.escape(old)} until that is done. "
            "Compare shows the current search with both."
        )
        self._update()

    def _not_added(self, reason: str) -> None:
        if self._adding:
            self._adding = False
            self._show_error(reason)
            self._update()

    def compare(self) -> None:
        query = self.search.shown_query
        if query.empty:
            self.message.setText("Search for something first (open, paste or drop a photo).")
            return
        if self.new_model is None:
            return
        old = self.plan.serving if self.plan is not None else None
        ids = [model.id for model in (old, self.new_model) if model is not None]
        self.message.setText("Comparing…")
        self.training.compare(query, list(dict.fromkeys(ids)), self.search.top)

    def _compared(self, compared: list[ComparedModel]) -> None:
        self.message.clear()
        roles = ["Before training", "After training"][-len(compared) :]
        self.comparison.show_comparison(
            "The current search with the model that answered before and the one trained on "
            "your labels, each over the photos it has indexed so far.",
            compared,
            roles,
        )
        self.comparison.show()
        self.comparison.raise_()

    def _show_error(self, message: str) -> None:
        escaped = html.escape(display_path(message)).replace("\n", "<br>")
        self.message.setText(f"<span style='{ERROR}'>{escaped}</span>")

    # closing -------------------------------------------------------------------------------

    def reject(self) -> None:
        """Closing while training asks first; a run stopped this way can be resumed."""
        if self.training.running:
            answer = QMessageBox.question(
                self,
                "Stop training?",
                "Training is still running. Stop it and close? "
                "It saves where it is, and Resume continues it later.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.stop()
        super().reject()


def _label(parent: QWidget, initial: str = "") -> QLabel:
    label = QLabel(initial, parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _names(names: list[str]) -> str:
    shown = ", ".join(html.escape(display_path(n)) for n in names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return shown + (f" and {more:,} more" if more > 0 else "")


def _warnings(plan: TrainingPlan) -> str:
    """Labels and photos left out of training, and why."""
    parts = []
    too_few = plan.training_set.too_few
    if too_few:
        labels = [f"{name} ({count})" for name, count in too_few.items()]
        parts.append(
            f"Left out: {len(too_few)} label{'s' if len(too_few) > 1 else ''} with fewer than "
            f"{MIN_TRAINING_PHOTOS} photos: {_names(labels)}."
        )
    ambiguous = plan.training_set.ambiguous
    if ambiguous:
        files = [os.path.basename(path) for path in ambiguous]
        parts.append(
            f"Left out: {len(ambiguous)} photo{'s' if len(ambiguous) > 1 else ''} under "
            f"several labels (a photo trains under one): {_names(files)}."
        )
    return "<br>".join(f"<span style='{WARNING}'>{part}</span>" for part in parts)


def _split(plan: TrainingPlan, share: float) -> str:
    if not plan.trainable:
        return (
            f"Training needs at least {MIN_TRAINED_LABELS} labels of {MIN_TRAINING_PHOTOS} "
            "photos or more."
        )
    held = plan.held_out(share)
    if held:
        return (
            f"{held} of the {plan.labels} labels are held out: the model is measured on them "
            f"before and after training, and trains on the other {plan.labels - held}."
        )
    return (
        f"<span style='{WARNING}'>It cannot be measured: that needs {MIN_MEASURED_LABELS} "
        f"labels held out and {MIN_TRAINED_LABELS} to train on. It trains on all "
        f"{plan.labels} labels.</span>"
    )


def _starting_point(plan: TrainingPlan, network: list[str] | None) -> str:
    if network is not None:  # the controller was told what to train
        return f"The network set for this session: {html.escape(shlex.join(network))}."
    start = plan.start
    model = (
        f"{html.escape(start.model.name)} ({start.model.architecture}, {start.model.input_size} px)"
    )
    if start.weights is not None:
        weights = "with the weights the app downloaded for it"
    else:
        weights = (
            f"<span style='{WARNING}'>its weights are not downloaded, so the trainer downloads "
            "timm's pretrained weights, which needs the internet</span>"
        )
    if start.active:
        return f"{model}, the active model, {weights}."
    return (
        f"{model}: the active model was not made from one of the app's models, so training "
        f"starts from the app's default; {weights}."
    )


def _not_ready(check: TrainerCheck, python: str) -> str:
    if check.missing is not None:
        return (
            f"<span style='{ERROR}'>The trainer is not installed for {html.escape(python)} "
            f"(no module named {html.escape(check.missing)}).</span> To train, "
            f"{html.escape(INSTALL_HINT)}. This is the command it would run:"
        )
    return (
        f"<span style='{ERROR}'>The trainer cannot start:</span> "
        f"{html.escape(check.problem).replace(chr(10), '<br>')}"
    )


def _figures(before: dict | None, after: dict | None) -> str:
    """Held-out Recall@1 and MAP@R, before and after, as a small table."""
    if before is None and after is None:
        return "Not measured: no labels were held out."

    def cell(metrics: dict | None, key: str) -> str:
        value = (metrics or {}).get(key)
        return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "…"

    rows = "".join(
        f"<tr><td>{name}</td><td align='right'>{cell(before, key)}</td>"
        f"<td align='right'>{cell(after, key)}</td></tr>"
        for name, key in (("Recall@1", "recall@1"), ("MAP@R", "map@r"))
    )
    return (
        "<table cellspacing='6'><tr><th align='left'>Held-out labels</th><th>Before</th>"
        f"<th>After</th></tr>{rows}</table>"
    )
