"""The results area: what the grid shows, or what to do when there is nothing to show.

The one place that decides the middle of the window: search results with their caption;
without a query, the library itself (newest first or by folder, as the Group by choice
beside the caption says); or a message in their place (no photos yet: add a folder;
nothing matched). Errors show above it in a banner.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalog import BrowseOrder
from desktop.core.paths import display_path
from desktop.core.queries import QueryOutcome
from desktop.core.search import NO_FILTER, SearchFilter
from desktop.core.status import LibraryStatus
from desktop.ui.file_actions import copy_image, copy_path, open_in_viewer, reveal_in_file_manager
from desktop.ui.library_browser import LibraryBrowserModel
from desktop.ui.result_delegate import ResultDelegate
from desktop.ui.results_model import PhotoRole, ResultsModel, ScoreRole
from desktop.ui.thumbnails import ThumbnailProvider

BROWSE_HINT = (
    "double-click a photo to find others like it, or drop, paste (Ctrl+V) or open (Ctrl+O) one"
)
LAYOUT_BATCH = 100
"""Rows the grid lays out per event-loop turn (worst stall ~100 ms at 100k browsed photos
on a busy 2-core machine, against 1.7 s laid out at once)."""
ADD_FOLDER = (
    "No photos yet. Drop a photo folder on the window, or click Add folder, to index it; "
    "then drop a photo to find others like it."
)


BROWSE_ORDERS = {
    BrowseOrder.NEWEST: ("Newest first", "The library, newest first"),
    BrowseOrder.FOLDER: ("By folder", "The library, folder by folder"),
}
"""The Group by choice and the caption of each way to browse the library."""


def empty_message(
    status: LibraryStatus | None, *, indexing: bool, searched: bool, narrowed: bool
) -> str:
    """What to do next, where the results would be (empty while the status is not read, and
    without a query while the library has photos: the grid shows them)."""
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
    return "No photos match this search yet." if searched else ""


class ResultsArea(QWidget):
    similar_requested = Signal(object)
    """Find photos like these (list[Photo]): a double-click, Enter or the menu."""
    current_changed = Signal(object, object)
    """The photo to preview and its similarity (None without a query), or None, None."""

    def __init__(
        self,
        thumbnails: ThumbnailProvider,
        thumbnail_size: int,
        browser: LibraryBrowserModel,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.model = ResultsModel(thumbnails, self)
        self.browser = browser
        self._browse_filters = NO_FILTER
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { color: #b22; padding: 4px; }")
        self.banner.hide()
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.group_by = QComboBox(self)
        self.group_by.addItems([choice for choice, _ in BROWSE_ORDERS.values()])
        self.group_by.currentIndexChanged.connect(lambda _: self._show_library())
        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        # Laid out a hundred rows per event-loop turn: with header rows, laying out 100k
        # browsed photos at once stalls the window for over a second.
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(LAYOUT_BATCH)
        self.view.setSpacing(4)
        self.view.setMouseTracking(True)
        self.delegate = ResultDelegate(thumbnail_size, self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.doubleClicked.connect(lambda index: self._similar_to([index.row()]))
        self._connect_current()
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
        caption_row = QHBoxLayout()
        caption_row.addWidget(self.caption, 1)
        caption_row.addWidget(self.group_by)
        layout.addWidget(self.banner)
        layout.addLayout(caption_row)
        layout.addWidget(self.pages, 1)
        self._status: LibraryStatus | None = None
        self._indexing = False
        self._searched = self._narrowed = False
        self.apply_thumbnail_size(thumbnail_size)
        self._show_library()

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
        self._show_in_grid(self.model)
        self.model.set_results(results)
        self.caption.setText(
            f"{caption}: {len(results)} results in {outcome.seconds * 1000:.0f} ms"
        )
        self._show_empty_if_nothing()
        if results:
            self.view.setCurrentIndex(self.model.index(0))
        else:
            self.current_changed.emit(None, None)

    def show_failed(self) -> None:
        self.caption.setText("Search failed")

    def clear(self) -> None:
        """No query any more: the library again."""
        self._searched = False
        self.model.set_results([])
        self._show_library()
        self.current_changed.emit(None, None)

    def set_browse_filters(self, filters: SearchFilter) -> None:
        """The filter bar's folder and dates, for the library as for results (the similarity
        cutoff needs a query)."""
        self._browse_filters = replace(filters, min_score=NO_FILTER.min_score)
        if not self._searched:
            self._show_library()

    def _show_library(self) -> None:
        """The library in the grid, read again only when its order or filters changed."""
        order = list(BROWSE_ORDERS)[self.group_by.currentIndex()]
        self._show_in_grid(self.browser)
        self.caption.setText(f"{BROWSE_ORDERS[order][1]}: {BROWSE_HINT}.")
        browsing = (self.browser.order, self.browser.filters)
        if browsing != (order, self._browse_filters) or self.browser.rowCount() == 0:
            self.browser.browse(order, self._browse_filters)
        self._show_empty_if_nothing()

    def _show_in_grid(self, model: ResultsModel | LibraryBrowserModel) -> None:
        """Results, or the library, whose header rows need cells of their own size."""
        if self.view.model() is model:
            return
        replaced = self.view.selectionModel()
        self.view.setModel(model)
        replaced.deleteLater()
        self.view.setUniformItemSizes(model is self.model)
        self._connect_current()
        self.group_by.setVisible(model is self.browser)

    def _connect_current(self) -> None:
        self.view.selectionModel().currentChanged.connect(
            lambda current, _: self.current_changed.emit(
                current.data(PhotoRole), current.data(ScoreRole)
            )
        )

    def show_error(self, message: str) -> None:
        self.banner.setText(display_path(message))
        self.banner.show()

    def clear_error(self) -> None:
        self.banner.hide()

    def apply_thumbnail_size(self, size: int) -> None:
        self.thumbnails.set_size(size)
        self.delegate.thumbnail_size = size
        self.view.doItemsLayout()  # redraw at the new size

    def _show_empty_if_nothing(self) -> None:
        message = empty_message(
            self._status, indexing=self._indexing, searched=self._searched, narrowed=self._narrowed
        )
        # without a query the library shows, so there is a message only when it has no photo
        nothing = bool(message) and (not self._searched or self.model.rowCount() == 0)
        self.empty.setText(message)
        self.pages.setCurrentWidget(self.empty if nothing else self.view)

    def _similar_to_selected(self) -> None:
        self._similar_to(sorted(index.row() for index in self.view.selectedIndexes()))

    def _similar_to(self, rows: list[int]) -> None:
        model = self.view.model()
        photos = [model.index(row).data(PhotoRole) for row in rows]
        photos = [photo for photo in photos if photo is not None]  # a header row holds none
        if photos:
            self.similar_requested.emit(photos)

    def _menu(self, position) -> None:
        photo = self.view.indexAt(position).data(PhotoRole)
        if photo is None:
            return
        path = photo.path
        menu = QMenu(self)
        menu.addAction("Find similar", self._similar_to_selected)
        menu.addSeparator()
        menu.addAction("Open", lambda: open_in_viewer(path))
        menu.addAction("Show in folder", lambda: reveal_in_file_manager(path))
        menu.addAction("Copy path", lambda: copy_path(path))
        menu.addAction("Copy image", lambda: copy_image(path))
        menu.exec(self.view.viewport().mapToGlobal(position))
