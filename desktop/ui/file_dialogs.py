"""The system's file dialogs for what the window asks for: photos, a folder, a labelled
folder tree, a model file.
Each returns what was chosen; nothing when the user cancelled."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.core.scanner import supported_extensions


def choose_photos(parent: QWidget) -> list[str]:
    patterns = " ".join(f"*{ext}" for ext in sorted(supported_extensions()))
    paths, _ = QFileDialog.getOpenFileNames(
        parent, "Search with photos", "", f"Images ({patterns});;All files (*)"
    )
    return paths


def choose_folders(parent: QWidget) -> list[str]:
    """The folder to add, as a list (empty when cancelled)."""
    folder = QFileDialog.getExistingDirectory(parent, "Add a photo folder")
    return [folder] if folder else []


def choose_labelled_folder(parent: QWidget) -> str | None:
    """A folder with one sub-folder of photos per label."""
    folder = QFileDialog.getExistingDirectory(
        parent, "Import labelled folders: choose the folder that holds one folder per label"
    )
    return folder or None


def choose_model_file(parent: QWidget) -> str | None:
    path, _ = QFileDialog.getOpenFileName(
        parent, "Choose a model", "", "ONNX models (*.onnx);;All files (*)"
    )
    return path or None
