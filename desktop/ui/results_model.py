"""The results grid's model: search results with lazy thumbnails and scores, and the roles
every model of the grid answers for `ResultDelegate`."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.core.catalog import Photo
from desktop.core.paths import display_path
from desktop.core.search import SearchResult
from desktop.ui.thumbnails import ThumbnailProvider

PhotoRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3
HeaderRole = Qt.ItemDataRole.UserRole + 4
"""The text of a group's header row (a month, a folder); None on a photo's row."""


def photo_tooltip(photo: Photo, score: float | None = None) -> str:
    details = [display_path(photo.path)]
    if score is not None:
        details.append(f"similarity {score:.3f}")
    if photo.width and photo.height:
        details.append(f"{photo.width} x {photo.height}")
    if photo.taken_at:
        details.append(f"taken {photo.taken_at.replace('T', ' ')}")
    return "\n".join(details)


class ResultsModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailProvider, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._results: list[SearchResult] = []
        self._rows_by_path: dict[str, list[int]] = {}
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_results(self, results: list[SearchResult]) -> None:
        self.beginResetModel()
        self._results = list(results)
        self._rows_by_path = {}
        for row, result in enumerate(self._results):
            self._rows_by_path.setdefault(result.photo.path, []).append(row)
        self.endResetModel()

    def result(self, row: int) -> SearchResult:
        return self._results[row]

    def results(self) -> list[SearchResult]:
        return list(self._results)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._results)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._results):
            return None
        result = self._results[index.row()]
        photo = result.photo
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{result.score:.3f}\n{display_path(os.path.basename(photo.path))}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.pixmap(photo.path) or self.thumbnails.placeholder()
        if role == Qt.ItemDataRole.ToolTipRole:
            return photo_tooltip(photo, result.score)
        if role == PhotoRole:
            return photo
        if role == ScoreRole:
            return result.score
        if role == PathRole:
            return photo.path
        return None

    def _thumbnail_ready(self, path: str) -> None:
        for row in self._rows_by_path.get(path, []):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
