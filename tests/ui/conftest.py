"""A real window on a real library: made photos indexed with the tiny test model."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# Without a display Qt aborts the whole run; the Makefile sets this too, bare pytest does not.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtGui import QGuiApplication

from desktop.core.paths import app_paths
from desktop.ui.main_window import MainWindow
from desktop.ui.settings import Settings


@pytest.fixture(autouse=True)
def empty_clipboard(qapp):
    """Each test leaves the clipboard empty: a QMimeData a test handed to the clipboard,
    still there when the interpreter exits, crashes it (PySide6 6.11 and 6.12, offscreen)."""
    yield
    QGuiApplication.clipboard().clear()


@pytest.fixture
def indexed_library(library, photo_folder):
    library.add_folder(photo_folder)
    library.sync()
    return library


def open_window(qtbot, library) -> MainWindow:
    """The window, shown, once the library's status (read in a worker) has arrived."""
    paths = app_paths()
    window = MainWindow(library, Settings(paths.config), paths, index_on_start=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.status.current is not None, timeout=10000)
    return window


@pytest.fixture
def window(qtbot, indexed_library) -> MainWindow:
    created = open_window(qtbot, indexed_library)
    yield created
    created.workers.cancel_all()
    created.workers.wait(10000)
    created.thumbnails.pool.waitForDone(10000)


@contextmanager
def library_lock_held(library) -> Iterator[None]:
    """Another thread holds the library's lock for the block, as a long search or status
    read does; it lets go when the block ends."""
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with library._lock:
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(10)
        yield
    finally:
        release.set()
        holder.join()
