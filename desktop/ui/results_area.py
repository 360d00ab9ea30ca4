"""The results area: what the grid shows, or what to do when there is nothing to show.

The one place that decides the middle of the window: search results with their caption;
without a query, the library itself (newest first or by folder, as the Group by choice
beside the caption says); or a message in their place (no photos yet: add a folder;
nothing matched). Errors show above it in a banner.

Search results can be marked good or bad (keys + or =, -, 0 to clear, or the buttons under
the caption): the marks re-rank the query, and the good ones can be saved to a label.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalog import BrowseOrder
from desktop.core.paths import display_path
from desktop.core.queries import QueryOutcome
from desktop.core.search import NO_FILTER, SearchFilter
from desktop.core.status import LibraryStatus
from desktop.ui.controllers.search import Mark
from desktop.ui.label_dialogs import choose_label
from desktop.ui.library_browser import LibraryBrowserModel
from desktop.ui.photo_grid import PhotoGrid
from desktop.ui.results_model import PhotoRole, ResultsModel
from desktop.ui.thumbnails import ThumbnailProvider

BROWSE_HINT = (
    "double-click a photo to find others like it, or drop, paste (Ctrl+V) or open (Ctrl+O) one"
)
MARK_KEYS = {
    Qt.Key.Key_Plus: Mark.GOOD,
    Qt.Key.Key_Equal: Mark.GOOD,
    Qt.Key.Key_Minus: Mark.BAD,
    Qt.Key.Key_0: Mark.NONE,
}
"""Keys that mark the selected results (= is + without Shift)."""
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
    marks_requested = Signal(object, object)
    """Mark these results (list of photo ids) with this Mark."""
    clear_marks_requested = Signal()

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
        self.view = PhotoGrid(thumbnail_size, self)
        self.view.setModel(self.model)
        self.view.similar_requested.connect(self.similar_requested)
        self.view.current_photo_changed.connect(self.current_changed)
        for key, mark in MARK_KEYS.items():
            shortcut = QShortcut(QKeySequence(key), self.view)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda mark=mark: self._mark_selected(mark))
        self.feedback = self._feedback_buttons()
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
        layout.addWidget(self.feedback)
        layout.addWidget(self.pages, 1)
        self._status: LibraryStatus | None = None
        self._indexing = False
        self._searched = self._narrowed = False
        self._good: tuple[int, ...] = ()
        """The shown query's results marked good: what "Save marks to label" saves."""
        self.apply_thumbnail_size(thumbnail_size)
        self._show_library()

    def _feedback_buttons(self) -> QWidget:
        """Relevance feedback on the results: mark, clear the marks, save them to a label."""
        bar = QWidget(self)
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.more_button = QPushButton("More like these", bar)
        self.more_button.setToolTip("Mark the selected results as what you mean (+) and re-rank")
        self.more_button.clicked.connect(lambda: self._mark_selected(Mark.GOOD))
        self.fewer_button = QPushButton("Fewer like these", bar)
        self.fewer_button.setToolTip("Mark the selected results as not what you mean (-)")
        self.fewer_button.clicked.connect(lambda: self._mark_selected(Mark.BAD))
        self.clear_marks_button = QPushButton("Clear marks", bar)
        self.clear_marks_button.setToolTip("Forget every mark (0 clears the selected ones)")
        self.clear_marks_button.clicked.connect(self.clear_marks_requested)
        self.save_marks_button = QPushButton("Save marks to label…", bar)
        self.save_marks_button.setToolTip("Give the results marked good (✓) a label")
        self.save_marks_button.clicked.connect(self._save_marks)
        for button in (
            self.more_button,
            self.fewer_button,
            self.clear_marks_button,
            self.save_marks_button,
        ):
            button.setEnabled(False)
            row.addWidget(button)
        row.addStretch(1)
        self.view.selection_changed.connect(self._selection_changed)
        bar.hide()
        return bar

    def _selection_changed(self, selected: int) -> None:
        for button in (self.more_button, self.fewer_button):
            button.setEnabled(selected > 0)

    def set_library(self, status: LibraryStatus | None, *, indexing: bool) -> None:
        """The library changed: the message for an empty grid may have to change too."""
        self._status, self._indexing = status, indexing
        self._show_empty_if_nothing()

    def show_searching(self, caption: str) -> None:
        """A new query: the last one's error goes, its results stay until the new ones come."""
        self.clear_error()
        self.caption.setText(f"{caption}: searching…")

    def show_results(
        self, caption: str, outcome: QueryOutcome, *, narrowed: bool, reranked: bool = False
    ) -> None:
        """Results of a search; `narrowed`: filters hid some photos (said when none is left);
        `reranked`: the same query again, so the selected photos stay selected."""
        self._searched, self._narrowed = True, narrowed
        results, query = outcome.results, outcome.query
        selected = [p.id for p in self.view.selected_photos()] if reranked else []
        current = self.view.currentIndex().data(PhotoRole) if reranked else None
        self._show_in_grid(self.model)
        self.model.set_results(results, good=query.good, bad=query.bad)
        self._good = query.good
        self.clear_marks_button.setEnabled(bool(query.good or query.bad))
        self.save_marks_button.setEnabled(bool(query.good))
        self.caption.setText(
            f"{caption}: {len(results)} results in {outcome.seconds * 1000:.0f} ms"
        )
        self._show_empty_if_nothing()
        if results:
            self._select(selected, current.id if current is not None else None)
        else:
            self.current_changed.emit(None, None)

    def _select(self, photo_ids: list[int], current_id: int | None) -> None:
        """Select these photos where they are now, the current one current (else the
        first result)."""
        rows = {photo_id: row for row, photo_id in enumerate(self.model.photo_ids())}
        self.view.setCurrentIndex(self.model.index(rows.get(current_id, 0)))
        selection = self.view.selectionModel()
        for photo_id in photo_ids:
            if photo_id in rows:
                selection.select(self.model.index(rows[photo_id]), selection.SelectionFlag.Select)

    def _mark_selected(self, mark: Mark) -> None:
        ids = [photo.id for photo in self.view.selected_photos()]
        if self._shows_results() and ids:
            self.marks_requested.emit(ids, mark)

    def _save_marks(self) -> None:
        name = choose_label(self, self.view.label_names, len(self._good))
        if name is not None:
            self.view.label_requested.emit(name, list(self._good))

    def _shows_results(self) -> bool:
        return self.view.model() is self.model

    def show_failed(self) -> None:
        self.caption.setText("Search failed")

    def clear(self) -> None:
        """No query any more: the library again."""
        self._searched, self._good = False, ()
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
        self.group_by.setVisible(model is self.browser)
        self.feedback.setVisible(model is self.model)
        self._selection_changed(0)

    def show_error(self, message: str) -> None:
        self.banner.setText(display_path(message))
        self.banner.show()

    def clear_error(self) -> None:
        self.banner.hide()

    def apply_thumbnail_size(self, size: int) -> None:
        self.thumbnails.set_size(size)
        self.view.delegate.thumbnail_size = size
        self.view.doItemsLayout()  # redraw at the new size

    def _show_empty_if_nothing(self) -> None:
        message = empty_message(
            self._status, indexing=self._indexing, searched=self._searched, narrowed=self._narrowed
        )
        # without a query the library shows, so there is a message only when it has no photo
        nothing = bool(message) and (not self._searched or self.model.rowCount() == 0)
        self.empty.setText(message)
        self.pages.setCurrentWidget(self.empty if nothing else self.view)
