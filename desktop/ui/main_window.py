"""The main window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel, QMainWindow

from desktop import APP_NAME
from desktop.core.paths import AppPaths, resource_path


class MainWindow(QMainWindow):
    def __init__(self, paths: AppPaths) -> None:
        super().__init__()
        self.paths = paths
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(QIcon(str(resource_path("icon.svg"))))
        self.resize(1100, 720)
        placeholder = QLabel("Drop a photo here to find similar ones")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(placeholder)
        self.statusBar().showMessage(f"Library: {paths.data}")
