"""The first-run page, shown while the library has no model: three ways to get one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.core.model_catalog import ModelCatalog
from desktop.ui.model_chooser import ModelChooser

TRAIN_HELP = (
    "<b>Train one on labelled folders.</b> Put example photos in one folder per label "
    "(for example <i>birds/robin/…</i>, <i>birds/wren/…</i>), install the trainer with "
    "<code>pip install 'photo-search[train]'</code>, and run<br>"
    "<code>desktop-trainer finetune LABELLED_DIR --out RUN_DIR --pretrained</code><br>"
    "It fine-tunes the model on your labels (a GPU helps), reports Recall@K before and "
    "after, and writes <code>RUN_DIR/model.onnx</code>: choose that file here."
)


class FirstRunPage(QWidget):
    """Welcome, the catalog's models to get with one click, a file, or training."""

    choose_file_requested = Signal()

    def __init__(self, catalog: ModelCatalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("<h2>Welcome to photo-search</h2>", self)
        intro = QLabel(
            "To find photos by example, photo-search needs a descriptor model. Pick one to "
            "download (the recommended one is selected), then drop a photo folder on the "
            "window:",
            self,
        )
        intro.setWordWrap(True)
        self.chooser = ModelChooser(catalog, self)
        self.choose_button = QPushButton("Or use an ONNX model file you have…", self)
        self.choose_button.setMinimumHeight(32)
        train = QLabel(TRAIN_HELP, self)
        train.setWordWrap(True)
        train.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QWidget(self)
        column.setMaximumWidth(680)
        content = QVBoxLayout(column)
        content.setSpacing(12)
        for widget in (title, intro, self.chooser, self.choose_button, train):
            content.addWidget(widget)
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(column, 4)
        centred.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(centred)
        layout.addStretch(2)
        self.choose_button.clicked.connect(self.choose_file_requested)

    def show_message(self, text: str) -> None:
        self.chooser.show_message(text)
