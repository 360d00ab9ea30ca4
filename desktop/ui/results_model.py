"""The results grid's model: search results with lazy thumbnails and scores (or photos
without a score: a label's), their labels and marks, and the roles every model of the grid
answers for `ResultDelegate`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.core.catalog import Photo
from desktop.core.paths import display_path
from desktop.core.search import SearchResult
from desktop.ui.controllers.search import Mark
from desktop.ui.thumbnails import ThumbnailProvider

PhotoRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3
HeaderRole = Qt.ItemDataRole.UserRole + 4
"""The text of a group's header row (a month, a folder); None on a photo's row."""
LabelsRole = Qt.ItemDataRole.UserRole + 5
"""The photo's label names (a list); None where the grid does not show labels."""
MarkRole = Qt.ItemDataRole.UserRole + 6
"""The Mark the user gave the result; None where there is no query to mark for."""


def photo_tooltip(photo: Photo, score: float | None = None, labels: list[str] | None = None) -> str:
    details = [display_path(photo.path)]
    if score is not None:
        details.append(f"similarity {score:.3f}")
    if labels:
        details.append(f"labels: {', '.join(labels)}")
    if photo.width and photo.height:
        details.append(f"{photo.width} x {photo.height}")
    if photo.taken_at:
        details.append(f"taken {photo.taken_at.replace('T', ' ')}")
    return "\n".join(details)


class ResultsModel(QAbstractListModel):
    def __init__(self, thumbnails: ThumbnailProvider, parent=None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._photos: list[Photo] = []
        self._scores: list[float] | None = []
        """The results' scores, row by row; None for photos without a query."""
        self._rows_by_path: dict[str, list[int]] = {}
        self._names: dict[int, list[str]] = {}
        self._marks: dict[int, Mark] = {}
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_results(
        self, results: list[SearchResult], *, good: Sequence[int] = (), bad: Sequence[int] = ()
    ) -> None:
        """Search results, with the ones the user marked `good` and `bad`."""
        self._marks = {**dict.fromkeys(good, Mark.GOOD), **dict.fromkeys(bad, Mark.BAD)}
        self._reset([r.photo for r in results], [r.score for r in results])

    def set_photos(self, photos: list[Photo]) -> None:
        """Photos without a query (a label's): no score, nothing to mark."""
        self._marks = {}
        self._reset(photos, None)

    def _reset(self, photos: list[Photo], scores: list[float] | None) -> None:
        self.beginResetModel()
        self._photos, self._scores = list(photos), scores
        self._rows_by_path = {}
        for row, photo in enumerate(self._photos):
            self._rows_by_path.setdefault(photo.path, []).append(row)
        self.endResetModel()

    def set_names(self, names: dict[int, list[str]]) -> None:
        """The label names of the photos ({photo id: names}; a photo not in it has none)."""
        self._names = names
        if self._photos:
            self.dataChanged.emit(
                self.index(0),
                self.index(len(self._photos) - 1),
                [LabelsRole, Qt.ItemDataRole.ToolTipRole],
            )

    def result(self, row: int) -> SearchResult:
        """The search result at `row` (of search results only)."""
        return SearchResult(self._photos[row], self._scores[row])

    def results(self) -> list[SearchResult]:
        return [self.result(row) for row in range(len(self._photos))]

    def photo_ids(self) -> list[int]:
        return [photo.id for photo in self._photos]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._photos)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._photos):
            return None
        photo = self._photos[index.row()]
        score = None if self._scores is None else self._scores[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            name = display_path(os.path.basename(photo.path))
            return name if score is None else f"{score:.3f}\n{name}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.pixmap(photo.path) or self.thumbnails.placeholder()
        if role == Qt.ItemDataRole.ToolTipRole:
            return photo_tooltip(photo, score, self._names.get(photo.id))
        if role == PhotoRole:
            return photo
        if role == ScoreRole:
            return score
        if role == PathRole:
            return photo.path
        if role == LabelsRole:
            return self._names.get(photo.id, [])
        if role == MarkRole:
            return None if self._scores is None else self._marks.get(photo.id, Mark.NONE)
        return None

    def _thumbnail_ready(self, path: str) -> None:
        for row in self._rows_by_path.get(path, []):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
