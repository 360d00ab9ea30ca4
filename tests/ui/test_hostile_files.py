"""The window on hostile files: names that are not UTF-8 in the results, the preview, the
filters and the skipped list; a FIFO dropped or pasted; a library on read-only storage."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from desktop.core.library import Library
from desktop.core.paths import app_paths, display_path
from desktop.ui.skipped_dialog import SkippedDialog
from tests.conftest import REPO_ROOT
from tests.core.test_hostile_files import (
    folder_of_photos,
    indexed_library,
    not_utf8_folder,
    read_only_view,
    release_fifo,
    write_not_a_photo,
)
from tests.ui.conftest import open_window


def drop(window, mime: QMimeData) -> None:
    """What a file manager's drag does: enter the window, then drop."""
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(400, 300), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window, enter)
    event = QDropEvent(QPointF(400, 300), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window, event)


class TextRecorder:
    """Stands in for a QPainter: keeps the texts drawn, ignores the rest."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def drawText(self, rect, flags, text: str) -> None:  # noqa: N802 - QPainter's name
        self.texts.append(text)

    def __getattr__(self, name: str):
        return lambda *args: None


def painted_texts(window, index) -> list[str]:
    """The texts the results delegate draws for one result."""
    option = QStyleOptionViewItem()
    option.initFrom(window.search_page.results.view)
    option.rect = window.search_page.results.view.visualRect(index)
    recorder = TextRecorder()
    window.search_page.results.view.delegate.paint(recorder, option, index)
    return recorder.texts


def settle(window) -> None:
    window.workers.cancel_all()
    window.workers.wait(10000)
    window.thumbnails.pool.waitForDone(10000)


def test_names_that_are_not_utf8_are_shown_and_kept_exact(qtbot, library, tmp_path):
    folder, odd = not_utf8_folder(tmp_path)
    broken = write_not_a_photo(os.fsencode(folder) + b"/broken-\xfe.jpg")
    library.add_folder(folder)
    library.add_folder(folder_of_photos(tmp_path / "other", good=2, bad=0))
    library.sync()
    window = open_window(qtbot, library)
    try:
        assert "5 photos" in window.status_bar.status_label.text()
        assert "1 skipped" in window.status_bar.status_label.text()
        with qtbot.waitSignal(window.search.finished, timeout=20000):
            window.search.search_files([odd])
        model = window.search_page.results.model
        assert model.result(0).photo.path == odd
        assert "caf\ufffd.jpg" in model.data(model.index(0), Qt.ItemDataRole.DisplayRole)
        assert display_path(odd) in model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
        assert "caf\ufffd.jpg" in window.search_page.results.caption.text()
        assert "caf\ufffd.jpg" in painted_texts(window, model.index(0))
        window.search_page.results.view.viewport().grab()  # the delegate paints every result
        qtbot.waitUntil(lambda: not window.thumbnails.loading, timeout=20000)
        assert odd not in window.thumbnails.errors and window.thumbnails.pixmap(odd) is not None
        qtbot.waitUntil(
            lambda: not window.search_page.preview.image_label.pixmap().isNull(), timeout=20000
        )
        assert "caf\ufffd.jpg" in window.search_page.preview.details.text()

        folders = window.search_page.filter_bar.folder_filter
        names = [folders.itemText(i) for i in range(folders.count())]
        with qtbot.waitSignal(window.search.finished, timeout=20000):
            folders.setCurrentIndex(names.index("fotos-\ufffd"))
        shown = [model.result(row).photo.path for row in range(model.rowCount())]
        assert len(shown) == 3 and all(path.startswith(folder + "/") for path in shown)

        skipped = SkippedDialog(window.status.current.skipped)
        qtbot.addWidget(skipped)
        assert skipped.table.item(0, 0).text() == display_path(broken)
        assert "broken-\ufffd.jpg" in skipped.table.item(0, 1).text()

        panel = window.search_page.library_panel
        rows = [panel.folders.item(row).text() for row in range(panel.folders.count())]
        panel.folders.setCurrentRow(rows.index(display_path(folder)))
        with qtbot.waitSignal(window.search.finished, timeout=20000):
            qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
        assert folder not in [f.path for f in library.folders()]
    finally:
        settle(window)


def test_a_dropped_or_pasted_fifo_is_refused_with_a_reason(qtbot, library, tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    window = open_window(qtbot, library)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(fifo))])
    try:
        with qtbot.waitSignal(window.search.finished, timeout=20000):
            drop(window, mime)
        assert "is not a regular file" in window.search_page.results.banner.text()
        window.search_page.results.clear_error()
        QGuiApplication.clipboard().setText(str(fifo))  # a copied path
        with qtbot.waitSignal(window.search.finished, timeout=20000):
            window.commands["paste"].trigger()
        assert "is not a regular file" in window.search_page.results.banner.text()
    finally:
        release_fifo(fifo)  # a regression blocks a worker on the FIFO: let it go
        settle(window)


def test_a_read_only_library_searches_and_says_so(qtbot, tmp_path, tiny_model_path):
    photos = folder_of_photos(tmp_path / "photos", good=5, bad=2)
    home = tmp_path / "library"
    indexed_library(home, tiny_model_path, photos)
    with read_only_view(home) as view, Library(app_paths(view)) as library:
        window = open_window(qtbot, library)
        try:
            status = window.status_bar.status_label.text()
            assert "read-only" in status and "5 photos" in status and "2 skipped" in status
            assert not window.commands["index"].isEnabled() and not window.indexing.running
            assert not window.commands["add_folder"].isEnabled()
            with qtbot.waitSignal(window.search.finished, timeout=20000):
                window.search.search_files([str(photos / "photo-3.jpg")])
            assert window.search_page.results.model.result(0).photo.path == str(
                photos / "photo-3.jpg"
            )
            panel = window.search_page.library_panel
            buttons = (panel.add_button, panel.remove_button, panel.index_button)
            assert not any(button.isEnabled() for button in buttons)
            with qtbot.waitSignal(window.indexing.failed, timeout=10000):
                window.indexing.remove_folder(str(photos))  # the path every way to ask takes
            assert "read-only" in window.search_page.results.banner.text()
        finally:
            settle(window)


def test_the_app_starts_on_a_read_only_library(tmp_path, tiny_model_path):
    """Its log file cannot be opened there: the app logs to stderr instead."""
    photos = folder_of_photos(tmp_path / "photos", good=3, bad=0)
    home = tmp_path / "library"
    indexed_library(home, tiny_model_path, photos)
    shot = tmp_path / "shot.png"
    command = [sys.executable, "-m", "desktop", "gui", "--library"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with read_only_view(home) as view:
        command += [str(view), "--query", str(photos / "photo-0.jpg"), "--screenshot", str(shot)]
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 0, result.stderr
    assert shot.exists()
