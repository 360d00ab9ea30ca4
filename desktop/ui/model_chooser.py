"""Choosing a pretrained model from the catalog: one click downloads and builds it.

The same widget serves the first-run page and Library -> Models -> Get a model. It only
asks and shows: `attach` connects it to the models controller, which gets the model in a
worker and reports progress, success and failure.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop import text
from desktop.core.catalog import ModelRecord
from desktop.core.model_catalog import CatalogModel, ModelCatalog
from desktop.core.model_download import DownloadProgress
from desktop.core.paths import display_path
from desktop.ui.controllers.models import ModelsController

KeyRole = Qt.ItemDataRole.UserRole


class ModelChooser(QWidget):
    get_requested = Signal(str, bool)
    """(catalog key, int8): the user asked for this model."""
    cancel_requested = Signal()

    def __init__(self, catalog: ModelCatalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = QListWidget(self)
        self.models.setWordWrap(True)
        self.models.setSpacing(2)
        for model in catalog.models:
            self.models.addItem(self._item(model))
            if model.default:
                self.models.setCurrentRow(self.models.count() - 1)
        self.models.setMinimumHeight(150)
        self.int8 = QCheckBox("Smaller and faster int8 variant (built here, slightly less exact)")
        self.get_button = QPushButton("Get this model", self)
        self.get_button.setMinimumHeight(36)
        self.get_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.hide()
        self.progress = QProgressBar(self)
        self.progress.hide()
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.get_button, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.models)
        layout.addWidget(self.int8)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.get_button.clicked.connect(self._get)
        self.models.itemDoubleClicked.connect(lambda _: self._get())
        self.cancel_button.clicked.connect(self.cancel_requested)

    def _item(self, model: CatalogModel) -> QListWidgetItem:
        default = "  (recommended)" if model.default else ""
        item = QListWidgetItem(
            f"{model.name}{default}\n{model.good_for}\n"
            f"{text.megabytes(model.download_bytes)} download · licence {model.licence} · "
            f"{model.descriptor_dim}-d descriptors"
        )
        item.setData(KeyRole, model.key)
        item.setToolTip(f"{model.repo} ({model.architecture} at {model.input_size} px)")
        return item

    def selected_key(self) -> str | None:
        item = self.models.currentItem()
        return item.data(KeyRole) if item is not None else None

    def attach(self, models: ModelsController) -> None:
        """Ask `models` for the chosen model and show how getting it goes."""
        self.get_requested.connect(models.get)
        self.cancel_requested.connect(models.cancel_download)
        models.downloading.connect(self.set_busy)
        models.download_progress.connect(self.show_progress)
        models.failed.connect(self.show_message)
        models.ready.connect(self._ready)
        self.set_busy(models.busy)

    def _ready(self, record: ModelRecord) -> None:
        self.show_message(f"{record.name} is ready.")

    def select(self, key: str) -> None:
        for row in range(self.models.count()):
            if self.models.item(row).data(KeyRole) == key:
                self.models.setCurrentRow(row)

    def _get(self) -> None:
        key = self.selected_key()
        if key is not None and self.get_button.isEnabled():
            self.get_requested.emit(key, self.int8.isChecked())

    def set_busy(self, busy: bool) -> None:
        """While a model is being got: progress and Cancel shown, choices locked."""
        for widget in (self.models, self.int8, self.get_button):
            widget.setEnabled(not busy)
        self.cancel_button.setVisible(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.progress.setFormat("")

    def show_progress(self, update: DownloadProgress) -> None:
        if update.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * update.done / update.total))
        self.progress.setFormat(text.download_progress(update))
        self.progress.setTextVisible(True)

    def show_message(self, text: str) -> None:
        self.message.setText(html.escape(display_path(text)))


class GetModelDialog(QDialog):
    """Library -> Models -> Get a model: the catalog in a dialog that closes once the model
    is ready; closing it cancels a download in progress."""

    def __init__(self, models: ModelsController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Get a model")
        self.resize(620, 420)
        self.chooser = ModelChooser(models.catalog, self)
        self.chooser.attach(models)
        QVBoxLayout(self).addWidget(self.chooser)
        models.ready.connect(self.accept)
        self.rejected.connect(models.cancel_download)
