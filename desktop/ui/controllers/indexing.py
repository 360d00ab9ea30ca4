"""Bringing the index up to date from the window: folders added or removed, one index run
at a time (a request while one runs queues one more), cancel, and progress in words."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal

from desktop import text
from desktop.core.indexer import Phase, Progress, SyncReport
from desktop.core.library import Library
from desktop.ui.workers import Worker, WorkerPool, error_text


class IndexingController(QObject):
    started = Signal()
    progress = Signal(str, int, int)
    """(words, done, total); a total of 0 means not known yet."""
    finished = Signal(object)
    """The run's SyncReport, or None when it failed or there is no model to index with."""
    folders_changed = Signal()
    failed = Signal(str)
    """Why indexing or a folder change did not happen, in words."""

    def __init__(self, library: Library, workers: WorkerPool, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.last_report: SyncReport | None = None
        self._worker: Worker | None = None
        self._again = False
        self._done_total = (0, 0)

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self) -> None:
        """Index now; while a run goes on, once more after it (folders may have been added)."""
        if self._worker is not None:
            self._again = True
            return
        library = self.library
        self._done_total = (0, 0)

        def index(progress, cancel) -> SyncReport | None:
            if library.active_model() is None:
                return None  # folders added before the first model: it starts the run
            return library.sync(progress, cancel)

        self._worker = self.workers.start(
            index,
            on_progress=self._progress,
            on_finished=self._finished,
            on_error=self._failed,
        )
        self.started.emit()
        self.progress.emit("Scanning folders…", 0, 0)

    def cancel(self) -> None:
        if self._worker is not None:
            self._again = False
            self._worker.cancel()
            self.progress.emit("Cancelling after this batch…", *self._done_total)

    def add_folders(self, folders: Sequence[str]) -> None:
        """Add folders to the library, then index them."""
        library, folders = self.library, list(folders)
        if not folders:
            return

        def add(progress, cancel) -> list[str]:
            problems = []
            for folder in folders:
                try:
                    library.add_folder(folder)
                except Exception as exc:  # noqa: BLE001 - each folder on its own
                    problems.append(error_text(exc))
            return problems

        def added(problems: list[str]) -> None:
            for problem in problems:
                self.failed.emit(problem)
            self.folders_changed.emit()
            if len(problems) < len(folders):
                self.start()

        self.workers.start(add, on_finished=added, on_error=self._folder_failed)

    def remove_folder(self, path: str) -> None:
        """Forget a folder and its photos (not while indexing: the run may be reading it)."""
        if self._worker is not None:
            self.failed.emit("Wait for indexing to finish (or cancel it) before removing a folder.")
            return
        library = self.library
        self.workers.start(
            lambda progress, cancel: library.remove_folder(path),
            on_finished=lambda _: self.folders_changed.emit(),
            on_error=self._folder_failed,
        )

    def _folder_failed(self, exc: BaseException) -> None:
        self.failed.emit(error_text(exc))

    def _progress(self, update: Progress) -> None:
        known = update.phase is not Phase.SCANNING
        self._done_total = (update.done, max(update.total, 1)) if known else (0, 0)
        self.progress.emit(text.index_progress(update), *self._done_total)

    def _finished(self, report: SyncReport | None) -> None:
        self._worker = None
        self.last_report = report or self.last_report
        self.finished.emit(report)
        self._start_again()

    def _failed(self, exc: BaseException) -> None:
        self._worker = None
        self._again = False
        self.failed.emit(f"Indexing stopped: {error_text(exc)}")
        self.finished.emit(None)

    def _start_again(self) -> None:
        if self._again:
            self._again = False
            self.start()
