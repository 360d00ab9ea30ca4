"""First run without a model, the model manager, duplicates, skipped files and settings."""

from __future__ import annotations

import shutil

import pytest
import send2trash
from PIL import Image, ImageOps
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QMessageBox,
    QStyle,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
)

from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.ui.controllers.models import ModelsController
from desktop.ui.duplicates_dialog import DuplicatesDialog
from desktop.ui.models_dialog import ModelsDialog
from desktop.ui.settings import Settings
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.skipped_dialog import SkippedDialog
from desktop.ui.workers import WorkerPool
from tests.models import write_model
from tests.ui.conftest import open_window, when_shown


def test_first_run_offline_says_so_and_a_chosen_file_works(
    qtbot, tiny_model_path, photo_folder, monkeypatch, tmp_path
):
    with Library(app_paths()) as library:
        library.add_folder(photo_folder)
        window = open_window(qtbot, library)
        assert window.pages.currentWidget() is window.first_run

        chooser = window.first_run.chooser
        default = window.models.catalog.default
        assert chooser.selected_key() == default.key  # preselected
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
        qtbot.mouseClick(chooser.get_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "HF_HUB_OFFLINE" in chooser.message.text(), timeout=10000)
        assert default.name in chooser.message.text()
        assert chooser.get_button.isEnabled() and not chooser.progress.isVisible()

        bad = tmp_path / "bad.onnx"
        bad.write_text("nope")
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
        with qtbot.waitSignal(window.models.failed, timeout=10000):
            qtbot.mouseClick(window.first_run.choose_button, Qt.MouseButton.LeftButton)
        assert "cannot be used" in chooser.message.text()
        assert window.pages.currentWidget() is window.first_run

        monkeypatch.setattr(
            QFileDialog, "getOpenFileName", lambda *a, **k: (str(tiny_model_path), "")
        )
        with qtbot.waitSignal(window.indexing.finished, timeout=30000) as finished:
            qtbot.mouseClick(window.first_run.choose_button, Qt.MouseButton.LeftButton)
        assert finished.args[0].embedded == 20
        qtbot.waitUntil(lambda: window.pages.currentWidget() is window.search_page)


def test_models_dialog_adds_and_activates(qtbot, indexed_library, tmp_path):
    second = write_model(tmp_path / "second.onnx", seed=5, size=32, dim=48, name="second")
    workers = WorkerPool()
    models = ModelsController(indexed_library, workers)
    with qtbot.waitSignal(models.states, timeout=10000):
        dialog = ModelsDialog(models)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 1
    assert "serving searches" in dialog.table.item(0, 4).text()
    with qtbot.waitSignal(models.failed, timeout=10000):
        dialog.add(str(tmp_path / "missing.onnx"))
    assert "cannot be used" in dialog.message.text()
    with qtbot.waitSignal(models.states, timeout=10000):
        dialog.add(str(second))
    assert dialog.table.rowCount() == 2 and dialog.table.item(1, 3).text() == "20"
    dialog.table.selectRow(1)
    with qtbot.waitSignal(models.activated, timeout=10000) as activated:
        dialog.activate_selected()
    assert activated.args[0].id == indexed_library.models()[1].id
    assert indexed_library.active_model().name == "second"
    qtbot.waitUntil(lambda: "active" in dialog.table.item(1, 4).text(), timeout=10000)
    assert "serving searches" in dialog.table.item(0, 4).text()  # until indexed
    workers.wait(10000)


@pytest.fixture
def scenes_window(qtbot, library, scenes):
    """The window on a library of eight different scenes (no near-duplicates yet)."""
    library.add_folder(scenes)
    library.sync()
    created = open_window(qtbot, library)
    yield created
    created.workers.cancel_all()
    created.workers.wait(10000)
    created.thumbnails.pool.waitForDone(10000)


def test_duplicates_dialog_lists_groups_best_first(qtbot, scenes_window, scenes):
    window = scenes_window
    original = sorted(scenes.rglob("*.jpg"))[0]
    shutil.copy(original, scenes / "copy of it.jpg")
    with qtbot.waitSignal(window.indexing.finished, timeout=30000):
        window.indexing.start()
    dialog = DuplicatesDialog(window.library, window.thumbnails, window.workers, window)
    qtbot.addWidget(dialog)
    dialog.threshold.setValue(0.999)
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.find_button.isEnabled(), timeout=20000)
    assert dialog.tree.topLevelItemCount() == len(dialog.groups) >= 1
    group = dialog.tree.topLevelItem(0)
    ids = [group.child(i).data(0, Qt.ItemDataRole.UserRole) for i in range(group.childCount())]
    paths = {window.library.photo(photo_id).path for photo_id in ids}
    assert paths == {str(original), str(scenes / "copy of it.jpg")}
    assert "(best)" in group.child(0).text(0)


