"""The first-run page, shown while the library has no model: three ways to get one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.paths import display_path

TRAIN_HELP = (
    "<b>Train one on labelled folders.</b> Put example photos in one folder per label "
    "(for example <i>birds/robin/…</i>, <i>birds/wren/…</i>), install the trainer with "
    "<code>pip install 'photo-search[train]'</code>, and run<br>"
    "<code>desktop-trainer finetune LABELLED_DIR --out RUN_DIR --pretrained</code><br>"
    "It fine-tunes the model on your labels (a GPU helps), reports Recall@K before and "
    "after, and writes <code>RUN_DIR/model.onnx</code>: choose that file here."
)


class FirstRunPage(QWidget):
    get_default_requested = Signal()
    choose_file_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("<h2>Welcome to photo-search</h2>", self)
        intro = QLabel(
            "To find photos by example, photo-search needs a descriptor model: a Vision "
            "Transformer exported to ONNX. Pick one of these:",
            self,
        )
        intro.setWordWrap(True)
        self.default_button = QPushButton("Get the default model (DeiT-Small, ImageNet)", self)
        self.default_button.setToolTip(
            "Downloads ImageNet weights and exports them (needs the trainer)"
        )
        self.choose_button = QPushButton("Choose an ONNX model file…", self)
        for button in (self.default_button, self.choose_button):
            button.setMinimumHeight(36)
        train = QLabel(TRAIN_HELP, self)
        train.setWordWrap(True)
        train.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.hide()
        column = QWidget(self)
        column.setMaximumWidth(640)
        content = QVBoxLayout(column)
        content.setSpacing(12)
        for widget in (title, intro, self.default_button, self.choose_button, train):
            content.addWidget(widget)
        content.addWidget(self.progress)
        content.addWidget(self.message)
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(column, 4)
        centred.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(centred)
        layout.addStretch(2)
        self.default_button.clicked.connect(self.get_default_requested)
        self.choose_button.clicked.connect(self.choose_file_requested)

    def show_message(self, text: str, *, busy: bool = False) -> None:
        self.message.setText(display_path(text))
        self.progress.setVisible(busy)
        self.default_button.setEnabled(not busy)
