"""The files indexing skipped, with the reason for each."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

from desktop.core.catalog import Photo
from desktop.core.paths import display_path


class SkippedDialog(QDialog):
    def __init__(self, skipped: list[Photo], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Skipped files ({len(skipped)})")
        self.resize(900, 400)
        table = QTableWidget(len(skipped), 2, self)
        table.setHorizontalHeaderLabels(("File", "Reason"))
        for row, photo in enumerate(skipped):
            table.setItem(row, 0, QTableWidgetItem(display_path(photo.path)))
            table.setItem(row, 1, QTableWidgetItem(photo.error))  # stored fit to show
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
