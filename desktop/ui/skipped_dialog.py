"""The files indexing skipped, with the reason for each."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

from desktop.core.paths import display_path
from desktop.core.status import SkippedFile


class SkippedDialog(QDialog):
    def __init__(self, skipped: list[SkippedFile], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Skipped files ({len(skipped)})")
        self.resize(900, 400)
        table = QTableWidget(len(skipped), 2, self)
        table.setHorizontalHeaderLabels(("File", "Reason"))
        for row, file in enumerate(skipped):
            table.setItem(row, 0, QTableWidgetItem(display_path(file.path)))
            table.setItem(row, 1, QTableWidgetItem(file.reason))  # stored fit to show
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
