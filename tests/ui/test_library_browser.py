"""The library in the results grid without a query: lazy pages in a real QListView drawn by
the real delegate, header rows, reloads that keep the view in place."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QListView

from desktop.core.catalog import BrowseOrder
from desktop.core.library import LibraryError
from desktop.core.paths import app_paths
from desktop.core.search import SearchFilter
from desktop.ui import library_browser
from desktop.ui.library_browser import LibraryBrowserModel
from desktop.ui.result_delegate import ResultDelegate
from desktop.ui.results_model import HeaderRole, PhotoRole, ScoreRole
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.workers import WorkerPool

THUMBNAIL = 64


@pytest.fixture
def grid(qtbot, indexed_library, monkeypatch):
    """A browser model on the indexed library (4 folders of 5 photos), pages of 4 photos,
    shown in a small grid set up as the window's results view."""
    monkeypatch.setattr(library_browser, "PAGE", 4)
    workers = WorkerPool()
    thumbnails = ThumbnailProvider(app_paths().cache, THUMBNAIL)
    model = LibraryBrowserModel(indexed_library, workers, thumbnails)
    view = QListView()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)
    view.setSpacing(4)
    view.setItemDelegate(ResultDelegate(THUMBNAIL, view))
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setModel(model)
    view.resize(360, 240)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    yield model, view
    workers.wait(10000)
    thumbnails.pool.waitForDone(10000)


def settle(qtbot, model: LibraryBrowserModel) -> None:
    """Until no page is on its way (the view asks for more while its last row shows)."""
    qtbot.waitUntil(lambda: not model.fetching, timeout=10000)
    qtbot.wait(50)
    qtbot.waitUntil(lambda: not model.fetching, timeout=10000)


def shown(model: LibraryBrowserModel) -> list[str]:
    """Each row as the grid draws it: '# header' or the photo's path."""
    rows = []
    for row in range(model.rowCount()):
        header = model.data(model.index(row), HeaderRole)
        rows.append(f"# {header}" if header is not None else model.photo(row).path)
    return rows


def test_scrolling_loads_pages_until_every_photo_is_shown_once(qtbot, grid, photo_folder):
    model, view = grid
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.browse(BrowseOrder.FOLDER)
    settle(qtbot, model)
    first = model.rowCount()
    assert model.canFetchMore(QModelIndex())  # the first screen does not hold the library

    for _ in range(20):  # 20 photos: a page each at most
        if not model.canFetchMore(QModelIndex()):
            break
        before = model.rowCount()
        view.scrollToBottom()
        qtbot.waitUntil(lambda: model.rowCount() > before, timeout=10000)  # noqa: B023
        settle(qtbot, model)
    assert model.rowCount() > first

    folders = sorted(path for path in photo_folder.iterdir())
    expected = []
    for folder in folders:
        expected += [f"# {folder}", *(str(p) for p in sorted(folder.glob("*.jpg")))]
    assert shown(model) == expected


def test_header_rows_span_the_grid_and_cannot_be_selected(qtbot, grid):
    model, view = grid
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.browse(BrowseOrder.FOLDER)
    settle(qtbot, model)
    header, photo, second = model.index(0), model.index(1), model.index(2)
    assert model.data(header, HeaderRole) is not None
    assert model.flags(header) == Qt.ItemFlag.NoItemFlags
    assert model.data(photo, HeaderRole) is None
    assert model.data(photo, ScoreRole) is None  # no query, no score
    assert model.data(photo, PhotoRole) == model.photo(1)

    header_rect, photo_rect = view.visualRect(header), view.visualRect(photo)
    assert header_rect.width() == view.viewport().width() - 2 * view.spacing()
    assert photo_rect.top() > header_rect.bottom()  # the photos start on the next line
    assert view.visualRect(second).top() == photo_rect.top()  # and fill it

    view.setFocus()
    view.setCurrentIndex(photo)
    qtbot.keyClick(view.viewport(), Qt.Key.Key_Up)
    qtbot.keyClick(view.viewport(), Qt.Key.Key_Home)
    assert view.currentIndex().row() == 1
    view.selectAll()
    selected = {index.row() for index in view.selectionModel().selectedIndexes()}
    assert selected.isdisjoint(row for row in range(model.rowCount()) if model.photo(row) is None)
    view.grab()  # the delegate draws headers, and photos without a score


def test_pages_are_read_off_the_gui_thread(qtbot, grid, monkeypatch):
    model, _ = grid
    threads = []
    browse = model.library.browse

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return browse(*args, **kwargs)

    monkeypatch.setattr(model.library, "browse", recording)
    model.browse(BrowseOrder.NEWEST)
    assert model.rowCount() == 0  # asked for, not read here
    qtbot.waitSignal(model.loaded, timeout=10000).wait()
    settle(qtbot, model)
    assert threads and threading.main_thread() not in threads


def test_browsing_again_drops_the_pages_asked_for_before(qtbot, grid, photo_folder):
    model, _ = grid
    model.browse(BrowseOrder.NEWEST)
    folder = photo_folder / "label-002"
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.browse(BrowseOrder.FOLDER, SearchFilter(folder=str(folder)))
    settle(qtbot, model)
    assert shown(model) == [f"# {folder}", *(str(p) for p in sorted(folder.glob("*.jpg")))]


def test_a_reload_replaces_only_the_rows_that_changed(qtbot, grid, photo_folder):
    model, view = grid
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.browse(BrowseOrder.FOLDER)
    settle(qtbot, model)
    for _ in range(20):
        model.fetchMore(QModelIndex())
        settle(qtbot, model)
    view.scrollTo(model.index(8), QAbstractItemView.ScrollHint.PositionAtTop)
    position = view.verticalScrollBar().value()
    assert position > 0
    before = shown(model)

    shutil.rmtree(sorted(photo_folder.iterdir())[-1])  # the last folder's photos go
    model.library.sync()
    resets, removed = [], []
    model.modelReset.connect(lambda: resets.append(True))
    model.rowsRemoved.connect(lambda parent, first, end: removed.append((first, end)))
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.reload()
    assert shown(model) == before[:-6]  # the last folder's header and its 5 photos
    assert removed == [(len(before) - 6, len(before) - 1)] and not resets
    qtbot.wait(50)  # the view lays the rows out again
    assert view.verticalScrollBar().value() == position


def test_a_thumbnail_redraws_its_own_row(qtbot, grid):
    model, _ = grid
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.browse(BrowseOrder.FOLDER)
    settle(qtbot, model)
    model.thumbnails.pool.waitForDone(10000)  # those the view asked for
    last = model.index(model.rowCount() - 1)
    model.thumbnails.set_size(THUMBNAIL + 1)  # forget them: the next ask loads again
    with qtbot.waitSignal(model.dataChanged, timeout=10000) as changed:
        model.data(last, Qt.ItemDataRole.DecorationRole)
    assert changed.args[0] == changed.args[1] == last


def test_a_page_that_cannot_be_read_says_why_and_asks_no_more(qtbot, grid, monkeypatch):
    model, _ = grid

    def failing(*args, **kwargs):
        raise LibraryError("the catalog is gone")

    monkeypatch.setattr(model.library, "browse", failing)
    with qtbot.waitSignal(model.failed, timeout=10000) as failed:
        model.browse(BrowseOrder.NEWEST)
    assert failed.args == ["the catalog is gone"]
    assert model.rowCount() == 0 and not model.canFetchMore(QModelIndex())
