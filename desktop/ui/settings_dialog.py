"""Settings: library location, thumbnail size, inference threads and device. The theme
follows the system (Qt picks the platform style and palette)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from desktop.core.descriptor_model import PROVIDER_LABELS, provider_candidates, provider_name
from desktop.ui.settings import Settings


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, current_library: str, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings")
        self.location = QLineEdit(settings.library_location or "", self)
        self.location.setPlaceholderText(current_library)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.location, 1)
        row.addWidget(browse)
        self.thumbnail_size = QSpinBox(self)
        self.thumbnail_size.setRange(64, 512)
        self.thumbnail_size.setSingleStep(16)
        self.thumbnail_size.setValue(settings.thumbnail_size)
        self.threads = QSpinBox(self)
        self.threads.setRange(0, 64)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(settings.threads)
        self.provider = QComboBox(self)  # only what this onnxruntime offers can be chosen
        self.provider.addItem("Automatic (best available)", None)
        for name in map(provider_name, provider_candidates()):
            self.provider.addItem(PROVIDER_LABELS[name], name)
        self.provider.setCurrentIndex(max(0, self.provider.findData(settings.provider)))
        form = QFormLayout()
        form.addRow("Library location", row)
        form.addRow("", QLabel("<small>Takes effect the next time the app starts.</small>"))
        form.addRow("Thumbnail size (pixels)", self.thumbnail_size)
        form.addRow("Inference threads", self.threads)
        form.addRow("Inference device", self.provider)
        form.addRow("", QLabel("<small>Takes effect the next time the app starts.</small>"))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
            parent=self,
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Library location", self.location.text())
        if folder:
            self.location.setText(folder)

    def accept(self) -> None:
        self.settings.library_location = self.location.text().strip() or None
        self.settings.thumbnail_size = self.thumbnail_size.value()
        self.settings.threads = self.threads.value()
        self.settings.provider = self.provider.currentData()
        self.settings.sync()
        super().accept()
