"""The search page's layout: the query and the library's folders on the left, the filters
and the results in the middle (beside them, on a tab of their own, the labels), the preview
on the right. It wires only its own parts (the selected photo to the preview, the preview's
buttons to the file actions); the window wires it to the controllers."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from desktop.core.catalog import Label
from desktop.ui.file_actions import open_in_viewer, reveal_in_file_manager
from desktop.ui.filter_bar import FilterBar
from desktop.ui.labels_page import LabelsPage
from desktop.ui.library_browser import LibraryBrowserModel
from desktop.ui.library_panel import LibraryPanel
from desktop.ui.photo_grid import PhotoGrid
from desktop.ui.preview_pane import PreviewPane
from desktop.ui.query_panel import QueryPanel
from desktop.ui.results_area import ResultsArea
from desktop.ui.results_model import PhotoRole, ScoreRole
from desktop.ui.settings import Settings
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.workers import WorkerPool


class SearchPage(QSplitter):
    similar_requested = Signal(object)
    """Find photos like these library photos (list[Photo]), from the grids or the preview."""
    label_requested = Signal(str, object)
    """Give photos (list of ids) the label of this name, from either grid."""

    def __init__(
        self,
        settings: Settings,
        thumbnails: ThumbnailProvider,
        workers: WorkerPool,
        browser: LibraryBrowserModel,
        parent=None,
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.query_panel = QueryPanel(self)
        self.library_panel = LibraryPanel(self)
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(self.query_panel)
        left.addWidget(self.library_panel)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        self.filter_bar = FilterBar(settings.result_count, self)
        self.results = ResultsArea(thumbnails, settings.thumbnail_size, browser, self)
        photos = QWidget(self)
        column = QVBoxLayout(photos)
        column.addWidget(self.filter_bar)
        column.addWidget(self.results, 1)
        self.labels_page = LabelsPage(thumbnails, settings.thumbnail_size, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(photos, "Photos")
        self.tabs.addTab(self.labels_page, "Labels")
        self.preview = PreviewPane(workers, self)
        for pane in (left, self.tabs, self.preview):
            self.addWidget(pane)
        self.setSizes([250, 780, 250])
        self.setStretchFactor(1, 1)
        self.tabs.currentChanged.connect(self._preview_current)
        for grid in (self.results.view, self.labels_page.grid):
            grid.current_photo_changed.connect(self.preview.show_photo)
            grid.similar_requested.connect(self.similar_requested)
            grid.label_requested.connect(self.label_requested)
        self.preview.similar_requested.connect(lambda photo: self.similar_requested.emit([photo]))
        self.preview.open_requested.connect(open_in_viewer)
        self.preview.reveal_requested.connect(reveal_in_file_manager)

    def show_photos(self) -> None:
        """The results (or the library) rather than the labels."""
        self.tabs.setCurrentIndex(0)

    def show_labels(self) -> None:
        self.tabs.setCurrentWidget(self.labels_page)

    def set_labels(self, labels: list[Label]) -> None:
        """The labels as they are now: listed, and offered by "Add to label"."""
        self.results.view.label_names = [label.name for label in labels]
        self.labels_page.set_labels(labels)

    def label_selection(self) -> bool:
        """Ask which label to give the photos selected in the grid in view; False when none
        is selected."""
        return self._grid_in_view().label_selection()

    def _grid_in_view(self) -> PhotoGrid:
        on_labels = self.tabs.currentWidget() is self.labels_page
        return self.labels_page.grid if on_labels else self.results.view

    def _preview_current(self) -> None:
        """The preview follows the grid in view."""
        current = self._grid_in_view().currentIndex()
        self.preview.show_photo(current.data(PhotoRole), current.data(ScoreRole))

    def shown_photo_ids(self) -> list[int]:
        """The photos both grids show, whose labels they show."""
        return self.results.model.photo_ids() + self.labels_page.model.photo_ids()

    def show_label_names(self, names: dict[int, list[str]]) -> None:
        self.results.model.set_names(names)
        self.labels_page.model.set_names(names)

    def apply_thumbnail_size(self, size: int) -> None:
        self.results.apply_thumbnail_size(size)
        self.labels_page.grid.delegate.thumbnail_size = size
        self.labels_page.grid.doItemsLayout()
