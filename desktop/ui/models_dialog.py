"""The model manager: list models, add an ONNX file, choose the active one (the work runs
in the models controller's workers; the table fills when the list arrives)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from desktop import text
from desktop.core.catalog import ModelRecord
from desktop.core.status import ModelState
from desktop.ui.controllers.models import ModelsController

COLUMNS = ("Name", "Dim", "Indexed", "Pending", "State")
ModelIdRole = Qt.ItemDataRole.UserRole


class ModelsDialog(QDialog):
    get_model_requested = Signal()
    """The user asked for a pretrained model from the catalog."""

    def __init__(self, models: ModelsController, parent=None) -> None:
        super().__init__(parent)
        self.models = models
        self.setWindowTitle("Models")
        self.resize(720, 320)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.message = QLabel(
            "Activating a model builds its index in the background; searches use the current "
            "model until the new index is complete.",
            self,
        )
        self.message.setWordWrap(True)
        self.get_button = QPushButton("Get a model…", self)
        self.add_button = QPushButton("Add ONNX file…", self)
        self.activate_button = QPushButton("Activate", self)
        close = QPushButton("Close", self)
        buttons = QHBoxLayout()
        buttons.addWidget(self.get_button)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.activate_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.get_button.clicked.connect(self.get_model_requested)
        self.add_button.clicked.connect(self.choose_and_add)
        self.activate_button.clicked.connect(self.activate_selected)
        close.clicked.connect(self.accept)
        models.states.connect(self.show_states)
        models.added.connect(self._added)
        models.activated.connect(self._activated)
        models.failed.connect(self._failed)
        self.refresh()

    def refresh(self) -> None:
        self.models.load_states()

    def show_states(self, states: list[ModelState]) -> None:
        self.table.setRowCount(len(states))
        for row, state in enumerate(states):
            values = (
                state.record.name,
                str(state.record.dim),
                str(state.indexed),
                str(state.pending),
                text.model_roles(state),
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(ModelIdRole, state.record.id)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()

    def choose_and_add(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", "", "ONNX models (*.onnx)")
        if path:
            self.add(path)

    def add(self, path: str) -> None:
        self.message.setText("Checking the model…")
        self.models.add_file(path)

    def activate_selected(self) -> None:
        item = self.table.currentItem()
        if item is None:
            self.message.setText("Select a model first.")
            return
        self.models.activate(int(item.data(ModelIdRole)))

    def _added(self, model: ModelRecord, active: bool) -> None:
        then = "" if active else " Select it and press Activate to use it."
        self.message.setText(f"Added {html.escape(model.name)}.{then}")
        self.refresh()

    def _activated(self, model: ModelRecord) -> None:
        self.message.setText(f"Activated {html.escape(model.name)}: indexing in the background.")
        self.refresh()

    def _failed(self, reason: str) -> None:
        self.message.setText(f"<span style='color:#c33'>{html.escape(reason)}</span>")