def test_duplicates_dialog_finds_a_mirrored_copy_at_the_automatic_level(
    qtbot, scenes_window, scenes
):
    window = scenes_window
    original = sorted(scenes.rglob("*.jpg"))[3]
    with Image.open(original) as image:
        ImageOps.mirror(image).save(scenes / "mirrored.jpg", quality=95)
    with qtbot.waitSignal(window.indexing.finished, timeout=30000):
        window.indexing.start()
    dialog = DuplicatesDialog(window.library, window.thumbnails, window.workers, window)
    qtbot.addWidget(dialog)
    assert dialog.threshold.text() == "automatic"
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.find_button.isEnabled(), timeout=20000)
    assert [{p.path for p in g} for g in dialog.groups] == [
        {str(original), str(scenes / "mirrored.jpg")}
    ]
    assert "perceptual hash" in dialog.rule.text()
    assert "too few photos to estimate from" in dialog.rule.text()
    dialog.threshold.setValue(0.9999)
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "your choice" in dialog.rule.text(), timeout=20000)
    assert "at least 0.9999" in dialog.rule.text() and len(dialog.groups) == 1


def click_keep(qtbot, tree: QTreeWidget, item: QTreeWidgetItem) -> None:
    """Click a photo's Keep check box, where the tree draws it."""
    option = QStyleOptionViewItem()
    option.initFrom(tree)
    option.rect = tree.visualItemRect(item)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    box = tree.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, tree)
    before = item.checkState(0)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=box.center())
    assert item.checkState(0) != before, "the click missed the check box"


def tree_paths(dialog: DuplicatesDialog) -> list[list[tuple[str, bool]]]:
    """Each group of the tree: its photos' paths, and whether each is checked to keep."""
    groups = []
    for number in range(dialog.tree.topLevelItemCount()):
        group = dialog.tree.topLevelItem(number)
        groups.append(
            [
                (
                    dialog.library.photo(group.child(i).data(0, Qt.ItemDataRole.UserRole)).path,
                    group.child(i).checkState(0) == Qt.CheckState.Checked,
                )
                for i in range(group.childCount())
            ]
        )
    return groups


def item_of(dialog: DuplicatesDialog, path) -> QTreeWidgetItem:
    return dialog._items[str(path)][0]


@pytest.fixture
def two_groups(qtbot, scenes_window, scenes):
    """Three copies of one photo (the original, then two copies) and two of another, indexed
    with the window; its results show the first photo's copies."""
    window = scenes_window
    first, second = sorted(scenes.rglob("*.jpg"))[:2]
    copies = [scenes / "label-003" / name for name in ("a.jpg", "b.jpg", "c.jpg")]
    for source, copy in zip((first, first, second), copies, strict=True):
        shutil.copy(source, copy)
    with qtbot.waitSignal(window.indexing.finished, timeout=30000):
        window.indexing.start()
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([str(first)])
    dialog = window.duplicates_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.threshold.setValue(0.999)
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.find_button.isEnabled(), timeout=20000)
    return dialog, (first, second), copies


def answer_trash(said: list[str]) -> None:
    """Once the confirmation is up, note what it says and click Move to trash."""

    def move(box: QMessageBox) -> None:
        said.append(box.text())
        next(b for b in box.buttons() if b.text() == "Move to trash").click()

    when_shown(QMessageBox, move)


