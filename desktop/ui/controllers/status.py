"""The library's status as the window shows it, read in the worker pool: `Library.status()`
runs counting queries and waits for the library's lock while a search holds it, which on the
GUI thread froze the window. At most one read runs; requests meanwhile make one more. While
the library changes (an index run), `keep_fresh` reads it again every second or so."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.library import Library
from desktop.core.status import LibraryStatus
from desktop.ui.workers import Worker, WorkerPool, error_text

FRESH_EVERY_MS = 1000


class StatusController(QObject):
    changed = Signal(object)
    """A fresh LibraryStatus."""
    failed = Signal(str)

    def __init__(self, library: Library, workers: WorkerPool, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.current: LibraryStatus | None = None
        """The latest status read (None until the first read arrives)."""
        self._reading: Worker | None = None
        self._again = False
        self._fresh = QTimer(self)
        self._fresh.setInterval(FRESH_EVERY_MS)
        self._fresh.timeout.connect(self.refresh)

    def refresh(self) -> None:
        """Read the status again, soon: now, or after the read in progress."""
        if self._reading is not None:
            self._again = True
            return
        library = self.library
        self._reading = self.workers.start(
            lambda progress, cancel: library.status(),
            on_finished=self._arrived,
            on_error=self._failed,
        )

    def keep_fresh(self, changing: bool) -> None:
        """While the library is `changing`, refresh every second; then once more at the end."""
        if changing and not self._fresh.isActive():
            self._fresh.start()
        elif not changing and self._fresh.isActive():
            self._fresh.stop()
            self.refresh()

    def _arrived(self, status: LibraryStatus) -> None:
        self.current = status
        self.changed.emit(status)
        self._read_done()

    def _failed(self, exc: BaseException) -> None:
        self.failed.emit(error_text(exc))
        self._read_done()

    def _read_done(self) -> None:
        self._reading = None
        if self._again:
            self._again = False
            self.refresh()
