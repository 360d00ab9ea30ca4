"""The library panel: folders (online or offline), and the buttons that manage them."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.paths import display_path
from desktop.core.status import FolderState


class LibraryPanel(QWidget):
    add_requested = Signal()
    remove_requested = Signal(object)
    """The folder's path, as an object: a str signal argument loses bytes that are not UTF-8."""
    index_requested = Signal()
    cancel_requested = Signal()
    skipped_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folders = QListWidget(self)
        self.folders.setToolTip("Library folders; drop a folder on the window to add it")
        self.add_button = QPushButton("Add folder…", self)
        self.remove_button = QPushButton("Remove", self)
        self.index_button = QPushButton("Index now", self)
        self.skipped_button = QPushButton("Skipped files", self)
        self.skipped_button.setEnabled(False)
        self._indexing = False
        self._shown: tuple | None = None
        self._paths: list[str] = []
        """The folders' paths by row (item data goes through QString, which is lossy)."""
        first = QHBoxLayout()
        first.addWidget(self.add_button)
        first.addWidget(self.remove_button)
        second = QHBoxLayout()
        second.addWidget(self.index_button)
        second.addWidget(self.skipped_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Library folders</b>", self))
        layout.addWidget(self.folders, 1)
        layout.addLayout(first)
        layout.addLayout(second)
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button.clicked.connect(self._remove)
        self.index_button.clicked.connect(self._index_or_cancel)
        self.skipped_button.clicked.connect(self.skipped_requested)

    def set_folders(
        self, folders: list[FolderState], skipped: int, *, writable: bool = True
    ) -> None:
        """Show the folders; on a read-only library the buttons that change it are off."""
        if (folders, skipped, writable) == self._shown:
            return  # refreshed while indexing: the selection stays
        self._shown = (folders, skipped, writable)
        self.folders.clear()
        self._paths = [folder.path for folder in folders]
        for folder in folders:
            shown = display_path(folder.path)
            item = QListWidgetItem(shown if folder.online else f"{shown} (offline)")
            if not folder.online:
                item.setForeground(QColor(150, 150, 150))
                item.setToolTip("Offline: the drive or share is not available; photos are kept")
            elif folder.problems:
                item.setToolTip(f"Some files could not be read: {folder.problems}")
            self.folders.addItem(item)
        self.add_button.setEnabled(writable)
        self.remove_button.setEnabled(writable and bool(folders))
        self.index_button.setEnabled(writable)
        self.skipped_button.setText(f"Skipped files ({skipped})")
        self.skipped_button.setEnabled(skipped > 0)

    def set_indexing(self, indexing: bool) -> None:
        self._indexing = indexing
        self.index_button.setText("Cancel indexing" if indexing else "Index now")

    def _remove(self) -> None:
        row = self.folders.currentRow()
        if row >= 0:
            self.remove_requested.emit(self._paths[row])

    def _index_or_cancel(self) -> None:
        (self.cancel_requested if self._indexing else self.index_requested).emit()
