"""The small questions labels ask: a label's name, which label to give photos (one of them
or a new one), and whether to delete one. Each returns the answer, or None (False) when the
user cancelled; a name that will not do (empty, taken) is the library's to refuse, in words.
And what a labelled folder import did."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from desktop import text
from desktop.core.catalog import Label
from desktop.core.labels import LabelImport
from desktop.core.paths import display_path


def ask_label_name(parent: QWidget, title: str, name: str = "") -> str | None:
    text, ok = QInputDialog.getText(parent, title, "Label name:", text=name)
    return text if ok else None


def choose_label(parent: QWidget, names: list[str], photos: int) -> str | None:
    """One of the labels `names`, or a new name typed in."""
    name, ok = QInputDialog.getItem(
        parent,
        "Add to label",
        f"Give {text.photos(photos)} the label (choose one, or type a new name):",
        names,
        0,
        True,
    )
    return name if ok else None


def confirm_delete(parent: QWidget, label: Label) -> bool:
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Delete label",
        f"Delete the label “{label.name}”? Its {text.photos(label.count)} stay in the "
        "library; only the label goes.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box.exec() == QMessageBox.StandardButton.Yes


def show_import_report(
    parent: QWidget, root: str, report: LabelImport, add_folder: Callable[[], None]
) -> QMessageBox:
    """What importing `root` labelled, without blocking the window; when some of its photos
    are not in the library yet, a button adds the folder (`add_folder`) to index them."""
    box = QMessageBox(
        QMessageBox.Icon.Information,
        "Import labelled folders",
        f"{display_path(root)}\n\n{text.label_import(report)}",
        QMessageBox.StandardButton.Close,
        parent,
    )
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if report.not_in_library:
        add = box.addButton("Add and index this folder", QMessageBox.ButtonRole.AcceptRole)
        add.clicked.connect(add_folder)
    box.open()
    return box