def test_duplicates_dialog_moves_unchecked_copies_to_the_trash(
    qtbot, scenes_window, two_groups, system_trash
):
    window = scenes_window
    dialog, (first, second), (a, b, c) = two_groups
    assert tree_paths(dialog) == [  # best copy first and checked: the oldest file
        [(str(first), True), (str(a), False), (str(b), False)],
        [(str(second), True), (str(c), False)],
    ]
    trashed_ids = {window.library.photo(path).id for path in (b, c)}
    results = window.search_page.results.model
    assert trashed_ids & set(results.photo_ids())

    # nothing kept in a group: refused, nothing moved
    click_keep(qtbot, dialog.tree, item_of(dialog, first))
    refusals = []
    when_shown(QMessageBox, lambda box: (refusals.append(box.text()), box.accept()))
    qtbot.mouseClick(dialog.trash_button, Qt.MouseButton.LeftButton)
    assert "group 1 has no photo checked to keep" in refusals[0]
    assert all(p.exists() for p in (first, a, b, c)) and not system_trash.exists()

    # keep the first photo and one copy: the other copy and the second group's go
    click_keep(qtbot, dialog.tree, item_of(dialog, first))
    click_keep(qtbot, dialog.tree, item_of(dialog, a))
    said: list[str] = []
    answer_trash(said)
    with qtbot.waitSignal(dialog.photos_removed, timeout=20000) as removed:
        qtbot.mouseClick(dialog.trash_button, Qt.MouseButton.LeftButton)
    assert said[0].startswith("Move 2 photos to the trash?")
    assert "can be restored from the system trash" in said[0]
    assert {p.id for p in removed.args[0].trashed} == trashed_ids
    assert sorted(p.name for p in (system_trash / "files").iterdir()) == ["b.jpg", "c.jpg"]
    assert (system_trash / "info" / "b.jpg.trashinfo").is_file()
    assert not b.exists() and not c.exists() and first.exists() and a.exists()
    assert tree_paths(dialog) == [[(str(first), True), (str(a), True)]]  # group 2 is gone
    assert dialog.summary.text() == (
        "Moved 2 photos to the trash, where they can be restored. 1 group left."
    )
    assert not dialog.problems.isVisible() and not dialog.trash_button.isEnabled()

    # the window shows them no more: results, the library browser, the status
    qtbot.waitUntil(lambda: not trashed_ids & set(results.photo_ids()), timeout=20000)
    qtbot.waitUntil(lambda: window.status.current.photos == 9, timeout=20000)
    browser = window.browser

    def browsed() -> set[int]:
        return {p.id for p in map(browser.photo, range(browser.rowCount())) if p is not None}

    assert len(browsed()) >= 9
    qtbot.waitUntil(lambda: not trashed_ids & browsed() and len(browsed()) == 9, timeout=20000)
    assert "Moved 2 photos to the trash" in window.statusBar().currentMessage()


def test_duplicates_dialog_shows_why_a_photo_was_not_moved(
    qtbot, scenes_window, two_groups, system_trash, monkeypatch
):
    window = scenes_window
    dialog, (first, second), (a, b, c) = two_groups
    trash = send2trash.send2trash

    def refuse_b(path):
        if path == str(b):
            raise PermissionError(13, "Permission denied")
        trash(path)

    monkeypatch.setattr(send2trash, "send2trash", refuse_b)
    answer_trash([])
    with qtbot.waitSignal(dialog.photos_removed, timeout=20000):
        qtbot.mouseClick(dialog.trash_button, Qt.MouseButton.LeftButton)
    assert dialog.problems.isVisible()
    assert dialog.problems.toPlainText() == (
        f"Not moved: {b}: could not move it to the trash: Permission denied"
    )
    assert dialog.summary.text() == (
        "Moved 2 photos to the trash, where they can be restored; 1 photo could not be "
        "moved. 1 group left."
    )
    assert tree_paths(dialog) == [[(str(first), True), (str(b), False)]]  # b stays, unchecked
    assert b.exists() and window.library.photo(b).path == str(b)
    assert not a.exists() and not c.exists()


def test_skipped_dialog_lists_reasons(qtbot, library, photo_folder):
    (photo_folder / "broken.jpg").write_bytes(b"broken")
    library.add_folder(photo_folder)
    library.sync()
    dialog = SkippedDialog(library.status().skipped)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 1
    assert "not an image" in dialog.table.item(0, 1).text()


def test_settings_dialog_saves(qtbot, tmp_path):
    settings = Settings(tmp_path)
    dialog = SettingsDialog(settings, str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.thumbnail_size.setValue(224)
    dialog.threads.setValue(2)
    dialog.location.setText(str(tmp_path / "elsewhere"))
    dialog.accept()
    reread = Settings(tmp_path)
    assert (reread.thumbnail_size, reread.threads) == (224, 2)
    assert reread.library_location == str(tmp_path / "elsewhere")


def test_library_location_from_settings_is_used(monkeypatch, tmp_path):
    from desktop.core.paths import HOME_ENV
    from desktop.ui.app import resolve_paths

    default_home = tmp_path / "default"
    monkeypatch.setenv(HOME_ENV, str(default_home))
    assert resolve_paths(None).data == (default_home / "data").resolve()  # the env var wins
    monkeypatch.delenv(HOME_ENV)
    monkeypatch.setattr("platformdirs.user_config_path", lambda *a, **k: tmp_path / "config")
    Settings(tmp_path / "config").library_location = str(tmp_path / "chosen")
    assert resolve_paths(None).data == (tmp_path / "chosen" / "data").resolve()
    assert resolve_paths(str(tmp_path / "arg")).data == (tmp_path / "arg" / "data").resolve()
