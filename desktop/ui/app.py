"""Start the Qt application and its main window."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtWidgets import QApplication

from desktop import APP_NAME
from desktop.core.paths import app_paths
from desktop.ui.main_window import MainWindow


def run(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    window = MainWindow(app_paths(args.library).create())
    window.show()
    return app.exec()
