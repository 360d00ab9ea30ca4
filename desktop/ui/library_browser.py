"""The results grid without a query: the whole library, newest first or by folder, with a
header row where each month or folder begins.

Pages are read in the worker pool as the view scrolls (Qt's canFetchMore/fetchMore), so the
GUI thread only appends rows. The rows carry the roles of the results model, so
`ResultDelegate` draws them; a header row answers `HeaderRole` and nothing else.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from desktop.core.catalog import BrowseCursor, BrowsedPhoto, BrowseOrder, Photo
from desktop.core.library import Library
from desktop.core.paths import display_path
from desktop.core.search import NO_FILTER, SearchFilter
from desktop.ui.results_model import HeaderRole, PathRole, PhotoRole, photo_tooltip
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.workers import WorkerPool, error_text

PAGE = 200
"""Photos in a first page: a few screens of the grid."""

Row = BrowsedPhoto | str
"""A photo, or the header of the group (a month or a folder) the photos after it are in."""


def _with_headers(photos: list[BrowsedPhoto], group: str | None) -> list[Row]:
    """Rows for photos shown after a row of `group`: a header wherever the group changes."""
    rows: list[Row] = []
    for browsed in photos:
        if browsed.group != group:
            group = browsed.group
            rows.append(group)
        rows.append(browsed)
    return rows


def _same_start(old: tuple[Row, ...] | list[Row], new: list[Row]) -> int:
    """How many rows at the start of `old` and `new` are the same."""
    same = 0
    for before, after in zip(old, new, strict=False):
        if before != after:
            break
        same += 1
    return same


def _rows_by_path(rows: list[Row], first: int = 0) -> dict[str, int]:
    """Where each photo is, numbering `rows` from `first` (a thumbnail arrives by path)."""
    return {row.photo.path: n for n, row in enumerate(rows, first) if not isinstance(row, str)}


class LibraryBrowserModel(QAbstractListModel):
    """The library a page at a time; `browse` starts over, `reload` keeps the view's place."""

    loaded = Signal()
    """A page, or a reload, is in the rows."""
    failed = Signal(str)
    """A page could not be read: why, in words."""

    def __init__(
        self,
        library: Library,
        workers: WorkerPool,
        thumbnails: ThumbnailProvider,
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.thumbnails = thumbnails
        self.order = BrowseOrder.NEWEST
        self.filters = NO_FILTER
        self._rows: list[Row] = []
        self._rows_by_path: dict[str, int] = {}
        self._cursor: BrowseCursor | None = None
        self._more = False
        self._fetching = False
        self._generation = 0
        """Bumped by `browse` and `reload`: pages asked for before are dropped."""
        thumbnails.ready.connect(self._thumbnail_ready)

    # reading -------------------------------------------------------------------------------

    def browse(self, order: BrowseOrder, filters: SearchFilter = NO_FILTER) -> None:
        """Show the library from its start, in `order`, as far as `filters` keep it."""
        self._generation += 1
        self.order, self.filters = order, filters
        self.beginResetModel()
        self._rows, self._rows_by_path = [], {}
        self.endResetModel()
        self._cursor, self._more, self._fetching = None, True, False
        self.fetchMore()

    def reload(self) -> None:
        """The library changed: read as many photos again as are shown, then replace only
        the rows between the first and the last that differ, so the view keeps its place."""
        self._generation += 1
        generation, shown = self._generation, tuple(self._rows)
        library, order, filters = self.library, self.order, self.filters
        limit = max(PAGE, len(self._rows_by_path))
        self._fetching = True

        def task(progress, cancel) -> tuple[BrowseCursor | None, list[Row], int, int, dict]:
            page = library.browse(order, None, limit, filters)
            rows = _with_headers(page.photos, None)
            start = _same_start(shown, rows)
            end = _same_start(shown[start:][::-1], rows[start:][::-1])
            return page.next_cursor, rows, start, end, _rows_by_path(rows)

        self.workers.start(
            task,
            on_finished=lambda result: self._replace(generation, *result),
            on_error=lambda error: self._failed(generation, error),
        )

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more and not self._fetching

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        """Ask the worker pool for the next page. A page is a quarter of what is shown (at
        least PAGE): each page makes the view lay out every row again, so far down the
        library fewer, larger pages cost less."""
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        generation, cursor = self._generation, self._cursor
        library, order, filters = self.library, self.order, self.filters
        limit = max(PAGE, len(self._rows_by_path) // 4)
        group = self._last_group()

        def task(progress, cancel) -> tuple[BrowseCursor | None, list[Row]]:
            page = library.browse(order, cursor, limit, filters)
            return page.next_cursor, _with_headers(page.photos, group)

        self.workers.start(
            task,
            on_finished=lambda result: self._append(generation, *result),
            on_error=lambda error: self._failed(generation, error),
        )

    @property
    def fetching(self) -> bool:
        return self._fetching

    def _last_group(self) -> str | None:
        if not self._rows:
            return None
        last = self._rows[-1]
        return last if isinstance(last, str) else last.group

    def _append(self, generation: int, cursor: BrowseCursor | None, rows: list[Row]) -> None:
        if generation != self._generation:
            return  # asked for before the library was browsed again
        first = len(self._rows)
        if rows:
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows += rows
            self._rows_by_path.update(_rows_by_path(rows, first))
            self.endInsertRows()
        self._cursor, self._more, self._fetching = cursor, cursor is not None, False
        self.loaded.emit()

    def _replace(
        self,
        generation: int,
        cursor: BrowseCursor | None,
        rows: list[Row],
        start: int,
        end: int,
        rows_by_path: dict[str, int],
    ) -> None:
        if generation != self._generation:
            return
        old_stop, new_stop = len(self._rows) - end, len(rows) - end
        if old_stop > start:
            self.beginRemoveRows(QModelIndex(), start, old_stop - 1)
            del self._rows[start:old_stop]
            self.endRemoveRows()
        if new_stop > start:
            self.beginInsertRows(QModelIndex(), start, new_stop - 1)
            self._rows[start:start] = rows[start:new_stop]
            self.endInsertRows()
        self._rows_by_path = rows_by_path
        self._cursor, self._more, self._fetching = cursor, cursor is not None, False
        self.loaded.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self._more, self._fetching = False, False  # no retry loop: browse or reload again
            self.failed.emit(error_text(error))

    # rows ----------------------------------------------------------------------------------

    def photo(self, row: int) -> Photo | None:
        """The photo at `row`; None for a header row."""
        found = self._rows[row]
        return None if isinstance(found, str) else found.photo

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        """A header row can be neither selected nor made current."""
        if index.isValid() and isinstance(self._rows[index.row()], str):
            return Qt.ItemFlag.NoItemFlags
        return super().flags(index)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == HeaderRole:  # first: the delegate asks it of every row at every layout
            return display_path(row) if isinstance(row, str) else None
        if isinstance(row, str):
            return display_path(row) if role == Qt.ItemDataRole.DisplayRole else None
        photo = row.photo
        if role == Qt.ItemDataRole.DisplayRole:
            return display_path(os.path.basename(photo.path))
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.pixmap(photo.path) or self.thumbnails.placeholder()
        if role == Qt.ItemDataRole.ToolTipRole:
            return photo_tooltip(photo)
        if role == PhotoRole:
            return photo
        if role == PathRole:
            return photo.path
        return None  # ScoreRole among them: without a query there is no score

    def _thumbnail_ready(self, path: str) -> None:
        row = self._rows_by_path.get(path)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
