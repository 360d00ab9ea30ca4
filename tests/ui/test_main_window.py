"""Every way to ask, driven through the real window: open, drop, paste, find similar, region."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QContextMenuEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
)
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

from desktop.ui.results_model import HeaderRole, PathRole
from tests.conftest import REPO_ROOT
from tests.ui.conftest import open_window


def result_paths(window) -> list[str]:
    model = window.search_page.results.model
    return [model.data(model.index(row), PathRole) for row in range(model.rowCount())]


def browsed_paths(window) -> list[str]:
    """The photos the grid shows without a query (header rows left out)."""
    browser = window.browser
    photos = (browser.photo(row) for row in range(browser.rowCount()))
    return [photo.path for photo in photos if photo is not None]


def drop(window, mime: QMimeData) -> None:
    """What a file manager's drag does: enter the window (accepted), then drop."""
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(400, 300), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(400, 300), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window, event)


def test_open_action_searches_with_the_chosen_photo(qtbot, window, photo_folder, monkeypatch):
    query = str(sorted(photo_folder.rglob("*.jpg"))[6])
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([query], ""))
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.commands["open"].trigger()
    paths = result_paths(window)
    assert paths[0] == query and len(paths) == 20  # the library holds 20 photos
    assert window.search_page.results.model.result(0).score > 0.999
    assert len(window.search_page.query_panel.queries) == 1
    assert "results in" in window.search_page.results.caption.text()
    assert f"<b>{Path(query).name}</b>" in window.search_page.preview.details.text()


def test_dropping_two_photos_searches_with_both(qtbot, window, photo_folder):
    photos = sorted(photo_folder.rglob("*.jpg"))
    a, b = str(photos[0]), str(photos[12])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(a), QUrl.fromLocalFile(b)])
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        drop(window, mime)
    assert set(result_paths(window)[:2]) == {a, b}
    assert len(window.search_page.query_panel.queries) == 2


def test_dropping_a_folder_adds_and_indexes_it(qtbot, window, tmp_path, made_photos):
    extra = tmp_path / "dropped folder"
    extra.mkdir()
    for photo in made_photos[-3:]:
        (extra / photo.name).write_bytes(photo.read_bytes())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(extra))])
    with qtbot.waitSignal(window.indexing.finished, timeout=30000) as finished:
        drop(window, mime)
    assert finished.args[0].embedded == 3
    assert str(extra) in [f.path for f in window.library.folders()]
    added = {str(extra / photo.name) for photo in made_photos[-3:]}
    qtbot.waitUntil(lambda: added <= set(browsed_paths(window)))  # the grid shows them too
    qtbot.waitUntil(lambda: "23 photos" in window.status_bar.status_label.text(), timeout=10000)


def test_pasting_an_image_from_the_clipboard(qtbot, window, photo_folder):
    query = sorted(photo_folder.rglob("*.jpg"))[9]
    QGuiApplication.clipboard().setImage(QImage(str(query)))
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.commands["paste"].trigger()
    assert result_paths(window)[0] == str(query)
    assert window.search_page.results.model.result(0).score > 0.99
    assert "pasted image" in window.search_page.results.caption.text()


def test_pasting_a_copied_file(qtbot, window, photo_folder):
    query = str(sorted(photo_folder.rglob("*.jpg"))[4])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(query)])
    QGuiApplication.clipboard().setMimeData(mime)
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.commands["paste"].trigger()
    assert result_paths(window)[0] == query


def test_pasting_nothing_useful_says_so(qtbot, window):
    QGuiApplication.clipboard().setText("just words")
    window.commands["paste"].trigger()
    assert "no image" in window.search_page.results.banner.text()


def test_double_click_finds_similar_from_the_stored_descriptor(qtbot, window, photo_folder):
    window.search.search_files([str(sorted(photo_folder.rglob("*.jpg"))[0])])
    qtbot.waitUntil(lambda: window.search_page.results.model.rowCount() == 20, timeout=20000)
    target = window.search_page.results.model.result(3).photo
    rect = window.search_page.results.view.visualRect(window.search_page.results.model.index(3))
    viewport = window.search_page.results.view.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # a real double
    with qtbot.waitSignal(window.search.finished, timeout=20000):  # click starts with a click
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    paths = result_paths(window)
    assert target.path not in paths and len(paths) == 19
    expected = window.library.similar_to([target], top=19)
    assert paths == [r.photo.path for r in expected]
    assert "similar to" in window.search_page.results.caption.text()


