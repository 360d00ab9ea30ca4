"""The same query answered by two models, one row of results each: does the model trained on
the user's labels find what the old one did, or better? Each row says how many photos its
model has indexed so far, since a new model is still indexing in the background."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from desktop.core.paths import display_path
from desktop.ui.controllers.training import ComparedModel
from desktop.ui.thumbnails import ThumbnailProvider


class ComparisonDialog(QDialog):
    def __init__(self, thumbnails: ThumbnailProvider, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.setWindowTitle("Compare models")
        self.resize(980, 2 * thumbnails.size + 200)
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        self._items: dict[str, list[QListWidgetItem]] = {}
        """The items showing each photo, to set its thumbnail when it is ready (paths stay
        out of item data: a QString drops the lone surrogates of a non-UTF-8 name)."""
        self.titles: list[QLabel] = []
        self.rows: list[QListWidget] = []
        for _ in range(2):
            title = QLabel(self)
            row = QListWidget(self)
            row.setViewMode(QListView.ViewMode.IconMode)
            row.setFlow(QListView.Flow.LeftToRight)
            row.setWrapping(False)
            row.setMovement(QListView.Movement.Static)
            row.setIconSize(QSize(thumbnails.size, thumbnails.size))
            row.setFixedHeight(thumbnails.size + 48)
            layout.addWidget(title)
            layout.addWidget(row)
            self.titles.append(title)
            self.rows.append(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        thumbnails.ready.connect(self._thumbnail_ready)

    def show_comparison(
        self, caption: str, compared: list[ComparedModel], roles: list[str]
    ) -> None:
        """One row per model (two at most); `roles` says which is which."""
        self.caption.setText(caption)
        self._items.clear()
        for index, (title, row) in enumerate(zip(self.titles, self.rows, strict=True)):
            row.clear()
            title.clear()
            if index < len(compared):
                title.setText(_title(roles[index], compared[index]))
                for result in compared[index].results:
                    row.addItem(self._item(result.photo.path, result.score))

    def _item(self, path: str, score: float) -> QListWidgetItem:
        item = QListWidgetItem(f"{score:.3f}")
        item.setToolTip(display_path(os.path.basename(path)))
        item.setIcon(self.thumbnails.pixmap(path) or self.thumbnails.placeholder())
        self._items.setdefault(path, []).append(item)
        return item

    def _thumbnail_ready(self, path: str) -> None:
        pixmap = self.thumbnails.pixmap(path)
        for item in self._items.get(path, []) if pixmap is not None else []:
            item.setIcon(pixmap)


def _title(role: str, model: ComparedModel) -> str:
    """'After training: NAME · 12 of 20 photos indexed', and why it found nothing if so."""
    state = model.state
    indexed = f"{state.indexed:,} of {state.indexed + state.pending:,} photos indexed"
    name = html.escape(display_path(state.record.name))
    title = f"<b>{html.escape(role)}: {name}</b> · {indexed}"
    if model.problem:
        title += f" · <span style='color:#c33'>{html.escape(model.problem)}</span>"
    return title
