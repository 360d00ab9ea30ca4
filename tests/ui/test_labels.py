"""Labels through the real window: given from the results (context menu, Ctrl+L) and from
the label view, shown on the results, listed with their counts, renamed, deleted, and
imported from a labelled folder tree."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from desktop.ui.results_model import LabelsRole, PhotoRole
from tests.ui.conftest import choose_in_menu, right_click, select_rows, when_shown


def answer(text: str):
    """What a user types in a label dialog before pressing OK."""

    def type_and_accept(dialog: QInputDialog) -> None:
        dialog.setTextValue(text)
        dialog.accept()

    return type_and_accept


def chips(model) -> list[list[str]]:
    return [model.data(model.index(row), LabelsRole) for row in range(model.rowCount())]


def listed(page) -> list[str]:
    return [page.list.item(row).text() for row in range(page.list.count())]


def test_labels_given_from_the_results_shown_on_them_and_managed_in_the_label_view(
    qtbot, window, photo_folder
):
    results, page, labels = (
        window.search_page.results,
        window.search_page.labels_page,
        window.labels,
    )
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([str(sorted(photo_folder.rglob("*.jpg"))[0])])
    view, model = results.view, results.model
    ids = model.photo_ids()

    # several results, right-click, Add to label > New label…
    select_rows(qtbot, view, [0, 1, 2])
    when_shown(QInputDialog, answer("my dog"))
    choose_in_menu(qtbot, "Add to label", "New label…")
    with qtbot.waitSignal(labels.labels_changed, timeout=10000):
        right_click(view, 1)
    qtbot.waitUntil(lambda: chips(model)[:4] == [["my dog"]] * 3 + [[]])
    assert "labels: my dog" in model.data(model.index(2), Qt.ItemDataRole.ToolTipRole)

    # two more with Ctrl+L, choosing the label in the chooser
    select_rows(qtbot, view, [3, 4])
    offered = []

    def choose_my_dog(dialog: QInputDialog) -> None:
        offered.extend(dialog.comboBoxItems())
        answer("my dog")(dialog)

    when_shown(QInputDialog, choose_my_dog)
    with qtbot.waitSignal(labels.labels_changed, timeout=10000):
        qtbot.keyClick(view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert offered == ["my dog"]
    qtbot.waitUntil(lambda: chips(model)[:6] == [["my dog"]] * 5 + [[]])

    # the label view: the label with its count, its photos once chosen
    tabs = window.search_page.tabs
    qtbot.mouseClick(
        tabs.tabBar(), Qt.MouseButton.LeftButton, pos=tabs.tabBar().tabRect(1).center()
    )
    assert tabs.currentWidget() is page and listed(page) == ["my dog  (5)"]
    with qtbot.waitSignal(labels.photos_loaded, timeout=10000):
        item = page.list.visualItemRect(page.list.item(0)).center()
        qtbot.mouseClick(page.list.viewport(), Qt.MouseButton.LeftButton, pos=item)
    assert sorted(page.model.photo_ids()) == sorted(ids[:5])
    assert "“my dog”: 5 photos" in page.caption.text()

    # a new label, given to two of them from the label view's selection
    when_shown(QInputDialog, answer("receipts"))
    with qtbot.waitSignal(labels.labels_changed, timeout=10000):
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    assert listed(page) == ["my dog  (5)", "receipts  (0)"]
    select_rows(qtbot, page.grid, [0, 1])
    given = page.model.photo_ids()[:2]
    choose_in_menu(qtbot, "Add to label", "receipts")
    with qtbot.waitSignal(labels.labels_changed, timeout=10000):
        right_click(page.grid, 0)
    assert listed(page) == ["my dog  (5)", "receipts  (2)"]
    qtbot.waitUntil(lambda: chips(page.model)[:3] == [["my dog", "receipts"]] * 2 + [["my dog"]])

    # one taken out of the label: the count, the grid and the results' chips follow
    removed = page.model.photo_ids()[4]
    select_rows(qtbot, page.grid, [4])
    choose_in_menu(qtbot, "Remove from label")
    with qtbot.waitSignal(labels.labels_changed, timeout=10000):
        right_click(page.grid, 4)
    assert listed(page) == ["my dog  (4)", "receipts  (2)"]
    qtbot.waitUntil(lambda: page.model.rowCount() == 4 and removed not in page.model.photo_ids())
    qtbot.waitUntil(lambda: chips(model)[ids.index(removed)] == [])

    # renamed: everywhere it shows
    when_shown(QInputDialog, answer("our dog"))
    with qtbot.waitSignal(labels.labels_changed, timeout=10000):
        qtbot.mouseClick(page.rename_button, Qt.MouseButton.LeftButton)
    assert listed(page) == ["our dog  (4)", "receipts  (2)"]
    qtbot.waitUntil(lambda: "“our dog”: 4 photos" in page.caption.text())
    qtbot.waitUntil(lambda: chips(model)[ids.index(given[0])] == ["our dog", "receipts"])

    # deleted, once confirmed; its photos stay in the library and in the results
    said = []

    def confirm(box: QMessageBox) -> None:
        said.append(box.text())
        box.button(QMessageBox.StandardButton.Yes).click()

    when_shown(QMessageBox, confirm)
    with qtbot.waitSignal(labels.labels_changed, timeout=10000):
        qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert "Its 4 photos stay in the library" in said[0]
    assert listed(page) == ["receipts  (2)"] and page.pages.currentWidget() is page.empty
    assert len(window.library.browse().photos) == 20 and model.rowCount() == 20
    qtbot.waitUntil(lambda: sum(bool(names) for names in chips(model)) == 2)


def test_a_refused_label_name_is_told_and_nothing_changes(qtbot, window):
    page = window.search_page.labels_page
    window.search_page.show_labels()
    for name in ("dog", "DOG"):
        when_shown(QInputDialog, answer(name))
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=10000)
    assert "already a label named 'DOG'" in page.banner.text()
    assert "already a label" in window.status_bar.currentMessage()
    assert listed(page) == ["dog  (0)"]


def test_importing_labelled_folders_labels_what_the_library_knows(
    qtbot, window, photo_folder, spare_photos, monkeypatch
):
    newcomers = photo_folder / "label-new"  # photos the library has not indexed yet
    newcomers.mkdir()
    for photo in spare_photos[:3]:
        shutil.copy(photo, newcomers / photo.name)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(photo_folder))
    page, labels = window.search_page.labels_page, window.labels
    reports = []
    when_shown(QMessageBox, reports.append)
    with qtbot.waitSignal(labels.imported, timeout=20000):
        window.commands["import_labels"].trigger()
    qtbot.waitUntil(lambda: len(reports) == 1)
    box = reports[0]
    assert str(photo_folder) in box.text()
    assert "Newly labelled 20 photos: 5 as “label-000”, 5 as “label-001”" in box.text()
    assert "3 photos under it are not in the library yet" in box.text()
    assert window.search_page.tabs.currentWidget() is page
    qtbot.waitUntil(lambda: listed(page) == [f"label-00{n}  (5)" for n in range(4)])

    # the message's button adds the folder and indexes it; imported again, they are labelled
    add = next(button for button in box.buttons() if button.text() == "Add and index this folder")
    with qtbot.waitSignal(window.indexing.finished, timeout=30000) as indexed:
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert indexed.args[0].embedded == 3
    when_shown(QMessageBox, reports.append)
    with qtbot.waitSignal(labels.imported, timeout=20000):
        qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(reports) == 2)
    assert (
        "Newly labelled 3 photos" in reports[1].text() and "3 as “label-new”" in reports[1].text()
    )
    assert "not in the library" not in reports[1].text()
    assert [button.text() for button in reports[1].buttons()] == ["Close"]
    reports[1].close()
    qtbot.waitUntil(lambda: "label-new  (3)" in listed(page))


def test_importing_a_folder_without_label_folders_says_what_is_needed(
    qtbot, window, photo_folder, monkeypatch
):
    flat = photo_folder / "label-000"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(flat))
    with qtbot.waitSignal(window.labels.failed, timeout=20000):
        window.commands["import_labels"].trigger()
    assert "no sub-folders of photos: one per label is needed" in window.status_bar.currentMessage()
    assert window.library.labels() == []


def test_label_counts_follow_a_folder_removed_from_the_library(
    qtbot, window, spare_photos, tmp_path
):
    extra = tmp_path / "extra"
    extra.mkdir()
    for photo in spare_photos[:3]:
        shutil.copy(photo, extra / photo.name)
    with qtbot.waitSignal(window.indexing.finished, timeout=30000):
        window.indexing.add_folders([str(extra)])
    ids = [window.library.photo(extra / photo.name).id for photo in spare_photos[:3]]
    page = window.search_page.labels_page
    window.labels.add_photos("extra", ids)
    qtbot.waitUntil(lambda: listed(page) == ["extra  (3)"])
    window.indexing.remove_folder(str(extra))
    qtbot.waitUntil(lambda: listed(page) == ["extra  (0)"])


def test_find_similar_from_the_label_view_shows_the_results(qtbot, window, photo_folder):
    photos = sorted(photo_folder.rglob("*.jpg"))
    window.labels.add_photos("dog", [window.library.photo(p).id for p in photos[:3]])
    page = window.search_page.labels_page
    window.search_page.show_labels()
    qtbot.waitUntil(lambda: listed(page) == ["dog  (3)"])
    with qtbot.waitSignal(window.labels.photos_loaded, timeout=10000):
        item = page.list.visualItemRect(page.list.item(0)).center()
        qtbot.mouseClick(page.list.viewport(), Qt.MouseButton.LeftButton, pos=item)
    target = page.model.index(1).data(PhotoRole)
    center = page.grid.visualRect(page.model.index(1)).center()
    qtbot.mouseClick(page.grid.viewport(), Qt.MouseButton.LeftButton, pos=center)
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        qtbot.mouseDClick(page.grid.viewport(), Qt.MouseButton.LeftButton, pos=center)
    assert window.search_page.tabs.currentIndex() == 0  # the results, where they show
    results = window.search_page.results
    assert "similar to" in results.caption.text() and target.path not in [
        r.photo.path for r in results.model.results()
    ]