def test_enter_key_finds_similar(qtbot, window, photo_folder):
    window.search.search_files([str(sorted(photo_folder.rglob("*.jpg"))[0])])
    qtbot.waitUntil(lambda: window.search_page.results.model.rowCount() == 20, timeout=20000)
    window.search_page.results.view.setFocus()
    window.search_page.results.view.setCurrentIndex(window.search_page.results.model.index(1))
    target = window.search_page.results.model.result(1).photo.path
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.keyClick(window.search_page.results.view, Qt.Key.Key_Return)
    assert target not in result_paths(window)


def test_without_a_query_the_grid_shows_the_library(qtbot, window, photo_folder):
    browser, results = window.browser, window.search_page.results
    view, details = results.view, window.search_page.preview.details
    qtbot.waitUntil(lambda: browser.rowCount() > 0 and not browser.fetching, timeout=10000)
    assert view.model() is browser and "The library, newest first" in results.caption.text()
    assert browser.data(browser.index(0), HeaderRole) is not None  # the month of the first

    photo = browser.photo(1)
    center = view.visualRect(browser.index(1)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert f"<b>{Path(photo.path).name}</b>" in details.text()
    assert "similarity" not in details.text()
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert view.model() is results.model and "similar to" in results.caption.text()
    assert photo.path not in result_paths(window)

    window.search_page.query_panel.clear()
    assert view.model() is browser and browser.photo(1) == photo  # where it was
    results.group_by.setCurrentIndex(1)  # by folder
    qtbot.waitUntil(lambda: browser.rowCount() == 24 and not browser.fetching, timeout=10000)
    headers = [browser.data(browser.index(r), HeaderRole) for r in range(browser.rowCount())]
    assert [h for h in headers if h] == [str(p) for p in sorted(photo_folder.iterdir())]


def test_region_selected_with_the_mouse_is_searched(qtbot, window, photo_folder):
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([str(query)])
    full_vector = window.search.shown_query.vector.copy()
    view = window.search_page.query_panel.view
    target = view.image_rect()
    start = target.topLeft() + QPoint(target.width() // 4, target.height() // 4)
    end = target.topLeft() + QPoint(3 * target.width() // 4, 3 * target.height() // 4)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, end)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    region = view.selected_region()
    image = window.search_page.query_panel.queries[0].image
    assert abs(region.width() - image.width() / 2) <= 3
    assert abs(region.height() - image.height() / 2) <= 3
    assert window.search_page.query_panel.search_region_button.isEnabled()
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.mouseClick(
            window.search_page.query_panel.search_region_button, Qt.MouseButton.LeftButton
        )
    assert "selected region" in window.search_page.results.caption.text()
    assert window.search_page.results.model.rowCount() == 20
    assert float(window.search.shown_query.vector @ full_vector) < 0.9999  # a different query
    assert len(window.search_page.query_panel.queries) == 1  # the whole photo stays shown


def count_embeds(window, monkeypatch, hold: threading.Event | None = None) -> list[int]:
    """Record the size of each batch the search model embeds; with `hold`, the first call
    waits for it to be set."""
    session = window.library.query_session(window.library.serving_model())
    calls, embed = [], session.embed

    def counting(images):
        calls.append(len(images))
        if hold is not None and len(calls) == 1:
            assert hold.wait(30)
        return embed(images)

    monkeypatch.setattr(session, "embed", counting)
    return calls


def test_filters_rerank_without_re_embedding(
    qtbot, window, photo_folder, spare_photos, tmp_path, monkeypatch
):
    spare = tmp_path / "spare"
    for photo in spare_photos:
        (spare / photo.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, spare / photo.parent.name / photo.name)
    with qtbot.waitSignal(window.indexing.finished, timeout=30000):
        window.indexing.add_folders([str(spare)])
    embeds = count_embeds(window, monkeypatch)
    query = str(sorted(photo_folder.rglob("*.jpg"))[0])
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([query])
    everything = [
        window.search_page.results.model.result(r)
        for r in range(window.search_page.results.model.rowCount())
    ]
    assert embeds == [1] and everything[0].photo.path == query and len(everything) == 30
    in_spare = [r.photo.path for r in everything if r.photo.path.startswith(str(spare) + os.sep)]
    assert len(in_spare) == len(spare_photos)
    assert not any(r.photo.path in in_spare for r in everything[:5])  # the query's label
    cut = everything[4].score
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search_page.filter_bar.min_score.setValue(int(cut * 100))
    shown = [
        window.search_page.results.model.result(r).score
        for r in range(window.search_page.results.model.rowCount())
    ]
    assert shown == [r.score for r in everything if r.score >= int(cut * 100) / 100]
    assert len(shown) >= 5

    window.search_page.filter_bar.min_score.setValue(0)
    qtbot.waitUntil(lambda: not window.workers.busy, timeout=20000)
    folders = window.search_page.filter_bar.folder_filter
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        folders.setCurrentIndex(folders.findData(str(spare)))
    assert result_paths(window) == in_spare  # the best matches are filtered out
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search_page.filter_bar.count.setValue(3)
    assert result_paths(window) == in_spare[:3]
    assert embeds == [1]  # every re-rank reused the query's vector


def test_copy_path_from_a_result(qtbot, window, photo_folder):
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([str(sorted(photo_folder.rglob("*.jpg"))[0])])
    QGuiApplication.clipboard().setText("something else")
    view = window.search_page.results.view
    target = window.search_page.results.model.result(3).photo.path
    position = view.visualRect(window.search_page.results.model.index(3)).center()
    chosen = []

    def choose_copy_path() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, choose_copy_path)  # the menu is not up yet
            return
        action = next(a for a in menu.actions() if a.text() == "Copy path")
        chosen.append(action)
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())

    QTimer.singleShot(0, choose_copy_path)
    right_click = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, position, view.viewport().mapToGlobal(position)
    )
    QApplication.sendEvent(view.viewport(), right_click)  # returns when the menu closes
    assert chosen and QApplication.activePopupWidget() is None
    assert QGuiApplication.clipboard().text() == target


