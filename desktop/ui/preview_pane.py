"""The preview pane: a larger view of the selected photo with its details and actions; the
image is read in the worker pool and shown if the photo is still the one selected."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from desktop.core.catalog import Photo
from desktop.core.paths import display_path
from desktop.ui.image_io import read_preview
from desktop.ui.workers import WorkerPool


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class PreviewPane(QWidget):
    open_requested = Signal(object)
    """The path, as an object: a str signal argument loses bytes that are not UTF-8."""
    reveal_requested = Signal(object)
    similar_requested = Signal(object)

    def __init__(self, workers: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workers = workers
        self.image_label = QLabel(self)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(220, 180)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.details = QLabel("Select a result to see it here", self)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open", self)
        self.reveal_button = QPushButton("Show in folder", self)
        self.similar_button = QPushButton("Find similar", self)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.reveal_button, self.similar_button):
            button.setEnabled(False)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Preview</b>", self))
        layout.addWidget(self.image_label, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self._photo: Photo | None = None
        self._image = QImage()
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self._photo.path))
        self.reveal_button.clicked.connect(lambda: self.reveal_requested.emit(self._photo.path))
        self.similar_button.clicked.connect(lambda: self.similar_requested.emit(self._photo))

    def show_photo(self, photo: Photo | None, score: float | None = None) -> None:
        """Show a photo's details (its similarity to the query; None when browsing without
        one) now, and its image once read."""
        self._show(photo, score, QImage())
        if photo is not None:
            self.workers.start(
                lambda progress, cancel: read_preview(photo.path),
                on_finished=lambda image: self._image_read(photo, score, image),
            )

    def _image_read(self, photo: Photo, score: float | None, image: QImage) -> None:
        if photo == self._photo:
            self._show(photo, score, image)

    def _show(self, photo: Photo | None, score: float | None, image: QImage) -> None:
        self._photo = photo
        self._image = image
        for button in (self.open_button, self.reveal_button, self.similar_button):
            button.setEnabled(photo is not None)
        if photo is None:
            self.details.setText("Select a result to see it here")
            self.image_label.clear()
            return
        name = html.escape(display_path(os.path.basename(photo.path)))
        lines = [f"<b>{name}</b>"]
        if score is not None:
            lines.append(f"similarity {score:.3f}")
        if photo.width and photo.height:
            lines.append(f"{photo.width} x {photo.height} pixels, {human_size(photo.size)}")
        if photo.taken_at:
            lines.append(f"taken {photo.taken_at.replace('T', ' ')}")
        lines.append(f"<span style='color:gray'>{html.escape(display_path(photo.path))}</span>")
        self.details.setText("<br>".join(lines))
        self._show_image()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._show_image()

    def _show_image(self) -> None:
        if self._image.isNull():
            self.image_label.setText("" if self._photo is None else "(no preview)")
            return
        pixmap = QPixmap.fromImage(self._image).scaled(
            self.image_label.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.image_label.setPixmap(pixmap)
