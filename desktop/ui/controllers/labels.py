"""The user's labels from the window: creating, renaming and deleting them, giving photos
labels and taking them away, importing a labelled folder tree, and reading what the grids
show (a label's photos, the labels of the photos on screen).

Every change runs in the worker pool, one after the other in the order asked (so "add" then
"remove" ends removed), and is followed by a fresh read of the labels: `labels_changed`
carries the counts as they are after the latest change (at most one read runs, and a change
while it runs makes one more). Reads for the grids keep only the latest answer, as the
search controller does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.core.catalog import Label
from desktop.core.library import Library, LibraryError
from desktop.ui.workers import Worker, WorkerPool, error_text


class LabelsController(QObject):
    labels_changed = Signal(list)
    """Every label (list[Label], by name, with its count), read after each change."""
    photos_loaded = Signal(object, object)
    """The label a grid asked for (Label) and its photos (list[Photo])."""
    names_loaded = Signal(object)
    """{photo id: [label names]} for the photos last asked about (unlabelled ones absent)."""
    added = Signal(str, int, int)
    """Photos were given a label: its name, how many were asked, how many had it not yet."""
    imported = Signal(str, object)
    """A labelled folder tree (its path) was imported: the LabelImport."""
    failed = Signal(str)
    """A change or a read did not happen: why, in words."""

    def __init__(self, library: Library, workers: WorkerPool, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.current: list[Label] = []
        """The labels as last read."""
        self._reading: Worker | None = None
        self._again = False
        self._changes: deque[Callable[[], None]] = deque()
        """Changes waiting for the one in progress (the first) to finish."""
        self._photos_asked = 0
        self._names_asked = 0

    # reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the labels again: now, or once the read in progress is over."""
        if self._reading is not None:
            self._again = True
            return
        self._reading = self.workers.start(
            lambda progress, cancel: self.library.labels(),
            on_finished=self._labels_read,
            on_error=self._read_failed,
        )

    def load_photos(self, label_id: int) -> None:
        """A label's photos, for the label view (`photos_loaded`)."""
        self._photos_asked += 1
        asked, library = self._photos_asked, self.library

        def task(progress, cancel) -> tuple[Label, list] | None:
            try:
                label = library.label(label_id)
                return label, library.label_photos(label)
            except LibraryError:  # deleted meanwhile: nothing shows it any more
                return None

        def read(found: tuple[Label, list] | None) -> None:
            if found is not None and asked == self._photos_asked:  # else a newer one replaced it
                self.photos_loaded.emit(*found)

        self.workers.start(task, on_finished=read, on_error=self._failed)

    def load_names(self, photo_ids: Sequence[int]) -> None:
        """The labels of the photos on screen (`names_loaded`), to show on them."""
        self._names_asked += 1
        asked, library, ids = self._names_asked, self.library, list(photo_ids)

        def read(names: dict[int, list[str]]) -> None:
            if asked == self._names_asked:
                self.names_loaded.emit(names)

        self.workers.start(
            lambda progress, cancel: library.labels_of(ids), on_finished=read, on_error=self._failed
        )

    # changing ------------------------------------------------------------------------------

    def create(self, name: str) -> None:
        self._write(lambda library: library.create_label(name))

    def rename(self, label_id: int, name: str) -> None:
        self._write(lambda library: library.rename_label(label_id, name))

    def delete(self, label_id: int) -> None:
        """Forget a label; its photos stay in the library."""
        self._write(lambda library: library.delete_label(label_id))

    def add_photos(self, name: str, photo_ids: Sequence[int]) -> None:
        """Give photos the label `name` (any case), creating it when there is none."""
        ids = list(photo_ids)
        if not ids:
            return

        def add(library: Library) -> tuple[str, int, int]:
            try:
                label = library.label(name)
            except LibraryError:  # no label of that name yet
                label = library.create_label(name)
            return label.name, len(ids), library.add_to_label(label, ids)

        self._write(add, lambda result: self.added.emit(*result))

    def remove_photos(self, label_id: int, photo_ids: Sequence[int]) -> None:
        ids = list(photo_ids)
        if ids:
            self._write(lambda library: library.remove_from_label(label_id, ids))

    def import_folder(self, root: str | None) -> None:
        """Label the library's photos of a folder tree, one sub-folder per label; nothing
        when no folder was chosen."""
        if root:
            self._write(
                lambda library: library.import_labelled_folder(root),
                lambda report: self.imported.emit(root, report),
            )

    # the workers' answers ------------------------------------------------------------------

    def _write(
        self, change: Callable[[Library], Any], done: Callable[[Any], None] | None = None
    ) -> None:
        library = self.library

        def finished(result: Any) -> None:
            if done is not None:
                done(result)
            self._change_done()

        def failed(exc: BaseException) -> None:
            self._failed(exc)
            self._change_done()

        self._changes.append(
            lambda: self.workers.start(
                lambda progress, cancel: change(library), on_finished=finished, on_error=failed
            )
        )
        if len(self._changes) == 1:
            self._changes[0]()

    def _change_done(self) -> None:
        self._changes.popleft()
        if self._changes:
            self._changes[0]()
        self.refresh()

    def _labels_read(self, labels: list[Label]) -> None:
        self.current = labels
        self._read_done()
        self.labels_changed.emit(labels)

    def _read_failed(self, exc: BaseException) -> None:
        self._read_done()
        self._failed(exc)

    def _read_done(self) -> None:
        self._reading = None
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self.failed.emit(error_text(exc))
