"""Relevance feedback through the real window: results marked good or bad with the keys and
the buttons re-rank at once without embedding anything, show their mark, are cleared by
"Clear marks" and by a new query, and the good ones can be saved to a label."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from desktop.ui.controllers.search import Mark
from desktop.ui.results_model import MarkRole, PathRole, ScoreRole
from tests.ui.conftest import select_rows, when_shown
from tests.ui.test_main_window import count_embeds


def shown(window) -> list[str]:
    """The results in the grid's order, from the view's model."""
    model = window.search_page.results.view.model()
    return [model.data(model.index(row), PathRole) for row in range(model.rowCount())]


def marks(window) -> dict[str, Mark]:
    model = window.search_page.results.view.model()
    rows = (model.index(row) for row in range(model.rowCount()))
    return {
        row.data(PathRole): row.data(MarkRole) for row in rows if row.data(MarkRole) != Mark.NONE
    }


def score(window, path: str) -> float:
    model = window.search_page.results.view.model()
    return model.index(shown(window).index(path)).data(ScoreRole)


def search(qtbot, window, photo) -> list[str]:
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([str(photo)])
    return shown(window)


def press(qtbot, window, rows: list[int], key: Qt.Key) -> None:
    """Select results and press a mark's key; returns once they are ranked again."""
    view = window.search_page.results.view
    select_rows(qtbot, view, rows)
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.keyClick(view, key)


def test_keys_mark_results_and_re_rank_at_once_without_embedding(
    qtbot, window, photo_folder, monkeypatch
):
    embeds = count_embeds(window, monkeypatch)
    photos = sorted(photo_folder.rglob("*.jpg"))
    before = search(qtbot, window, photos[0])
    assert embeds == [1] and marks(window) == {}
    far, near, other = before[-1], before[1], before[10]
    near_score = score(window, near)

    press(qtbot, window, [19], Qt.Key.Key_Plus)
    assert marks(window) == {far: Mark.GOOD}
    assert shown(window).index(far) < before.index(far)
    assert "refined by 1 good" in window.search_page.results.caption.text()
    assert window.search_page.results.view.selected_photos()[0].path == far  # still selected

    press(qtbot, window, [shown(window).index(near)], Qt.Key.Key_Minus)
    assert marks(window) == {far: Mark.GOOD, near: Mark.BAD}
    assert score(window, near) < near_score
    press(qtbot, window, [shown(window).index(other)], Qt.Key.Key_Equal)  # + without Shift
    assert marks(window) == {far: Mark.GOOD, near: Mark.BAD, other: Mark.GOOD}
    press(qtbot, window, [shown(window).index(far)], Qt.Key.Key_0)
    assert marks(window) == {near: Mark.BAD, other: Mark.GOOD}

    clear = window.search_page.results.clear_marks_button
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)
    assert shown(window) == before and marks(window) == {}
    assert not clear.isEnabled()
    assert embeds == [1]  # every re-rank came from stored descriptors

    press(qtbot, window, [3], Qt.Key.Key_Plus)
    assert marks(window) != {}
    search(qtbot, window, photos[7])  # a new query: the marks were the last one's
    assert marks(window) == {} and window.search.good == ()
    assert "refined" not in window.search_page.results.caption.text()


def test_buttons_mark_results_and_the_good_ones_are_saved_to_a_label(
    qtbot, window, photo_folder, monkeypatch
):
    embeds = count_embeds(window, monkeypatch)
    results = window.search_page.results
    before = search(qtbot, window, sorted(photo_folder.rglob("*.jpg"))[0])
    assert results.feedback.isVisible() and not results.save_marks_button.isEnabled()
    good = before[-2:]

    select_rows(qtbot, results.view, [18, 19])
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.mouseClick(results.more_button, Qt.MouseButton.LeftButton)
    assert marks(window) == dict.fromkeys(good, Mark.GOOD)
    assert max(shown(window).index(path) for path in good) < 18
    bad = shown(window)[1]
    select_rows(qtbot, results.view, [1])
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.mouseClick(results.fewer_button, Qt.MouseButton.LeftButton)
    assert marks(window) == {**dict.fromkeys(good, Mark.GOOD), bad: Mark.BAD}
    assert embeds == [1]

    def name_it(dialog: QInputDialog) -> None:
        dialog.setTextValue("picked")
        dialog.accept()

    when_shown(QInputDialog, name_it)
    with qtbot.waitSignal(window.labels.labels_changed, timeout=10000):
        qtbot.mouseClick(results.save_marks_button, Qt.MouseButton.LeftButton)
    assert sorted(p.path for p in window.library.label_photos("picked")) == sorted(good)
    assert "Added 2 photos to “picked”" in window.status_bar.currentMessage()

    window.search_page.query_panel.clear()  # no query: the library, and nothing to mark
    assert not results.feedback.isVisible()
