"""The library's models from the window: getting a catalog model, adding an ONNX file,
activating one, and listing them with their progress, all in the worker pool (an add opens
an ONNX session and copies the file; the list counts descriptors per model)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.core.catalog import ModelRecord
from desktop.core.library import Library
from desktop.core.model_catalog import ModelCatalog, load_catalog
from desktop.core.model_provisioning import get_catalog_model
from desktop.ui.workers import Worker, WorkerPool, error_text


class ModelsController(QObject):
    states = Signal(object)
    """Every model with its progress (list[ModelState]), after `load_states`."""
    downloading = Signal(bool)
    """A catalog model is being got (True) or that is over (False)."""
    download_progress = Signal(object)
    """A DownloadProgress of the catalog model being got."""
    ready = Signal(object)
    """A catalog model was got and made active (its ModelRecord)."""
    added = Signal(object, bool)
    """(ModelRecord, active): a model file was added; active: it is the one to index with."""
    activated = Signal(object)
    """A model was made active (its ModelRecord): the library is to be indexed with it."""
    failed = Signal(str)
    """Why getting, adding or activating a model did not happen, in words."""

    def __init__(
        self,
        library: Library,
        workers: WorkerPool,
        catalog: ModelCatalog | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.catalog = catalog or load_catalog()
        self._download: Worker | None = None

    @property
    def busy(self) -> bool:
        return self._download is not None

    def get(self, key: str, int8: bool) -> None:
        """Download, build and activate a catalog model (one at a time)."""
        if self._download is not None:
            return
        library = self.library
        self._download = self.workers.start(
            lambda progress, cancel: get_catalog_model(
                library, key, progress=progress, cancel=cancel, int8=int8, activate=True
            ),
            on_progress=self.download_progress.emit,
            on_finished=self._got,
            on_error=self._not_got,
        )
        self.downloading.emit(True)

    def cancel_download(self) -> None:
        if self._download is not None:
            self._download.cancel()

    def add_file(self, path: str, *, activate: bool = False) -> None:
        """Check an ONNX file and add it to the library (activate: index and search with it;
        the library's first model is activated anyway)."""
        library = self.library

        def add(progress, cancel) -> tuple[ModelRecord, bool]:
            record = library.add_model(path, activate=activate)
            active = library.active_model()
            return record, active is not None and active.id == record.id

        def added(result: tuple[ModelRecord, bool]) -> None:
            record, active = result
            self.added.emit(record, active)
            if active:
                self.activated.emit(record)

        self.workers.start(
            add,
            on_finished=added,
            on_error=lambda exc: self.failed.emit(f"That file cannot be used: {error_text(exc)}"),
        )

    def activate(self, model_id: int) -> None:
        library = self.library

        def activate(progress, cancel) -> ModelRecord:
            library.activate_model(model_id)
            return library.active_model()

        self.workers.start(activate, on_finished=self.activated.emit, on_error=self._failed)

    def load_states(self) -> None:
        library = self.library
        self.workers.start(
            lambda progress, cancel: library.model_states(),
            on_finished=self.states.emit,
            on_error=self._failed,
        )

    def _got(self, record: ModelRecord) -> None:
        self._download = None
        self.downloading.emit(False)
        self.ready.emit(record)
        self.activated.emit(record)

    def _not_got(self, exc: BaseException) -> None:
        self._download = None
        self.downloading.emit(False)
        self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.failed.emit(error_text(exc))
