"""The main window: composes the pages and wires them to the controllers.

Every way to ask (open, drop, paste, find similar, region, marks on the results) ends in
`SearchController` (controllers/search.py), which runs `Library.run_query` as the CLI does;
indexing and folder changes go to `IndexingController`, models to `ModelsController`, labels
to `LabelsController`, and the status line comes from `StatusController`. The commands are
the table in `actions.py`, the layout of the search page is `search_page.py`. The window
routes gestures to controllers and controller signals to widgets; no engine work runs here.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QMainWindow, QStackedWidget

from desktop import APP_NAME, text
from desktop.core.catalog import Label, ModelRecord, Photo
from desktop.core.indexer import SyncReport
from desktop.core.labels import LabelImport
from desktop.core.library import Library
from desktop.core.paths import AppPaths, display_path, resource_path
from desktop.core.status import LibraryStatus
from desktop.core.trash import TrashReport
from desktop.ui.actions import WindowState, build_actions, update_actions
from desktop.ui.controllers.indexing import IndexingController
from desktop.ui.controllers.labels import LabelsController
from desktop.ui.controllers.models import ModelsController
from desktop.ui.controllers.search import SearchController, SearchOutcome
from desktop.ui.controllers.status import StatusController
from desktop.ui.controllers.training import TrainingController
from desktop.ui.drop_content import DropContent, drop_content
from desktop.ui.duplicates_dialog import DuplicatesDialog
from desktop.ui.file_dialogs import (
    choose_folders,
    choose_labelled_folder,
    choose_model_file,
    choose_photos,
)
from desktop.ui.first_run import FirstRunPage
from desktop.ui.label_dialogs import show_import_report
from desktop.ui.library_browser import LibraryBrowserModel
from desktop.ui.model_chooser import GetModelDialog
from desktop.ui.models_dialog import ModelsDialog
from desktop.ui.search_page import SearchPage
from desktop.ui.settings import Settings
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.skipped_dialog import SkippedDialog
from desktop.ui.status_bar import StatusBar
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.training_dialog import TrainingDialog
from desktop.ui.workers import WorkerPool

CLOSE_WAIT_MS = 50
"""How long closing waits for cancelled work (the app waits for the rest, window gone)."""
TRAINING_SAVE_WAIT_MS = 30000
"""How long closing waits for a stopped training to save where it is."""


class MainWindow(QMainWindow):
    def __init__(
        self, library: Library, settings: Settings, paths: AppPaths, *, index_on_start=True
    ) -> None:
        super().__init__()
        self.library, self.settings, self.paths = library, settings, paths
        self.workers = WorkerPool(self)
        self.thumbnails = ThumbnailProvider(paths.cache, settings.thumbnail_size, self)
        self.search = SearchController(library, self.workers, self)
        self.indexing = IndexingController(library, self.workers, self)
        self.models = ModelsController(library, self.workers, parent=self)
        self.status = StatusController(library, self.workers, self)
        self.labels = LabelsController(library, self.workers, self)
        self.training = TrainingController(library, self.workers, self.models.catalog, self)
        self._training_dialog: TrainingDialog | None = None
        self.browser = LibraryBrowserModel(library, self.workers, self.thumbnails, self)
        self._index_on_start = index_on_start
        self._starting = True  # until the first status arrives
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(QIcon(str(resource_path("icon.svg"))))
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.first_run = FirstRunPage(self.models.catalog, self)
        self.search_page = SearchPage(settings, self.thumbnails, self.workers, self.browser, self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.search_page)
        self.pages.addWidget(self.first_run)
        self.setCentralWidget(self.pages)
        self.commands = build_actions(self, self._handlers())
        self.status_bar = StatusBar(self)
        self.setStatusBar(self.status_bar)
        self._connect()
        self._filters_changed()
        self._show_state()
        self.status.refresh()
        self.labels.refresh()

    def _handlers(self) -> dict:
        """What each command in the actions table does."""
        return {
            "open": lambda: self.search.search_files(choose_photos(self)),
            "paste": self.paste,
            "add_folder": lambda: self.indexing.add_folders(choose_folders(self)),
            "quit": self.close,
            "index": self.indexing.start,
            "cancel_indexing": self.indexing.cancel,
            "duplicates": self.show_duplicates,
            "models": self.show_models,
            "settings": self.show_settings,
            "label_selection": self.label_selection,
            "import_labels": lambda: self.labels.import_folder(choose_labelled_folder(self)),
            "train": self.show_training,
        }

    def _connect(self) -> None:
        search, indexing, models, page = self.search, self.indexing, self.models, self.search_page
        self.first_run.chooser.attach(models)
        self.first_run.choose_file_requested.connect(self.choose_model_file)
        page.query_panel.cleared.connect(self.clear_query)
        page.query_panel.region_search_requested.connect(search.search_region)
        page.library_panel.add_requested.connect(self.commands["add_folder"].trigger)
        page.library_panel.remove_requested.connect(indexing.remove_folder)
        page.library_panel.index_requested.connect(indexing.start)
        page.library_panel.cancel_requested.connect(indexing.cancel)
        page.library_panel.skipped_requested.connect(self.show_skipped)
        page.filter_bar.changed.connect(self._filters_changed)
        page.similar_requested.connect(search.find_similar)
        page.results.marks_requested.connect(search.mark)
        page.results.clear_marks_requested.connect(search.clear_marks)
        search.searching.connect(page.results.show_searching)
        search.shown.connect(self._search_shown)
        search.failed.connect(self._search_failed)
        indexing.started.connect(self._show_state)
        indexing.progress.connect(self.status_bar.show_progress)
        indexing.finished.connect(self._index_finished)
        indexing.folders_changed.connect(self._folders_changed)
        indexing.failed.connect(self.show_error)
        models.activated.connect(self._model_activated)
        self.status.changed.connect(self._status_changed)
        self.status.failed.connect(self.show_error)
        self.browser.failed.connect(self.show_error)
        self._connect_labels()

    def _connect_labels(self) -> None:
        labels, page = self.labels, self.search_page.labels_page
        self.search_page.label_requested.connect(labels.add_photos)
        page.label_chosen.connect(labels.load_photos)
        page.create_requested.connect(labels.create)
        page.rename_requested.connect(labels.rename)
        page.delete_requested.connect(labels.delete)
        page.remove_requested.connect(labels.remove_photos)
        page.import_requested.connect(self.commands["import_labels"].trigger)
        page.train_requested.connect(self.commands["train"].trigger)
        self.commands["train"].enabledChanged.connect(page.train_button.setEnabled)
        page.train_button.setEnabled(self.commands["train"].isEnabled())
        labels.labels_changed.connect(self._labels_changed)
        labels.photos_loaded.connect(self._label_photos_loaded)
        labels.names_loaded.connect(self.search_page.show_label_names)
        labels.added.connect(self._labelled)
        labels.imported.connect(self._labels_imported)
        labels.failed.connect(self._labels_failed)

    # the library's state -------------------------------------------------------------------

    def _status_changed(self, status: LibraryStatus) -> None:
        if self._index_on_start and status.active and status.folders and not status.read_only:
            self.indexing.start()  # the start-up rescan: what changed while the app was closed
        if self._starting and status.serving is not None:
            self.search.prepare()
        self._index_on_start = self._starting = False
        self._show_state()

    def _show_state(self) -> None:
        """Status line, folders, commands and page from the latest status and indexing."""
        status, indexing, page = self.status.current, self.indexing.running, self.search_page
        page.library_panel.set_indexing(indexing)
        self.status.keep_fresh(indexing)
        page.results.set_library(status, indexing=indexing)
        if status is None:  # not read yet
            update_actions(self.commands, WindowState(indexing=indexing))
            return
        writable = not status.read_only
        state = WindowState(bool(status.models), writable, status.photos > 0, indexing)
        update_actions(self.commands, state)
        self.status_bar.show_status(status, indexing=indexing)
        page.library_panel.set_folders(status.folders, len(status.skipped), writable=writable)
        page.filter_bar.set_folders([folder.path for folder in status.folders])
        self.pages.setCurrentWidget(page if status.models else self.first_run)

    def _index_finished(self, report: SyncReport | None) -> None:
        self.status_bar.hide_progress()
        if report is not None:
            self.status_bar.showMessage(display_path(text.sync_summary(report)), 10000)
        self.search.rerun()
        self.browser.reload()
        self.labels.refresh()  # photos gone from the library took their labels along
        self._show_state()  # the status stops refreshing, with one last read

    def _folders_changed(self) -> None:
        """Photos came or went: everything that shows them reads the library again."""
        self.status.refresh()
        self.search.rerun()
        self.browser.reload()
        self.labels.refresh()

    def _photos_trashed(self, report: TrashReport) -> None:
        if report.removed:
            self.status_bar.showMessage(display_path(text.trash_summary(report)), 10000)
        self._folders_changed()  # no result, library page or label still shows them

    def _model_activated(self, model: ModelRecord) -> None:
        self.status.refresh()
        if self.status.current is not None and self.status.current.folders:
            self.indexing.start()

    def show_error(self, message: str) -> None:
        self.search_page.results.show_error(message)
        self.status_bar.showMessage(display_path(message), 8000)

    # asking --------------------------------------------------------------------------------

    def _filters_changed(self) -> None:
        bar = self.search_page.filter_bar
        self.settings.result_count = bar.count.value()
        self.search.set_filters(bar.search_filter(), bar.count.value())
        self.search_page.results.set_browse_filters(bar.search_filter())

    def _search_shown(self, shown: SearchOutcome) -> None:
        page = self.search_page
        if shown.images is not None:
            page.query_panel.set_queries(shown.images, shown.caption)
        narrowed = page.filter_bar.narrowed()
        page.results.show_results(
            shown.caption, shown.outcome, narrowed=narrowed, reranked=shown.reranked
        )
        if not shown.reranked:
            page.show_photos()  # a new query's results, wherever it was asked from
        self.labels.load_names(page.shown_photo_ids())
        serving = self.status.current.serving if self.status.current else None
        if serving is not None and serving.provider is None:
            self.status.refresh()  # the search loaded the model: the status can say where

    def _search_failed(self, reason: str) -> None:
        self.search_page.results.show_failed()
        self.show_error(reason)

    def clear_query(self) -> None:
        self.search.clear()
        self.search_page.results.clear()

    def paste(self) -> None:
        content = drop_content(QGuiApplication.clipboard().mimeData())
        if content.empty:
            self.show_error("The clipboard holds no image or image file to search with.")
        self._take(content, "pasted image")

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self._take(drop_content(event.mimeData()), "dropped image")
        event.acceptProposedAction()

    def _take(self, content: DropContent, label: str) -> None:
        """Folders are added to the library; photos or image data are searched with."""
        self.indexing.add_folders(content.folders)
        if content.files:
            self.search.search_files(content.files)
        elif content.image is not None:
            self.search.search_image(content.image, label)

    # labels --------------------------------------------------------------------------------

    def label_selection(self) -> None:
        if not self.search_page.label_selection():
            self.status_bar.showMessage("Select photos first, then give them a label.", 8000)

    def _labels_changed(self, labels: list[Label]) -> None:
        self.search_page.set_labels(labels)
        chosen = self.search_page.labels_page.chosen
        if chosen is not None:
            self.labels.load_photos(chosen.id)
        self.labels.load_names(self.search_page.shown_photo_ids())

    def _label_photos_loaded(self, label: Label, photos: list[Photo]) -> None:
        self.search_page.labels_page.show_photos(label, photos)
        self.labels.load_names(self.search_page.shown_photo_ids())

    def _labelled(self, name: str, asked: int, new: int) -> None:
        had = f" ({asked - new:,} had it already)" if new < asked else ""
        self.status_bar.showMessage(f"Added {text.photos(new)} to “{name}”{had}", 8000)

    def _labels_failed(self, message: str) -> None:
        self.search_page.labels_page.show_error(message)
        self.show_error(message)

    def _labels_imported(self, root: str, report: LabelImport) -> None:
        self.search_page.show_labels()
        show_import_report(self, root, report, lambda: self.indexing.add_folders([root]))

    # dialogs -------------------------------------------------------------------------------

    def show_skipped(self) -> None:
        SkippedDialog(self.status.current.skipped if self.status.current else [], self).exec()

    def show_duplicates(self) -> None:
        self.duplicates_dialog().exec()

    def duplicates_dialog(self) -> DuplicatesDialog:
        """The near-duplicates dialog, wired so that photos it moves to the trash leave what
        the window shows."""
        dialog = DuplicatesDialog(self.library, self.thumbnails, self.workers, self)
        dialog.photos_removed.connect(self._photos_trashed)
        return dialog

    def show_models(self) -> None:
        dialog = ModelsDialog(self.models, self)
        dialog.get_model_requested.connect(self.show_get_model)
        dialog.exec()
        dialog.deleteLater()

    def show_get_model(self) -> None:
        dialog = GetModelDialog(self.models, self)
        dialog.exec()
        dialog.deleteLater()

    def choose_model_file(self) -> None:
        path = choose_model_file(self)
        if path:
            self.first_run.show_message("Checking the model…")
            self.models.add_file(path, activate=True)

    def show_settings(self) -> None:
        dialog = SettingsDialog(self.settings, str(self.paths.data.parent), self)
        if dialog.exec():
            self.search_page.apply_thumbnail_size(self.settings.thumbnail_size)

    def show_training(self) -> None:
        """One training dialog per window: closing it hides it, so a stopped run can be
        resumed when it opens again."""
        if self._training_dialog is None:
            self._training_dialog = TrainingDialog(
                self.training, self.models, self.search, self.thumbnails, self
            )
        self._training_dialog.present()

    # shutdown ------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:
        """Close at once: cancel the work and wait only briefly for it; a training run (the
        dialog asks first) gets time to save where it is."""
        if self._training_dialog is not None and not self._training_dialog.close():
            event.ignore()
            return
        self.training.shutdown(TRAINING_SAVE_WAIT_MS)
        self.workers.cancel_all()
        self.workers.wait(CLOSE_WAIT_MS)
        self.settings.sync()
        super().closeEvent(event)
