"""One worker abstraction for everything heavy: run a function off the GUI thread.

The function receives `progress` (call it with anything; it arrives on the GUI thread as the
`progress` signal) and `cancel` (a threading.Event to check between steps). Its return value
arrives as `finished`, the exception it raised as `error`: the receiver decides the words
(`error_text` gives the usual ones).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.core.paths import display_path

log = logging.getLogger(__name__)

Task = Callable[[Callable[[Any], None], threading.Event], Any]


def error_text(exc: BaseException) -> str:
    """What a failed task says to a user: its message, fit to show (a file name that is not
    UTF-8 shown with replacement characters), else the kind of failure."""
    return display_path(str(exc)) or type(exc).__name__


class WorkerSignals(QObject):
    progress = Signal(object)
    finished = Signal(object)
    error = Signal(object)
    """The exception the task raised."""
    done = Signal()
    """Emitted last, after finished or error: the worker is over either way."""


class Worker(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.task = task
        self.signals = WorkerSignals()
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        try:
            result = self.task(self.signals.progress.emit, self.cancel_event)
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, never raised into Qt
            log.exception("background task failed")
            self.signals.error.emit(exc)
        else:
            self.signals.finished.emit(result)
        self.signals.done.emit()


class WorkerPool(QObject):
    """Starts workers and keeps them alive until they are done."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)
        self._running: set[Worker] = set()

    def start(
        self,
        task: Task,
        *,
        on_finished: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Worker:
        worker = Worker(task)
        if on_finished:
            worker.signals.finished.connect(on_finished)
        if on_error:
            worker.signals.error.connect(on_error)
        if on_progress:
            worker.signals.progress.connect(on_progress)
        worker.signals.done.connect(lambda: self._forget(worker))
        self._running.add(worker)
        self.busy_changed.emit(True)
        self.pool.start(worker)
        return worker

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def cancel_all(self) -> None:
        for worker in list(self._running):
            worker.cancel()

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)

    def _forget(self, worker: Worker) -> None:
        self._running.discard(worker)
        if not self._running:
            self.busy_changed.emit(False)
