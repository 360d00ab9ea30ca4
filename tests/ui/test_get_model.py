"""Clicks alone, from an empty library to search results: the first-run chooser gets the
recommended model from a stand-in hub (a real HTTP server on 127.0.0.1), the app builds it
from its shipped template without torch, and a dropped folder is indexed and searched."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, QUrl
from safetensors.numpy import save

from desktop.core.library import Library
from desktop.core.model_catalog import load_catalog
from desktop.core.model_provisioning import catalog_key, template_path
from desktop.core.paths import app_paths
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
        with qtbot.waitSignal(window.model_ready, timeout=120000) as ready:
            qtbot.mouseClick(chooser.get_button, Qt.MouseButton.LeftButton)
            assert chooser.cancel_button.isVisible() and not chooser.get_button.isEnabled()
        record = ready.args[0]
        assert catalog_key(record) == default.key and record.dim == default.descriptor_dim
        assert window.pages.currentWidget() is window.search_page
        assert "Drop a photo folder" in window.results_caption.text()
        assert hub.weights_gets(), "the weights came from the stand-in hub"

        folder = QMimeData()
        folder.setUrls([QUrl.fromLocalFile(str(photo_folder))])
        with qtbot.waitSignal(window.indexing_finished, timeout=120000) as indexed:
            drop(window, folder)
        assert indexed.args[0].embedded == 20

        query = sorted(photo_folder.rglob("*.jpg"))[6]
        photo = QMimeData()
        photo.setUrls([QUrl.fromLocalFile(str(query))])
        with qtbot.waitSignal(window.search_finished, timeout=60000):
            drop(window, photo)
        assert result_paths(window)[0] == str(query)
        assert window.results_model.result(0).score > 0.999
        window.workers.wait(10000)
        window.thumbnails.pool.waitForDone(10000)
