"""First run without a model, the model manager, duplicates, skipped files and settings."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

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
from tests.ui.conftest import open_window


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


def test_duplicates_dialog_lists_groups_best_first(qtbot, window, photo_folder):
    original = sorted(photo_folder.rglob("*.jpg"))[0]
    shutil.copy(original, photo_folder / "copy of it.jpg")
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
    assert paths == {str(original), str(photo_folder / "copy of it.jpg")}
    assert "(best)" in group.child(0).text(0)


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
