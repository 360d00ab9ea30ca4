"""Clicks alone, from an empty library to search results: the first-run chooser gets the
recommended model from a stand-in hub (a real HTTP server on 127.0.0.1), the app builds it
from its shipped template without torch, and a dropped folder is indexed and searched."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication
from safetensors.numpy import save

from desktop.core.library import Library
from desktop.core.model_catalog import load_catalog
from desktop.core.model_provisioning import catalog_key, template_path
from desktop.core.paths import app_paths
from desktop.ui.model_chooser import ModelChooser
from desktop.ui.models_dialog import ModelsDialog
from tests.core.test_model_assembly import hub_weights
from tests.hub import FakeHub, serving
from tests.ui.conftest import open_window
from tests.ui.test_main_window import drop, result_paths


def test_first_run_to_results_by_clicks_alone(qtbot, tmp_path, monkeypatch, photo_folder):
    default = load_catalog().default
    with serving(tmp_path, monkeypatch) as hub, Library(app_paths()) as library:
        hub: FakeHub
        hub.add_model(default, save(hub_weights(template_path(default), seed=3)))
        window = open_window(qtbot, library)
        chooser = window.first_run.chooser
        assert window.pages.currentWidget() is window.first_run
        assert chooser.selected_key() == default.key
        with qtbot.waitSignal(window.models.ready, timeout=120000) as ready:
            qtbot.mouseClick(chooser.get_button, Qt.MouseButton.LeftButton)
            assert chooser.cancel_button.isVisible() and not chooser.get_button.isEnabled()
        record = ready.args[0]
        assert catalog_key(record) == default.key and record.dim == default.descriptor_dim
        qtbot.waitUntil(lambda: window.pages.currentWidget() is window.search_page)
        empty = window.search_page.results.empty  # where the results will be: what to do
        assert empty.isVisible() and "Drop a photo folder" in empty.text()
        assert hub.weights_gets(), "the weights came from the stand-in hub"

        folder = QMimeData()
        folder.setUrls([QUrl.fromLocalFile(str(photo_folder))])
        with qtbot.waitSignal(window.indexing.finished, timeout=120000) as indexed:
            drop(window, folder)
        assert indexed.args[0].embedded == 20

        query = sorted(photo_folder.rglob("*.jpg"))[6]
        photo = QMimeData()
        photo.setUrls([QUrl.fromLocalFile(str(query))])
        with qtbot.waitSignal(window.search.finished, timeout=60000):
            drop(window, photo)
        assert result_paths(window)[0] == str(query)
        assert window.search_page.results.model.result(0).score > 0.999
        window.workers.wait(10000)
        window.thumbnails.pool.waitForDone(10000)


def test_models_dialog_gets_another_catalog_model(qtbot, window, tmp_path, monkeypatch):
    """Library -> Models -> Get a model: the catalog in a dialog, closed once the model is
    ready; the new model becomes active and the library is indexed with it."""
    deit = load_catalog().get("deit_small_patch16_224.fb_in1k")
    models = ModelsDialog(window.models, window)
    qtbot.addWidget(models)
    with qtbot.waitSignal(models.get_model_requested):
        qtbot.mouseClick(models.get_button, Qt.MouseButton.LeftButton)

    def choose_deit_and_get() -> None:
        chooser = QApplication.activeModalWidget().findChild(ModelChooser)
        chooser.select(deit.key)
        qtbot.mouseClick(chooser.get_button, Qt.MouseButton.LeftButton)

    forced = []

    def close_any_dialog() -> None:
        if QApplication.activeModalWidget() is not None:
            forced.append(QApplication.activeModalWidget())
            QApplication.activeModalWidget().reject()

    with serving(tmp_path, monkeypatch) as hub:
        hub.add_model(deit, save(hub_weights(template_path(deit), seed=4)))
        with qtbot.waitSignal(window.indexing.finished, timeout=120000) as indexed:
            QTimer.singleShot(0, choose_deit_and_get)
            QTimer.singleShot(90000, close_any_dialog)  # a failure fails, it never hangs
            window.show_get_model()  # modal: returns when the model is ready
    assert catalog_key(window.library.active_model()) == deit.key
    assert indexed.args[0].embedded == 20
    assert not forced, "the dialog did not close when its model was ready"
