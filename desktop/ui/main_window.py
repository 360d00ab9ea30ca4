"""The main window: ask by example (open, drop, paste, find similar, region), see results.

All work that touches the engine runs in the worker pool; this module only wires
`desktop.core.library.Library` to widgets and keeps the last query so that filter changes
re-rank instantly from its vector instead of embedding the query again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from PySide6.QtCore import QBuffer, QByteArray, QDate, QIODevice, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME, text
from desktop.core.catalog import ModelRecord, Photo
from desktop.core.descriptor_model import ModelError
from desktop.core.indexer import Phase, Progress, SyncReport
from desktop.core.library import Library, LibraryError
from desktop.core.model_catalog import load_catalog
from desktop.core.model_provisioning import get_catalog_model
from desktop.core.paths import AppPaths, display_path, resource_path
from desktop.core.queries import Query, QueryOutcome
from desktop.core.scanner import supported_extensions
from desktop.core.search import SearchFilter, SearchResult
from desktop.ui.duplicates_dialog import DuplicatesDialog
from desktop.ui.file_actions import copy_image, copy_path, open_in_viewer, reveal_in_file_manager
from desktop.ui.first_run import FirstRunPage
from desktop.ui.library_panel import LibraryPanel
from desktop.ui.model_chooser import ModelChooser
from desktop.ui.models_dialog import ModelsDialog
from desktop.ui.preview_pane import PreviewPane, read_preview
from desktop.ui.query_panel import QueryImage, QueryPanel
from desktop.ui.result_delegate import ResultDelegate
from desktop.ui.results_model import ResultsModel
from desktop.ui.settings import Settings
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.skipped_dialog import SkippedDialog
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.workers import Worker, WorkerPool


@dataclass
class ActiveQuery:
    """What the results show: the query (with its vector once run) and its caption."""

    query: Query = field(default_factory=Query)
    caption: str = ""
    """What the results show, in words ("Photos like image_0042.jpg")."""


@dataclass(frozen=True)
class SearchOutcome:
    generation: int
    outcome: QueryOutcome
    displays: list[QueryImage] | None


def encode_png(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(QByteArray(buffer.data()))


def _searchable(path: str) -> bool:
    """Whether a dropped or pasted path is searched: anything there but a folder. A special
    file (a FIFO, a device) is handed to the loader too, which says why it is refused."""
    return os.path.exists(path) and not os.path.isdir(path)


class MainWindow(QMainWindow):
    search_finished = Signal()
    """Results (or an error) for the latest query are shown."""
    indexing_finished = Signal(object)
    model_ready = Signal(object)
    """A catalog model was got and is the active one (its ModelRecord)."""

    def __init__(
        self,
        library: Library,
        settings: Settings,
        paths: AppPaths,
        *,
        index_on_start: bool = True,
    ) -> None:
        super().__init__()
        self.library = library
        self.settings = settings
        self.paths = paths
        self.workers = WorkerPool(self)
        self.thumbnails = ThumbnailProvider(paths.cache, settings.thumbnail_size, self)
        self.results_model = ResultsModel(self.thumbnails, self)
        self.query = ActiveQuery()
        self._generation = 0
        self._index_worker: Worker | None = None
        self._reindex_after = False
        self._model_worker: Worker | None = None
        self.catalog = load_catalog()
        self.last_sync: SyncReport | None = None
        self._filter_folders: list[str | None] = [None]
        """The folder filter's paths by row (item data goes through QString, which drops
        the bytes of a name that are not valid UTF-8)."""

        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(QIcon(str(resource_path("icon.svg"))))
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self._build_pages()
        self._build_actions()
        self._build_status_bar()
        self.refresh_library()
        if self.library.active_model() is None:
            self.pages.setCurrentWidget(self.first_run)
        elif index_on_start and self.library.folders() and not self.library.read_only:
            self.start_indexing()

    # layout --------------------------------------------------------------------------------

    def _build_pages(self) -> None:
        self.pages = QStackedWidget(self)
        self.first_run = FirstRunPage(self.catalog, self)
        self._connect_chooser(self.first_run.chooser)
        self.first_run.choose_file_requested.connect(self.choose_model_file)
        self.pages.addWidget(self.first_run)

        self.query_panel = QueryPanel(self)
        self.query_panel.cleared.connect(self.clear_query)
        self.query_panel.region_search_requested.connect(self.search_region)
        self.library_panel = LibraryPanel(self)
        self.library_panel.add_requested.connect(self.choose_folder)
        self.library_panel.remove_requested.connect(self.remove_folder)
        self.library_panel.index_requested.connect(self.start_indexing)
        self.library_panel.cancel_requested.connect(self.cancel_indexing)
        self.library_panel.skipped_requested.connect(self.show_skipped)
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(self.query_panel)
        left.addWidget(self.library_panel)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)

        self.results_view = QListView(self)
        self.results_view.setModel(self.results_model)
        self.results_view.setViewMode(QListView.ViewMode.IconMode)
        self.results_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.results_view.setMovement(QListView.Movement.Static)
        self.results_view.setUniformItemSizes(True)
        self.results_view.setSpacing(4)
        self.results_view.setMouseTracking(True)
        self.result_delegate = ResultDelegate(self.settings.thumbnail_size, self.results_view)
        self.results_view.setItemDelegate(self.result_delegate)
        self.results_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.results_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.results_view.customContextMenuRequested.connect(self._results_menu)
        self.results_view.doubleClicked.connect(lambda index: self.find_similar_rows([index.row()]))
        self.results_view.selectionModel().currentChanged.connect(
            lambda current, _: self._preview(current.row())
        )
        enter = QShortcut(QKeySequence(Qt.Key.Key_Return), self.results_view)
        enter.setContext(Qt.ShortcutContext.WidgetShortcut)
        enter.activated.connect(self.find_similar_selected)
        self._apply_thumbnail_size()

        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { color: #b22; padding: 4px; }")
        self.banner.hide()
        self.results_caption = QLabel("Drop a photo anywhere on the window to search.", self)
        middle = QWidget(self)
        middle_layout = QVBoxLayout(middle)
        middle_layout.addLayout(self._build_filters())
        middle_layout.addWidget(self.banner)
        middle_layout.addWidget(self.results_caption)
        middle_layout.addWidget(self.results_view, 1)

        self.preview = PreviewPane(self)
        self.preview.open_requested.connect(open_in_viewer)
        self.preview.reveal_requested.connect(reveal_in_file_manager)
        self.preview.similar_requested.connect(lambda photo: self.find_similar([photo]))

        self.search_page = QSplitter(Qt.Orientation.Horizontal, self)
        self.search_page.addWidget(left)
        self.search_page.addWidget(middle)
        self.search_page.addWidget(self.preview)
        self.search_page.setSizes([250, 780, 250])
        self.search_page.setStretchFactor(1, 1)
        self.pages.addWidget(self.search_page)
        self.pages.setCurrentWidget(self.search_page)
        self.setCentralWidget(self.pages)

    def _build_filters(self) -> QVBoxLayout:
        self.min_score = QSlider(Qt.Orientation.Horizontal, self)
        self.min_score.setRange(0, 100)
        self.min_score.setValue(0)
        self.min_score.setToolTip("Hide results less similar than this (0 = show all)")
        self.min_score.setMinimumWidth(120)
        self.min_score_label = QLabel("any", self)
        self.min_score_label.setMinimumWidth(36)
        self.count = QSpinBox(self)
        self.count.setRange(1, 1000)
        self.count.setValue(self.settings.result_count)
        self.folder_filter = QComboBox(self)
        self.folder_filter.setMinimumContentsLength(12)
        self.date_filter = QCheckBox("Taken between", self)
        self.date_from = QDateEdit(QDate.currentDate().addYears(-1), self)
        self.date_to = QDateEdit(QDate.currentDate(), self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        first = QHBoxLayout()
        first.addWidget(QLabel("Similarity ≥", self))
        first.addWidget(self.min_score, 1)
        first.addWidget(self.min_score_label)
        first.addSpacing(12)
        first.addWidget(QLabel("Results", self))
        first.addWidget(self.count)
        second = QHBoxLayout()
        second.addWidget(QLabel("Folder", self))
        second.addWidget(self.folder_filter, 1)
        second.addSpacing(12)
        second.addWidget(self.date_filter)
        second.addWidget(self.date_from)
        second.addWidget(QLabel("and", self))
        second.addWidget(self.date_to)
        rows = QVBoxLayout()
        rows.addLayout(first)
        rows.addLayout(second)
        self.min_score.valueChanged.connect(self._min_score_changed)
        self.count.valueChanged.connect(self._count_changed)
        self.folder_filter.currentIndexChanged.connect(lambda _: self.rerun())
        self.date_filter.toggled.connect(self._date_toggled)
        self.date_from.dateChanged.connect(lambda _: self.rerun())
        self.date_to.dateChanged.connect(lambda _: self.rerun())
        return rows

    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut=None, tip: str = "") -> QAction:
            created = QAction(text, self)
            if shortcut is not None:
                created.setShortcut(shortcut)
            created.setStatusTip(tip)
            created.triggered.connect(slot)
            self.addAction(created)
            return created

        self.open_action = action(
            "&Open image…", self.choose_query_files, QKeySequence.StandardKey.Open,
            "Search with one or more photos from disk",
        )  # fmt: skip
        self.paste_action = action(
            "&Paste image", self.paste, QKeySequence.StandardKey.Paste,
            "Search with an image or a file copied to the clipboard",
        )  # fmt: skip
        self.add_folder_action = action("Add &folder…", self.choose_folder)
        self.index_action = action("&Index now", self.start_indexing, QKeySequence("F5"))
        self.cancel_action = action("&Cancel indexing", self.cancel_indexing)
        self.cancel_action.setEnabled(False)
        self.duplicates_action = action("Find &duplicates…", self.show_duplicates)
        self.models_action = action("&Models…", self.show_models)
        self.settings_action = action("&Settings…", self.show_settings)
        quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)

        file_menu = self.menuBar().addMenu("&File")
        for item in (self.open_action, self.paste_action, self.add_folder_action):
            file_menu.addAction(item)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        library_menu = self.menuBar().addMenu("&Library")
        for item in (self.index_action, self.cancel_action, self.duplicates_action):
            library_menu.addAction(item)
        library_menu.addSeparator()
        library_menu.addAction(self.models_action)
        library_menu.addAction(self.settings_action)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        for item in (
            self.open_action,
            self.paste_action,
            self.add_folder_action,
            self.index_action,
            self.duplicates_action,
            self.models_action,
        ):
            toolbar.addAction(item)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(360)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

    # status --------------------------------------------------------------------------------

    def refresh_library(self) -> None:
        """Folders, filters and the status line from the catalog."""
        status = self.library.status()
        folders = self.library.folders()
        self.library_panel.set_folders(folders, len(status.skipped), writable=not status.read_only)
        current = self.filter_folder()
        self._filter_folders = [None, *(folder.path for folder in folders)]
        self.folder_filter.blockSignals(True)
        self.folder_filter.clear()
        self.folder_filter.addItem("All folders", None)
        for folder in folders:
            name = display_path(os.path.basename(folder.path) or folder.path)
            self.folder_filter.addItem(name, folder.path)
        if current in self._filter_folders:
            self.folder_filter.setCurrentIndex(self._filter_folders.index(current))
        self.folder_filter.blockSignals(False)
        self.status_label.setText(text.status_line(status, indexing=self.indexing))
        has_model = bool(status.models)
        for action in (self.open_action, self.paste_action):
            action.setEnabled(has_model)
        self.index_action.setEnabled(has_model and not status.read_only)
        self.add_folder_action.setEnabled(not status.read_only)
        self.duplicates_action.setEnabled(has_model and status.photos > 0)

    def show_error(self, message: str) -> None:
        message = display_path(message)
        self.banner.setText(message)
        self.banner.show()
        self.statusBar().showMessage(message, 8000)

    def clear_error(self) -> None:
        self.banner.hide()

    # asking --------------------------------------------------------------------------------

    def choose_query_files(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(supported_extensions()))
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Search with photos", "", f"Images ({patterns});;All files (*)"
        )
        if paths:
            self.search_files(paths)

    def search_files(self, paths: list[str]) -> None:
        """Search with photos from disk (several: their combined look)."""
        names = display_path(", ".join(os.path.basename(p) for p in paths))
        self._start_query(
            ActiveQuery(Query(images=list(paths)), caption=f"Photos like {names}"),
            load_displays=lambda: [QueryImage(os.path.basename(p), read_preview(p)) for p in paths],
        )

    def search_image(self, image: QImage, label: str) -> None:
        """Search with an image that is not a file (pasted or dropped image data)."""
        data = encode_png(image)
        self._start_query(
            ActiveQuery(Query(images=[data]), caption=f"Photos like the {label}"),
            load_displays=lambda: [QueryImage(label, image)],
        )

    def search_region(self, region: QImage) -> None:
        """Search with the part of the query image the user selected."""
        self._start_query(
            ActiveQuery(
                Query(images=[encode_png(region)]),
                caption=f"Photos like the selected region ({region.width()} x {region.height()})",
            ),
            load_displays=None,
        )

    def find_similar(self, photos: list[Photo]) -> None:
        """Search with photos already in the library, from their stored descriptors."""
        paths = [p.path for p in photos]
        names = display_path(", ".join(os.path.basename(p) for p in paths))
        self._start_query(
            ActiveQuery(Query(photos=[p.id for p in photos]), caption=f"Photos similar to {names}"),
            load_displays=lambda: [QueryImage(os.path.basename(p), read_preview(p)) for p in paths],
        )

    def find_similar_rows(self, rows: list[int]) -> None:
        if rows:
            self.find_similar([self.results_model.result(row).photo for row in rows])

    def find_similar_selected(self) -> None:
        rows = sorted(index.row() for index in self.results_view.selectedIndexes())
        self.find_similar_rows(rows)

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()] if mime else []
        if files:
            self.search_files(files)
        elif mime is not None and mime.hasImage():
            self.search_image(QImage(mime.imageData()), "pasted image")
        elif mime is not None and mime.hasText() and _searchable(mime.text().strip()):
            self.search_files([mime.text().strip()])
        else:
            self.show_error("The clipboard holds no image or image file to search with.")

    def clear_query(self) -> None:
        self.query = ActiveQuery()
        self._generation += 1
        self.results_model.set_results([])
        self.preview.show_result(None)
        self.results_caption.setText("Drop a photo anywhere on the window to search.")

    def rerun(self) -> None:
        """Search again with the current query after a filter changed (no re-embedding)."""
        if not self.query.query.empty:
            self._start_query(self.query, load_displays=None)

    def filter_folder(self) -> str | None:
        """The folder the results are limited to (None: all)."""
        return self._filter_folders[max(self.folder_filter.currentIndex(), 0)]

    def current_filter(self) -> SearchFilter:
        value = self.min_score.value()
        folder = self.filter_folder()
        date_from = date_to = None
        if self.date_filter.isChecked():
            date_from = self.date_from.date().toString("yyyy-MM-dd")
            date_to = self.date_to.date().toString("yyyy-MM-dd")
        return SearchFilter(value / 100 if value else -1.0, folder, date_from, date_to)

    def _start_query(self, query: ActiveQuery, load_displays) -> None:
        self.clear_error()
        self.query = query
        self._generation += 1
        generation = self._generation
        top, filters, library = self.count.value(), self.current_filter(), self.library
        self.results_caption.setText(f"{query.caption}: searching…")

        def task(progress, cancel) -> SearchOutcome:
            outcome = library.run_query(query.query, top=top, filters=filters)
            displays = load_displays() if load_displays else None
            return SearchOutcome(generation, outcome, displays)

        def finished(result: SearchOutcome) -> None:
            if result.generation != self._generation:
                return  # a newer query replaced this one
            outcome = result.outcome
            query.query = outcome.query  # keeps the vector: filter changes re-rank from it
            if result.displays is not None:
                self.query_panel.set_queries(result.displays, query.caption)
            self.results_model.set_results(outcome.results)
            self.results_caption.setText(
                f"{query.caption}: {len(outcome.results)} results "
                f"in {outcome.seconds * 1000:.0f} ms"
            )
            if outcome.results:
                self.results_view.setCurrentIndex(self.results_model.index(0))
            # a first search loads the model: the status line can now say where it runs
            self.status_label.setText(
                text.status_line(self.library.status(), indexing=self.indexing)
            )
            self.search_finished.emit()

        def failed(message: str) -> None:
            if generation == self._generation:
                self.results_caption.setText("Search failed")
                self.show_error(message)
                self.search_finished.emit()

        self.workers.start(task, on_finished=finished, on_error=failed)

    # results -------------------------------------------------------------------------------

    def _preview(self, row: int) -> None:
        if row < 0:
            self.preview.show_result(None)
            return
        result = self.results_model.result(row)
        self.preview.show_result(result)
        self.workers.start(
            lambda progress, cancel: read_preview(result.photo.path),
            on_finished=lambda image: self._preview_loaded(result, image),
        )

    def _preview_loaded(self, result: SearchResult, image: QImage) -> None:
        current = self.results_view.currentIndex()
        if current.isValid() and self.results_model.result(current.row()) == result:
            self.preview.show_result(result, image)

    def _results_menu(self, position) -> None:
        index = self.results_view.indexAt(position)
        if not index.isValid():
            return
        path = self.results_model.result(index.row()).photo.path
        menu = QMenu(self)
        menu.addAction("Find similar", self.find_similar_selected)
        menu.addSeparator()
        menu.addAction("Open", lambda: open_in_viewer(path))
        menu.addAction("Show in folder", lambda: reveal_in_file_manager(path))
        menu.addAction("Copy path", lambda: copy_path(path))
        menu.addAction("Copy image", lambda: copy_image(path))
        menu.exec(self.results_view.viewport().mapToGlobal(position))

    def _min_score_changed(self, value: int) -> None:
        self.min_score_label.setText(f"{value / 100:.2f}" if value else "any")
        self.rerun()

    def _count_changed(self, value: int) -> None:
        self.settings.result_count = value
        self.rerun()

    def _date_toggled(self, checked: bool) -> None:
        self.date_from.setEnabled(checked)
        self.date_to.setEnabled(checked)
        self.rerun()

    def _apply_thumbnail_size(self) -> None:
        size = self.settings.thumbnail_size
        self.thumbnails.set_size(size)
        self.result_delegate.thumbnail_size = size

    # drag and drop -------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if _searchable(p)]
        if folders:
            self.add_folders(folders)
        if files:
            self.search_files(files)
        elif not folders and mime.hasImage():
            self.search_image(QImage(mime.imageData()), "dropped image")
        event.acceptProposedAction()

    # library -------------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        for folder in folders:
            try:
                self.library.add_folder(folder)
            except LibraryError as exc:
                self.show_error(str(exc))
        self.refresh_library()
        self.start_indexing()

    def remove_folder(self, path: str) -> None:
        if self._index_worker is not None:
            self.show_error("Wait for indexing to finish (or cancel it) before removing a folder.")
            return
        try:
            self.library.remove_folder(path)
        except LibraryError as exc:
            self.show_error(str(exc))
            return
        self.refresh_library()
        self.rerun()

    def start_indexing(self) -> None:
        if self.library.active_model() is None:
            self.pages.setCurrentWidget(self.first_run)
            return
        if self._index_worker is not None:
            self._reindex_after = True
            return
        library = self.library
        self.progress.setRange(0, 0)
        self.progress.setFormat("Scanning folders…")
        self.progress.show()
        self.library_panel.set_indexing(True)
        self.cancel_action.setEnabled(True)
        self._index_worker = self.workers.start(
            lambda progress, cancel: library.sync(progress, cancel),
            on_progress=self._index_progress,
            on_finished=self._index_finished,
            on_error=self._index_failed,
        )

    def cancel_indexing(self) -> None:
        if self._index_worker is not None:
            self._reindex_after = False
            self._index_worker.cancel()
            self.progress.setFormat("Cancelling after this batch…")

    @property
    def indexing(self) -> bool:
        return self._index_worker is not None

    def _index_progress(self, update: Progress) -> None:
        if update.phase is Phase.SCANNING:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, max(update.total, 1))
            self.progress.setValue(update.done)
        self.progress.setFormat(text.index_progress(update))

    def _index_done(self) -> None:
        self._index_worker = None
        self.progress.hide()
        self.library_panel.set_indexing(False)
        self.cancel_action.setEnabled(False)
        self.refresh_library()

    def _index_finished(self, report: SyncReport) -> None:
        self.last_sync = report
        self._index_done()
        self.statusBar().showMessage(display_path(text.sync_summary(report)), 10000)
        self.indexing_finished.emit(report)
        if not self.query.query.empty:
            self.rerun()
        if self._reindex_after:
            self._reindex_after = False
            self.start_indexing()

    def _index_failed(self, message: str) -> None:
        self._index_done()
        self.show_error(f"Indexing stopped: {message}")
        self.indexing_finished.emit(None)

    def show_skipped(self) -> None:
        SkippedDialog(self.library.catalog.skipped_photos(), self).exec()

    def show_duplicates(self) -> None:
        DuplicatesDialog(self.library, self.thumbnails, self.workers, self).exec()

    # models --------------------------------------------------------------------------------

    def show_models(self) -> None:
        dialog = ModelsDialog(self.library, self)
        dialog.activated.connect(lambda _: self.start_indexing())
        dialog.get_model_requested.connect(self.show_get_model)
        dialog.get_model_requested.connect(dialog.refresh, Qt.ConnectionType.QueuedConnection)
        dialog.exec()
        if self.library.active_model() is not None:
            self.pages.setCurrentWidget(self.search_page)
        self.refresh_library()

    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a model", "", "ONNX models (*.onnx);;All files (*)"
        )
        if path:
            self.use_model_file(path)

    def use_model_file(self, path: str) -> None:
        try:
            self.library.add_model(path, activate=True)
        except (ModelError, LibraryError, OSError) as exc:
            self.first_run.show_message(f"That file cannot be used: {exc}")
            return
        self.first_run.show_message("")
        self.pages.setCurrentWidget(self.search_page)
        self.refresh_library()
        if self.library.folders():
            self.start_indexing()

    def _connect_chooser(self, chooser: ModelChooser) -> None:
        chooser.get_requested.connect(lambda key, int8: self.get_model(key, int8, chooser))
        chooser.cancel_requested.connect(self.cancel_model_download)

    def get_model(self, key: str, int8: bool, chooser: ModelChooser) -> None:
        """Download, build and activate a catalog model in the background."""
        if self._model_worker is not None:
            return
        model = self.catalog.get(key)
        chooser.set_busy(True)
        chooser.show_message(f"Getting {model.name}…")
        self._model_worker = self.workers.start(
            lambda progress, cancel: get_catalog_model(
                self.library, key, progress=progress, cancel=cancel, int8=int8, activate=True
            ),
            on_progress=chooser.show_progress,
            on_finished=lambda record: self._model_ready(record, chooser),
            on_error=lambda message: self._model_failed(message, chooser),
        )

    def cancel_model_download(self) -> None:
        if self._model_worker is not None:
            self._model_worker.cancel()

    def _model_failed(self, message: str, chooser: ModelChooser) -> None:
        self._model_worker = None
        chooser.set_busy(False)
        chooser.show_message(message)

    def _model_ready(self, record: ModelRecord, chooser: ModelChooser) -> None:
        self._model_worker = None
        chooser.set_busy(False)
        chooser.show_message(f"{record.name} is ready.")
        self.pages.setCurrentWidget(self.search_page)
        self.refresh_library()
        self.model_ready.emit(record)
        if self.library.folders():
            self.start_indexing()
        else:
            self.results_caption.setText(
                f"{record.name} is ready. Drop a photo folder on the window, or click "
                "Add folder, to index it."
            )

    def show_get_model(self) -> None:
        """Library -> Models -> Get a model: the catalog in a dialog."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Get a model")
        dialog.resize(620, 420)
        chooser = ModelChooser(self.catalog, dialog)
        self._connect_chooser(chooser)
        self.model_ready.connect(dialog.accept)
        QVBoxLayout(dialog).addWidget(chooser)
        dialog.rejected.connect(self.cancel_model_download)
        dialog.exec()
        self.model_ready.disconnect(dialog.accept)

    # settings and shutdown -----------------------------------------------------------------

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, str(self.paths.data.parent), self)
        if dialog.exec():
            self._apply_thumbnail_size()
            self.results_model.set_results(self.results_model.results())

    def is_settled(self) -> bool:
        """No background work and every visible thumbnail drawn (for scripted screenshots)."""
        return not self.workers.busy and not self.thumbnails.loading

    def closeEvent(self, event) -> None:
        self.workers.cancel_all()
        self.workers.wait(15000)
        self.thumbnails.pool.waitForDone(5000)
        self.settings.sync()
        super().closeEvent(event)
