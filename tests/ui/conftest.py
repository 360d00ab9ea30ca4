"""A real window on a real library: made photos indexed with the tiny test model."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

# Without a display Qt aborts the whole run; the Makefile sets this too, bare pytest does not.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMenu, QWidget

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


def when_shown(kind: type, act: Callable[[QWidget], object], *, within_s: float = 10) -> None:
    """Once a modal dialog of `kind` is up (a dialog's exec() blocks the test), `act` on it;
    gives up after `within_s`, so a test that failed first leaves nothing to answer later
    tests' dialogs."""
    deadline = time.monotonic() + within_s

    def check() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind) and dialog.isVisible():
            act(dialog)
        elif time.monotonic() < deadline:
            QTimer.singleShot(10, check)

    QTimer.singleShot(0, check)


def choose_in_menu(qtbot, *entries: str, within_s: float = 10) -> None:
    """Once a context menu is up, click its entries in turn: a submenu's title opens it,
    then an entry of the submenu."""
    deadline, left = time.monotonic() + within_s, list(entries)

    def check() -> None:
        menu = QApplication.activePopupWidget()
        found = isinstance(menu, QMenu) and next(
            (action for action in menu.actions() if action.text() == left[0]), None
        )
        if found:  # else not up yet, or the parent menu, its submenu not open yet
            left.pop(0)
            qtbot.mouseClick(
                menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(found).center()
            )
        if left and time.monotonic() < deadline:
            QTimer.singleShot(10, check)

    QTimer.singleShot(0, check)


def right_click(view: QAbstractItemView, row: int) -> None:
    """A right-click on a grid's row; returns once the context menu it opens has closed."""
    position = view.visualRect(view.model().index(row, 0)).center()
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, position, view.viewport().mapToGlobal(position)
    )
    QApplication.sendEvent(view.viewport(), event)


def select_rows(qtbot, view: QAbstractItemView, rows: list[int]) -> None:
    """Click the first row, Ctrl+click the others, as a user selects several photos. As a
    click does, it brings the window to the front and gives the grid the keyboard (offscreen,
    a closed dialog leaves no window active, and a QTest click moves no focus)."""
    view.window().activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is view.window())
    view.setFocus()
    for number, row in enumerate(rows):
        modifier = Qt.KeyboardModifier.ControlModifier if number else Qt.KeyboardModifier.NoModifier
        center = view.visualRect(view.model().index(row, 0)).center()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, center)
