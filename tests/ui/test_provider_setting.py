"""Where the model runs, in the GUI: chosen in Settings, named in the status bar."""

from __future__ import annotations

import onnxruntime as ort

from desktop.ui.app import choose_provider
from desktop.ui.settings import Settings
from desktop.ui.settings_dialog import SettingsDialog

from .conftest import open_window


def test_the_status_bar_names_the_provider_once_a_search_loads_the_model(
    qtbot, library, made_photos
):
    window = open_window(qtbot, library)
    status = window.status_bar.status_label
    assert status.text().endswith("model: tiny test model  ·  index: complete")
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([str(made_photos[0])])
    qtbot.waitUntil(lambda: "model: tiny test model on CPU" in status.text(), timeout=10000)
    window.workers.wait(10000)


def test_the_settings_dialog_offers_only_what_onnxruntime_has(qtbot, tmp_path, monkeypatch):
    offered = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: offered)
    dialog = SettingsDialog(Settings(tmp_path), str(tmp_path))
    qtbot.addWidget(dialog)
    choices = [dialog.provider.itemText(i) for i in range(dialog.provider.count())]
    assert choices == ["Automatic (best available)", "CUDA", "CPU"]
    dialog.provider.setCurrentIndex(1)
    dialog.accept()
    assert Settings(tmp_path).provider == "cuda"


def test_the_option_wins_and_a_saved_provider_gone_missing_gives_way(monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert choose_provider("cpu", "cuda") == "cpu"
    assert choose_provider(None, "cpu") == "cpu"
    assert choose_provider(None, "cuda") is None  # another install's choice: the best offered
    assert choose_provider(None, None) is None
