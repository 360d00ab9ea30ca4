"""The results area: what the grid shows, or what to do when there is nothing to show.

The one place that decides the middle of the window: search results with their caption, or
a message in their place (no photos yet: add a folder; no query yet; nothing matched).
Errors show above it in a banner.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.paths import display_path
from desktop.core.queries import QueryOutcome
from desktop.core.status import LibraryStatus
from desktop.ui.file_actions import copy_image, copy_path, open_in_viewer, reveal_in_file_manager
from desktop.ui.result_delegate import ResultDelegate
from desktop.ui.results_model import PhotoRole, ResultsModel
from desktop.ui.thumbnails import ThumbnailProvider

ASK = (
    "Drop a photo anywhere on the window, paste one (Ctrl+V) or open one (Ctrl+O) to find "
    "photos like it."
)
ADD_FOLDER = (
    "No photos yet. Drop a photo folder on the window, or click Add folder, to index it; "
    "then drop a photo to find others like it."
)


def empty_message(
    status: LibraryStatus | None, *, indexing: bool, searched: bool, narrowed: bool
) -> str:
    """What to do next, where the results would be (empty while the status is not read)."""
    if status is None:
        return ""
    if status.photos == 0 and indexing:
        return "Looking for photos in your folders… They can be searched once indexed."
    if status.photos == 0 and not status.folders:
        return ADD_FOLDER
    if status.photos == 0:
        return "No photos found in the library's folders. Add a folder that holds photos."
    if searched and narrowed:
        return (
            "No photos match with these filters: lower the similarity, or widen the folder "
            "or the dates."
        )
    return "No photos match this search yet." if searched else ASK


class ResultsArea(QWidget):
    similar_requested = Signal(object)
    """Find photos like these (list[Photo]): a double-click, Enter or the menu."""
    current_changed = Signal(object)
    """The result to preview (SearchResult), or None."""

    def __init__(
        self, thumbnails: ThumbnailProvider, thumbnail_size: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.model = ResultsModel(thumbnails, self)
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { color: #b22; padding: 4px; }")
        self.banner.hide()
        self.caption = QLabel(self)
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(4)
        self.view.setMouseTracking(True)
        self.delegate = ResultDelegate(thumbnail_size, self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.doubleClicked.connect(
            lambda index: self.similar_requested.emit([index.data(PhotoRole)])
        )
        self.view.selectionModel().currentChanged.connect(
            lambda current, _: self.current_changed.emit(
                self.model.result(current.row()) if current.isValid() else None
            )
        )
        enter = QShortcut(QKeySequence(Qt.Key.Key_Return), self.view)
        enter.setContext(Qt.ShortcutContext.WidgetShortcut)
        enter.activated.connect(self._similar_to_selected)
        self.empty = QLabel(self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setMargin(32)
        self.empty.setStyleSheet("QLabel { font-size: 13pt; }")
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.view)
        self.pages.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.caption)
        layout.addWidget(self.pages, 1)
        self._status: LibraryStatus | None = None
        self._indexing = False
        self._searched = self._narrowed = False
        self.apply_thumbnail_size(thumbnail_size)
        self._show_empty_if_nothing()

    def set_library(self, status: LibraryStatus | None, *, indexing: bool) -> None:
        """The library changed: the message for an empty grid may have to change too."""
        self._status, self._indexing = status, indexing
        self._show_empty_if_nothing()

    def show_searching(self, caption: str) -> None:
        """A new query: the last one's error goes, its results stay until the new ones come."""
        self.clear_error()
        self.caption.setText(f"{caption}: searching…")

    def show_results(self, caption: str, outcome: QueryOutcome, *, narrowed: bool) -> None:
        """Results of a search; `narrowed`: filters hid some photos (said when none is left)."""
        self._searched, self._narrowed = True, narrowed
        results = outcome.results
        self.model.set_results(results)
        self.caption.setText(
            f"{caption}: {len(results)} results in {outcome.seconds * 1000:.0f} ms"
        )
        self._show_empty_if_nothing()
        if results:
            self.view.setCurrentIndex(self.model.index(0))
        else:
            self.current_changed.emit(None)

    def show_failed(self) -> None:
        self.caption.setText("Search failed")

    def clear(self) -> None:
        self._searched = False
        self.model.set_results([])
        self.caption.setText("")
        self._show_empty_if_nothing()
        self.current_changed.emit(None)

    def show_error(self, message: str) -> None:
        self.banner.setText(display_path(message))
        self.banner.show()

    def clear_error(self) -> None:
        self.banner.hide()

    def apply_thumbnail_size(self, size: int) -> None:
        self.thumbnails.set_size(size)
        self.delegate.thumbnail_size = size
        self.model.set_results(self.model.results())  # redraw at the new size

    def _show_empty_if_nothing(self) -> None:
        message = empty_message(
            self._status, indexing=self._indexing, searched=self._searched, narrowed=self._narrowed
        )
        nothing = self.model.rowCount() == 0 and bool(message)
        self.empty.setText(message)
        self.pages.setCurrentWidget(self.empty if nothing else self.view)

    def _similar_to_selected(self) -> None:
        rows = sorted(index.row() for index in self.view.selectedIndexes())
        if rows:
            self.similar_requested.emit([self.model.index(row).data(PhotoRole) for row in rows])

    def _menu(self, position) -> None:
        index = self.view.indexAt(position)
        if not index.isValid():
            return
        path = self.model.result(index.row()).photo.path
        menu = QMenu(self)
        menu.addAction("Find similar", self._similar_to_selected)
        menu.addSeparator()
        menu.addAction("Open", lambda: open_in_viewer(path))
        menu.addAction("Show in folder", lambda: reveal_in_file_manager(path))
        menu.addAction("Copy path", lambda: copy_path(path))
        menu.addAction("Copy image", lambda: copy_image(path))
        menu.exec(self.view.viewport().mapToGlobal(position))
