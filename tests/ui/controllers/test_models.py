"""Models without the window: adding a file, activating and listing run in workers."""

from __future__ import annotations

import threading

from desktop.ui.controllers.models import ModelsController
from tests.models import write_model
from tests.ui.controllers.conftest import record_threads


def test_a_model_file_is_checked_and_added_off_the_gui_thread(
    qtbot, library, workers, monkeypatch, tmp_path
):
    threads = record_threads(monkeypatch, library, "add_model")
    second = write_model(tmp_path / "second.onnx", seed=5, size=32, dim=48, name="second")
    models = ModelsController(library, workers)
    with qtbot.waitSignal(models.added) as added:
        models.add_file(str(second))
    record, active = added.args
    assert record.name == "second" and not active  # the library has an active model
    assert threads and threading.main_thread() not in threads

    with qtbot.waitSignal(models.activated) as activated:
        models.activate(record.id)
    assert activated.args[0].id == record.id == library.active_model().id
    with qtbot.waitSignal(models.states) as states:
        models.load_states()
    assert [(s.record.name, s.active) for s in states.args[0]] == [
        ("tiny test model", False),
        ("second", True),
    ]


def test_a_file_that_is_no_model_is_refused_with_the_reason(qtbot, library, workers, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    models = ModelsController(library, workers)
    with qtbot.waitSignal(models.failed) as failed:
        models.add_file(str(bad), activate=True)
    assert failed.args[0].startswith("That file cannot be used: ")
    assert len(library.models()) == 1


def test_getting_a_catalog_model_offline_says_why(qtbot, library, workers, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    models = ModelsController(library, workers)
    busy = []
    models.downloading.connect(busy.append)
    with qtbot.waitSignal(models.failed, timeout=20000) as failed:
        models.get(models.catalog.default.key, False)
        assert models.busy
    assert "HF_HUB_OFFLINE" in failed.args[0]
    assert busy == [True, False] and not models.busy
