"""Near-duplicate groups side by side, best copy first, with open and reveal."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from desktop.core.catalog import Photo
from desktop.core.library import Library
from desktop.core.paths import display_path
from desktop.ui.file_actions import open_in_viewer, reveal_in_file_manager
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.workers import WorkerPool, error_text

ICON = 72


class DuplicatesDialog(QDialog):
    def __init__(
        self, library: Library, thumbnails: ThumbnailProvider, workers: WorkerPool, parent=None
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.thumbnails = thumbnails
        self.workers = workers
        self.setWindowTitle("Near-duplicates")
        self.resize(900, 560)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.5, 1.0)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(3)
        self.threshold.setValue(0.95)
        self.find_button = QPushButton("Find duplicates", self)
        self.summary = QLabel("", self)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(("Photo", "Size", "Bytes", "Folder"))
        self.tree.setIconSize(QSize(ICON, ICON))
        self.open_button = QPushButton("Open", self)
        self.reveal_button = QPushButton("Show in folder", self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Similarity at least", self))
        top.addWidget(self.threshold)
        top.addWidget(self.find_button)
        top.addWidget(self.summary, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.open_button)
        bottom.addWidget(self.reveal_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addLayout(bottom)
        self._items: dict[str, list[QTreeWidgetItem]] = {}
        self._photos: dict[int, Photo] = {}
        self.groups: list[list[Photo]] = []
        self.find_button.clicked.connect(self.find)
        self.open_button.clicked.connect(lambda: self._with_selected(open_in_viewer))
        self.reveal_button.clicked.connect(lambda: self._with_selected(reveal_in_file_manager))
        self.tree.itemDoubleClicked.connect(lambda item, _: self._with_selected(open_in_viewer))
        thumbnails.ready.connect(self._thumbnail_ready)

    def find(self) -> None:
        threshold = self.threshold.value()
        self.find_button.setEnabled(False)
        self.summary.setText("Searching…")
        self.workers.start(
            lambda progress, cancel: self.library.duplicates(threshold),
            on_finished=self.show_groups,
            on_error=lambda exc: self.summary.setText(f"Failed: {error_text(exc)}"),
        )

    def show_groups(self, groups: list[list[Photo]]) -> None:
        self.groups = groups
        self.find_button.setEnabled(True)
        self.tree.clear()
        self._items.clear()
        self._photos = {photo.id: photo for group in groups for photo in group}
        copies = sum(len(g) - 1 for g in groups)
        self.summary.setText(f"{len(groups)} groups, {copies} extra copies")
        for number, group in enumerate(groups, 1):
            parent = QTreeWidgetItem(self.tree, [f"Group {number}: {len(group)} photos"])
            for rank, photo in enumerate(group):
                size = f"{photo.width} x {photo.height}" if photo.width else "?"
                label = display_path(os.path.basename(photo.path))
                label += "  (best)" if rank == 0 else ""
                folder = display_path(os.path.dirname(photo.path))
                item = QTreeWidgetItem(parent, [label, size, f"{photo.size:,}", folder])
                # the id, not the path: a str in item data goes through QString, which drops
                # the bytes of a name that are not valid UTF-8
                item.setData(0, Qt.ItemDataRole.UserRole, photo.id)
                self._items.setdefault(photo.path, []).append(item)
                pixmap = self.thumbnails.pixmap(photo.path)
                if pixmap is not None:
                    item.setIcon(0, QIcon(pixmap))
            parent.setExpanded(True)
        for column in range(4):
            self.tree.resizeColumnToContents(column)

    def _thumbnail_ready(self, path: str) -> None:
        pixmap = self.thumbnails.pixmap(path)
        for item in self._items.get(path, []):
            item.setIcon(0, QIcon(pixmap))

    def _with_selected(self, action) -> None:
        item = self.tree.currentItem()
        photo = self._photos.get(item.data(0, Qt.ItemDataRole.UserRole)) if item else None
        if photo is not None:
            action(photo.path)
