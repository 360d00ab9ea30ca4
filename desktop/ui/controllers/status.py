"""The library's status as the window shows it, read in the worker pool: `Library.status()`
runs counting queries and waits for the library's lock while a search holds it, which on the
GUI thread froze the window. At most one read runs; requests meanwhile make one more.

While the library changes (an index run), `keep_fresh` reads it again every second, or less
often when reads take long: a read holds the library's lock, and on a large library searches
must keep most of the time.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.library import Library
from desktop.core.status import LibraryStatus
from desktop.ui.workers import Worker, WorkerPool, error_text

FRESH_EVERY_MS = 1000
READ_SHARE = 0.2
"""While fresh, reads take at most this share of the time: the next one waits four times as
long as the last one took, if that is longer than a second."""


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
        self._read_started = 0.0
        self._again = False
        self._changing = False
        self._next = QTimer(self)
        self._next.setSingleShot(True)
        self._next.timeout.connect(self.refresh)

    def refresh(self) -> None:
        """Read the status again, soon: now, or after the read in progress."""
        if self._reading is not None:
            self._again = True
            return
        library = self.library
        self._read_started = time.perf_counter()
        self._reading = self.workers.start(
            lambda progress, cancel: library.status(),
            on_finished=self._arrived,
            on_error=self._failed,
        )

    def keep_fresh(self, changing: bool) -> None:
        """While the library is `changing`, refresh every second or so; once more at the end."""
        if changing == self._changing:
            return
        self._changing = changing
        if changing:
            self._next.start(FRESH_EVERY_MS)
        else:
            self._next.stop()
            self.refresh()

    def _arrived(self, status: LibraryStatus) -> None:
        self.current = status
        self.changed.emit(status)
        self._read_done()

    def _failed(self, exc: BaseException) -> None:
        self.failed.emit(error_text(exc))
        self._read_done()

    def _read_done(self) -> None:
        took_ms = (time.perf_counter() - self._read_started) * 1000
        self._reading = None
        if self._again:
            self._again = False
            self.refresh()
        elif self._changing and not self._next.isActive():
            wait_ms = took_ms * (1 - READ_SHARE) / READ_SHARE
            self._next.start(max(FRESH_EVERY_MS, round(wait_ms)))
