"""What the window says about the library: true at every moment (during an index run too),
readable at 1280x800, never waiting for the library's lock, and what to do next where the
results would be."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer

from desktop import text
from desktop.core.indexer import Phase, Progress
from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.ui.main_window import MainWindow
from desktop.ui.settings import Settings
from tests.ui.conftest import library_lock_held, open_window


def hold_embedding(library, monkeypatch, request) -> threading.Event:
    """The active model's embedding waits until the returned event is set."""
    session = library.session(library.active_model())
    hold, embed = threading.Event(), session.embed
    request.addfinalizer(hold.set)  # never leave a worker waiting

    def waiting(images):
        assert hold.wait(30)
        return embed(images)

    monkeypatch.setattr(session, "embed", waiting)
    return hold


def test_the_status_line_is_true_while_an_index_run_goes_on(
    qtbot, library, photo_folder, monkeypatch, request
):
    library.add_folder(photo_folder)
    window = open_window(qtbot, library)
    status = window.status_bar.status_label
    assert status.text().startswith("0 photos")
    hold = hold_embedding(library, monkeypatch, request)
    window.indexing.start()
    qtbot.waitUntil(lambda: status.text().startswith("20 photos"), timeout=10000)
    assert "index: updating" in status.text() and window.indexing.running
    with qtbot.waitSignal(window.indexing.finished, timeout=30000):
        hold.set()
    qtbot.waitUntil(lambda: "index: complete" in status.text(), timeout=10000)
    assert status.text().startswith("20 photos")


def test_the_progress_of_a_large_run_reads_on_one_line_at_1280_pixels(qtbot, library):
    window = open_window(qtbot, library)
    assert window.width() == 1280
    words = text.index_progress(Progress(Phase.EMBEDDING, 99_999, 100_000, "", 88.8, 5000.0))
    window.status_bar.show_progress(words, 99_999, 100_000)
    progress = window.status_bar.progress
    qtbot.waitUntil(progress.isVisible)
    assert progress.format() == words  # not elided
    assert progress.fontMetrics().horizontalAdvance(words) < progress.contentsRect().width()


def test_the_window_opens_and_answers_while_the_library_lock_is_held(qtbot, indexed_library):
    with library_lock_held(indexed_library):
        paths = app_paths()
        window = MainWindow(indexed_library, Settings(paths.config), paths, index_on_start=False)
        qtbot.addWidget(window)
        window.show()
        ticks = []
        timer = QTimer(window)
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(10)
        qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=3000)
        assert window.status.current is None
        assert window.status_bar.status_label.text() == "Opening the library…"
    status = window.status_bar.status_label
    qtbot.waitUntil(lambda: status.text().startswith("20 photos"), timeout=10000)
    window.workers.wait(10000)


def test_an_empty_library_says_to_add_a_folder_where_the_results_go(qtbot, library):
    window = open_window(qtbot, library)
    empty = window.search_page.results.empty
    assert window.pages.currentWidget() is window.search_page
    assert empty.isVisible() and "Drop a photo folder on the window" in empty.text()
    assert "Add folder" in empty.text()


def test_with_photos_it_shows_them_and_says_when_filters_leave_none(qtbot, window, photo_folder):
    results = window.search_page.results
    assert results.view.isVisible() and results.view.model() is window.browser
    assert "drop, paste (Ctrl+V) or open (Ctrl+O) one" in results.caption.text()
    photo = window.library.photo(str(sorted(photo_folder.rglob("*.jpg"))[0]))
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.find_similar([photo])
    assert results.view.isVisible() and not results.empty.isVisible()
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search_page.filter_bar.min_score.setValue(100)
    assert results.model.rowCount() == 0 and results.empty.isVisible()
    assert "No photos match with these filters" in results.empty.text()


def test_the_window_gets_queries_ready_once_at_start(qtbot, indexed_library, monkeypatch):
    calls, prepare = [], indexed_library.prepare_queries

    def recording():
        calls.append(threading.current_thread() is threading.main_thread())
        prepare()

    monkeypatch.setattr(indexed_library, "prepare_queries", recording)
    window = open_window(qtbot, indexed_library)
    qtbot.waitUntil(lambda: calls and not window.workers.busy, timeout=10000)
    window.status.refresh()
    qtbot.waitUntil(lambda: not window.workers.busy, timeout=10000)
    assert calls == [False]  # once, in a worker


def test_a_library_without_a_model_prepares_nothing(qtbot, monkeypatch):
    calls = []
    with Library(app_paths()) as library:
        monkeypatch.setattr(library, "prepare_queries", lambda: calls.append(True))
        window = open_window(qtbot, library)
        qtbot.waitUntil(lambda: not window.workers.busy, timeout=10000)
        assert window.pages.currentWidget() is window.first_run and calls == []
        window.close()
