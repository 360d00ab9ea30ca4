"""The search page's layout: the query and the library's folders on the left, the filters
and the results in the middle, the preview on the right. It wires only its own parts (the
selected result to the preview, the preview's buttons to the file actions); the window
wires it to the controllers."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from desktop.ui.file_actions import open_in_viewer, reveal_in_file_manager
from desktop.ui.filter_bar import FilterBar
from desktop.ui.library_browser import LibraryBrowserModel
from desktop.ui.library_panel import LibraryPanel
from desktop.ui.preview_pane import PreviewPane
from desktop.ui.query_panel import QueryPanel
from desktop.ui.results_area import ResultsArea
from desktop.ui.settings import Settings
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.workers import WorkerPool


class SearchPage(QSplitter):
    similar_requested = Signal(object)
    """Find photos like these library photos (list[Photo]), from the results or the preview."""

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
        middle = QWidget(self)
        column = QVBoxLayout(middle)
        column.addWidget(self.filter_bar)
        column.addWidget(self.results, 1)
        self.preview = PreviewPane(workers, self)
        for pane in (left, middle, self.preview):
            self.addWidget(pane)
        self.setSizes([250, 780, 250])
        self.setStretchFactor(1, 1)
        self.results.current_changed.connect(self.preview.show_photo)
        self.results.similar_requested.connect(self.similar_requested)
        self.preview.similar_requested.connect(lambda photo: self.similar_requested.emit([photo]))
        self.preview.open_requested.connect(open_in_viewer)
        self.preview.reveal_requested.connect(reveal_in_file_manager)
