"""The label view: the user's labels with their counts on the left (new, rename, delete,
import a labelled folder tree), the chosen label's photos in a grid on the right, where a
selection can be taken out of the label, given another label, or searched with."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import text
from desktop.core.catalog import Label, Photo
from desktop.core.paths import display_path
from desktop.ui.label_dialogs import ask_label_name, confirm_delete
from desktop.ui.photo_grid import PhotoGrid
from desktop.ui.results_model import ResultsModel
from desktop.ui.thumbnails import ThumbnailProvider

NO_LABELS = (
    "No labels yet. Select photos in the results and press Ctrl+L (or right-click → Add to "
    "label), or import a folder with one sub-folder per label."
)


class LabelsPage(QSplitter):
    label_chosen = Signal(int)
    """Show this label's photos (its id)."""
    create_requested = Signal(str)
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)
    remove_requested = Signal(int, object)
    """Take photos (list of ids) out of the label (its id)."""
    import_requested = Signal()
    train_requested = Signal()

    def __init__(
        self, thumbnails: ThumbnailProvider, thumbnail_size: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.list = QListWidget(self)
        self.list.currentRowChanged.connect(self._chosen)
        self.new_button = QPushButton("New…", self)
        self.rename_button = QPushButton("Rename…", self)
        self.delete_button = QPushButton("Delete", self)
        self.import_button = QPushButton("Import labelled folders…", self)
        self.import_button.setToolTip("Label photos by folder: one sub-folder per label")
        self.new_button.clicked.connect(self._create)
        self.rename_button.clicked.connect(self._rename)
        self.delete_button.clicked.connect(self._delete)
        self.import_button.clicked.connect(self.import_requested)
        self.train_button = QPushButton("Train on my labels…", self)
        self.train_button.setToolTip("Fine-tune a model on these labels, measure it, use it")
        self.train_button.clicked.connect(self.train_requested)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        side = QWidget(self)
        column = QVBoxLayout(side)
        column.addWidget(QLabel("<b>Labels</b>", side))
        column.addWidget(self.list, 1)
        column.addLayout(buttons)
        column.addWidget(self.import_button)
        column.addWidget(self.train_button)

        self.model = ResultsModel(thumbnails, self)
        self.grid = PhotoGrid(thumbnail_size, self)
        self.grid.setModel(self.model)
        self.grid.commands = [("Remove from label", self._remove)]
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setStyleSheet("QLabel { color: #b22; padding: 4px; }")
        self.banner.hide()
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # a label's name is no markup
        self.empty = QLabel(NO_LABELS, self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setMargin(32)
        self.empty.setStyleSheet("QLabel { font-size: 13pt; }")
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.grid)
        self.pages.addWidget(self.empty)
        main = QWidget(self)
        layout = QVBoxLayout(main)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.caption)
        layout.addWidget(self.pages, 1)
        self.addWidget(side)
        self.addWidget(main)
        self.setStretchFactor(1, 1)
        self.setSizes([220, 560])
        self.labels: list[Label] = []
        self.shown: Label | None = None
        """The label whose photos the grid shows."""
        self.set_labels([])

    @property
    def chosen(self) -> Label | None:
        row = self.list.currentRow()
        return self.labels[row] if 0 <= row < len(self.labels) else None

    def show_error(self, message: str) -> None:
        """Why a change did not happen, until the user asks for another."""
        self.banner.setText(display_path(message))
        self.banner.show()

    def set_labels(self, labels: list[Label]) -> None:
        """Show these labels with their counts; the chosen one stays chosen while it exists."""
        chosen = self.chosen.id if self.chosen is not None else None
        self.labels = labels
        self.list.blockSignals(True)
        self.list.clear()
        for label in labels:
            item = QListWidgetItem(f"{label.name}  ({label.count:,})")
            item.setToolTip(f"{label.name}: {label.count:,} photos")
            self.list.addItem(item)
        rows = [row for row, label in enumerate(labels) if label.id == chosen]
        self.list.setCurrentRow(rows[0] if rows else -1)
        self.list.blockSignals(False)
        self.grid.label_names = [label.name for label in labels]
        for button in (self.rename_button, self.delete_button):
            button.setEnabled(bool(rows))
        if not rows:
            self.show_photos(None, [])
        self.empty.setText(NO_LABELS if not labels else "Choose a label to see its photos.")

    def show_photos(self, label: Label | None, photos: list[Photo]) -> None:
        """The photos of `label` (read for it), unless another label was chosen since."""
        chosen = self.chosen
        if label is not None and (chosen is None or chosen.id != label.id):
            return
        first_look = label is not None and (self.shown is None or self.shown.id != label.id)
        self.shown = label
        self.model.set_photos(photos)
        if first_look and photos:  # in the preview, as a search's first result is
            self.grid.setCurrentIndex(self.model.index(0))
        if label is None:
            self.caption.setText("")
        else:
            self.caption.setText(
                f"“{label.name}”: {text.photos(len(photos))}. Select some to remove them from the "
                "label, give them another, or double-click one to find photos like it."
            )
        self.pages.setCurrentWidget(self.grid if label is not None else self.empty)

    def _chosen(self, row: int) -> None:
        label = self.chosen
        for button in (self.rename_button, self.delete_button):
            button.setEnabled(label is not None)
        if label is not None:
            self.label_chosen.emit(label.id)

    def _create(self) -> None:
        self.banner.hide()
        name = ask_label_name(self, "New label")
        if name is not None:
            self.create_requested.emit(name)

    def _rename(self) -> None:
        self.banner.hide()
        label = self.chosen
        if label is not None:
            name = ask_label_name(self, "Rename label", label.name)
            if name is not None and name != label.name:
                self.rename_requested.emit(label.id, name)

    def _delete(self) -> None:
        self.banner.hide()
        label = self.chosen
        if label is not None and confirm_delete(self, label):
            self.delete_requested.emit(label.id)

    def _remove(self, photos: list[Photo]) -> None:
        if self.shown is not None:
            self.remove_requested.emit(self.shown.id, [photo.id for photo in photos])
