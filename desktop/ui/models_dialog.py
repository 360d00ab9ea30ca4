"""The model manager: list models, add an ONNX file, choose the active one."""

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
from desktop.core.descriptor_model import ModelError
from desktop.core.library import Library, LibraryError
from desktop.core.paths import display_path

COLUMNS = ("Name", "Dim", "Indexed", "Pending", "State")


class ModelsDialog(QDialog):
    activated = Signal(int)
    get_model_requested = Signal()
    """The user asked for a pretrained model from the catalog."""
    """A model was made active: its index has to be built."""

    def __init__(self, library: Library, parent=None) -> None:
        super().__init__(parent)
        self.library = library
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
        self.refresh()

    def refresh(self) -> None:
        states = self.library.model_states()
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
                item.setData(Qt.ItemDataRole.UserRole, state.record.id)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()

    def choose_and_add(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", "", "ONNX models (*.onnx)")
        if path:
            self.add(path)

    def add(self, path: str) -> None:
        try:
            model = self.library.add_model(path)
        except (ModelError, LibraryError, OSError) as exc:
            reason = html.escape(display_path(str(exc)))
            self.message.setText(f"<span style='color:#c33'>Cannot add this model: {reason}</span>")
            return
        self.message.setText(f"Added {model.name}. Select it and press Activate to use it.")
        self.refresh()

    def activate_selected(self) -> None:
        item = self.table.currentItem()
        if item is None:
            self.message.setText("Select a model first.")
            return
        model_id = int(item.data(Qt.ItemDataRole.UserRole))
        try:
            self.library.activate_model(model_id)
        except LibraryError as exc:  # a read-only library
            self.message.setText(f"<span style='color:#c33'>{html.escape(str(exc))}</span>")
            return
        self.activated.emit(model_id)
        self.message.setText("Activated: indexing in the background.")
        self.refresh()