def test_a_stale_query_finishing_last_is_not_shown(
    qtbot, window, photo_folder, monkeypatch, request
):
    photos = sorted(photo_folder.rglob("*.jpg"))
    first, second = str(photos[0]), str(photos[12])
    hold = threading.Event()
    request.addfinalizer(hold.set)  # never leave the worker waiting
    embeds = count_embeds(window, monkeypatch, hold)
    window.search.search_files([first])  # its embedding waits for `hold`
    qtbot.waitUntil(lambda: len(embeds) == 1, timeout=20000)
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([second])
    assert result_paths(window)[0] == second
    finished = []
    window.search.finished.connect(lambda: finished.append(True))
    hold.set()  # the first query now finishes, after the second
    qtbot.waitUntil(lambda: not window.workers.busy, timeout=20000)
    assert len(embeds) == 2 and finished == []
    assert result_paths(window)[0] == second
    assert window.search.shown_query.images == [second]
    assert [q.label for q in window.search_page.query_panel.queries] == [os.path.basename(second)]


def test_indexing_shows_progress_and_can_be_cancelled(qtbot, library, made_photos, tmp_path):
    folder = tmp_path / "many"
    for copy in range(40):  # 1,200 photos: long enough to cancel midway
        (folder / str(copy)).mkdir(parents=True)
        for photo in made_photos:
            os.symlink(photo, folder / str(copy) / f"{photo.parent.name}-{photo.name}")
    library.add_folder(folder)
    window = open_window(qtbot, library)
    with qtbot.waitSignal(window.indexing.finished, timeout=60000) as finished:
        window.indexing.start()
        assert window.status_bar.progress.isVisible() and window.indexing.running
        qtbot.waitUntil(lambda: "photos/s" in window.status_bar.progress.format(), timeout=30000)
        shown = window.status_bar.progress.format()
        window.commands["cancel_indexing"].trigger()  # the window answers while indexing runs
    report = finished.args[0]
    assert report.cancelled and 0 < report.embedded < 1200
    assert "photos/s" in shown and "ETA" in shown and "/1,200" in shown
    assert not window.status_bar.progress.isVisible() and not window.indexing.running
    status = window.status_bar.status_label
    qtbot.waitUntil(lambda: "to index" in status.text(), timeout=10000)
    with qtbot.waitSignal(window.indexing.finished, timeout=120000) as resumed:
        window.indexing.start()
    assert resumed.args[0].embedded == 1200 - report.embedded
    qtbot.waitUntil(lambda: "index: complete" in status.text(), timeout=10000)
    window.workers.wait(10000)
    window.thumbnails.pool.waitForDone(10000)


def test_scripted_screenshot_shows_query_and_results(tmp_path, indexed_library, photo_folder):
    home = indexed_library.paths.data.parent
    out = tmp_path / "shot.png"
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    command = [sys.executable, "-m", "desktop", "gui", "--library", str(home)]
    command += ["--query", str(query), "--screenshot", str(out)]
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert image.width() > 800 and image.height() > 500
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 11) for y in range(0, image.height(), 13)
    }
    assert len(colours) > 500  # photos on screen, not a blank window
    Path(out).unlink()
