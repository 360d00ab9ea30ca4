"""Train on my labels, through the real window: Labels > Train on my labels… opens the dialog
on the library's labels; it trains (a tiny network, for real, through the QProcess), stops
and resumes, shows the held-out figures, and the model it made is used and compared.

The tests marked slow run the real trainer and need torch; the others run a stand-in
trainer script (tests/ui/fake_trainer.py), so they run where torch is not installed.
"""

from __future__ import annotations

import importlib.util
import re
from contextlib import contextmanager

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.core.model_contract import file_content_hash
from desktop.ui.training_dialog import TrainingDialog
from tests.models import write_model
from tests.ui.fake_trainer import NO_TORCH, fake_python

TINY_NETWORK = ["--arch", "vit_tiny_patch16_224", "--input-size", "32", "--model-kwargs", "depth=1"]
ON_CPU = ["--device", "cpu", "--workers", "0"]
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def stop_when_asked(monkeypatch):
    """The question whether to stop training and close is answered yes, so a test that fails
    mid-run still closes its window (the test of the question answers it itself)."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)


def needs_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("training needs torch, which this Python lacks (the app's own venv)")


def label_photos(library, photo_folder) -> dict[str, list[str]]:
    """Four labels to train on (two of 4 photos, two of 5), a label of one photo (too few),
    and one photo under two labels (left out). Returns each folder's photos."""
    photos = {f.name: sorted(map(str, f.glob("*.jpg"))) for f in sorted(photo_folder.iterdir())}
    for name, files in photos.items():
        library.create_label(name)
        library.add_to_label(name, files)
    library.remove_from_label("label-000", photos["label-000"][4:])
    library.create_label("few")
    library.add_to_label("few", photos["label-000"][4:])
    library.add_to_label("label-002", photos["label-001"][4:])
    return photos


@pytest.fixture
def photos(window, photo_folder, tmp_path, monkeypatch) -> dict[str, list[str]]:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    return label_photos(window.library, photo_folder)


def open_dialog(qtbot, window) -> TrainingDialog:
    """Labels > Train on my labels…, once the labels are read and the trainer checked."""
    window.commands["train"].trigger()
    dialog = window.findChild(TrainingDialog)
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.check is not None, timeout=60000)
    return dialog


@contextmanager
def trained(qtbot, training, signal, timeout=120000):
    """Wait for `signal` of a real run; its failure fails the test at once, with why."""
    failures = []
    training.failed.connect(failures.append)
    with qtbot.waitSignal(signal, timeout=timeout) as blocker:
        yield blocker
        qtbot.waitUntil(lambda: blocker.signal_triggered or bool(failures), timeout=timeout)
        assert not failures, failures[0]
    training.failed.disconnect(failures.append)


def result_paths(window) -> list[str]:
    model = window.search_page.results.model
    return [model.result(row).photo.path for row in range(model.rowCount())]


def search_with(qtbot, window, monkeypatch, photo: str) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([photo], ""))
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.commands["open"].trigger()


def test_the_dialog_shows_what_it_trains_and_without_torch_how_to_install(
    qtbot, window, photos, tmp_path
):
    window.training.python = fake_python(tmp_path, probe=NO_TORCH)
    dialog = open_dialog(qtbot, window)

    table = dialog.table
    rows = [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
    assert rows == [("label-000", "4"), ("label-001", "4"), ("label-002", "5"), ("label-003", "5")]
    assert dialog.summary.text() == "18 photos under 4 labels."
    warnings = dialog.warnings.text()
    assert "1 label with fewer than 4 photos: few (1)" in warnings
    assert "1 photo under several labels (a photo trains under one): photo-04.jpg" in warnings
    assert "2 of the 4 labels are held out" in dialog.split.text()
    starts = dialog.start_model.text()
    assert "DINOv2 ViT-S/14" in starts and "needs the internet" in starts
    assert "the active model was not made from one of the app's models" in starts

    assert dialog.trainer_message.isVisible()
    message = dialog.trainer_message.text()
    assert "The trainer is not installed" in message and "no module named torch" in message
    assert "pip install &quot;photo-search[train]&quot;" in message and "make test" in message
    assert not dialog.train_button.isEnabled()
    command = dialog.command.toPlainText()
    assert " -m trainer.cli finetune --labels " in command
    assert "--arch vit_small_patch14_dinov2 --input-size 224 --pretrained" in command
    assert "--iterations 500 --val-classes 0.5" in command

    dialog.iterations.setValue(50)
    dialog.held_out.setValue(10)  # one label of four: nothing to measure with
    assert "--iterations 50 --val-classes 0 " in dialog.command.toPlainText()
    assert "It cannot be measured" in dialog.split.text()


def test_the_labels_tab_offers_training_when_the_action_does(qtbot, window, photos, tmp_path):
    window.training.python = fake_python(tmp_path, probe=NO_TORCH)
    page = window.search_page.labels_page
    assert page.train_button.isEnabled() == window.commands["train"].isEnabled() is True
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    assert window.findChild(TrainingDialog).isVisible()
    window.commands["train"].setEnabled(False)  # as when the library becomes read-only
    assert not page.train_button.isEnabled()


def test_a_trainer_error_shows_its_message(qtbot, window, photos, tmp_path):
    train = """
    print("a log line", file=sys.stderr, flush=True)
    emit(event="error", message="photo /gone.jpg is under both a and b")
    sys.exit(2)
    """
    window.training.python = fake_python(tmp_path, train=train)
    dialog = open_dialog(qtbot, window)
    assert dialog.device.text().startswith("CPU")
    with qtbot.waitSignal(window.training.failed, timeout=20000):
        qtbot.mouseClick(dialog.train_button, LEFT)
    assert "Training failed: photo /gone.jpg is under both a and b" in dialog.message.text()
    assert dialog.progress_text.text() == "Training did not finish."
    assert dialog.train_button.isEnabled() and not dialog.stop_button.isEnabled()


def test_closing_while_training_asks_first(qtbot, window, photos, tmp_path, monkeypatch):
    train = """
    import signal
    run = arguments[arguments.index("--out") + 1]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    emit(event="start", steps=1000, step=0)
    for step in range(1, 1000):
        time.sleep(0.05)
        emit(event="step", step=step, steps=1000, loss=1.0 / step, seconds_left=99)
        if stop:
            emit(event="stopped", step=step, run_dir=run)
            sys.exit(143)
    """
    window.training.python = fake_python(tmp_path, train=train)
    dialog = open_dialog(qtbot, window)
    with qtbot.waitSignal(window.training.step, timeout=20000):
        qtbot.mouseClick(dialog.train_button, LEFT)
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))

    dialog.close()
    assert dialog.isVisible() and window.training.running  # "No": it goes on
    with qtbot.waitSignal(window.training.stopped, timeout=20000):
        dialog.close()
        assert not dialog.isVisible()
    assert not answers

    window.commands["train"].trigger()  # opened again: the stopped run can be resumed
    assert dialog.isVisible() and dialog.resume_button.isVisible()


def test_the_model_made_is_used_and_compared_with_the_old_one(
    qtbot, window, photos, tmp_path, monkeypatch
):
    made = write_model(tmp_path / "made.onnx", seed=7, size=32, dim=48, name="trained on labels")
    report = {
        "before": {"recall@1": 0.5, "map@r": 0.25},
        "after": {"recall@1": 0.75, "map@r": 0.375},
        "model": {"onnx": "model.onnx", "content_hash": file_content_hash(made)},
    }
    train = f"""
    run = arguments[arguments.index("--out") + 1]
    emit(event="start", steps=1, step=0, train_photos=8, train_labels=2, held_out_photos=10,
         device="cpu", run_dir=run)
    emit(event="eval", step=0, metrics={report["before"]!r})
    emit(event="step", step=1, steps=1, loss=0.5, seconds_left=0)
    emit(event="eval", step=1, metrics={report["after"]!r})
    import shutil
    shutil.copy({str(made)!r}, os.path.join(run, "model.onnx"))
    emit(event="done", report={report!r})
    """
    window.training.python = fake_python(tmp_path, train=train)
    dialog = open_dialog(qtbot, window)
    assert not dialog.use_button.isVisible()
    with qtbot.waitSignal(window.training.finished, timeout=20000):
        qtbot.mouseClick(dialog.train_button, LEFT)
    figures = dialog.results.text()
    assert re.search(r"Recall@1</td><td[^>]*>50\.0%</td><td[^>]*>75\.0%", figures)
    assert re.search(r"MAP@R</td><td[^>]*>25\.0%</td><td[^>]*>37\.5%", figures)

    with qtbot.waitSignal(window.indexing.finished, timeout=20000):  # indexes with it
        qtbot.mouseClick(dialog.use_button, LEFT)
    assert dialog.new_model.name == "trained on labels"
    assert window.library.active_model() == dialog.new_model
    assert "Added and activated trained on labels" in dialog.message.text()
    assert not dialog.use_button.isEnabled() and dialog.compare_button.isVisible()

    qtbot.mouseClick(dialog.compare_button, LEFT)
    assert "Search for something first" in dialog.message.text()
    query = photos["label-002"][0]
    search_with(qtbot, window, monkeypatch, query)
    with qtbot.waitSignal(window.training.compared, timeout=20000):
        qtbot.mouseClick(dialog.compare_button, LEFT)
    comparison = dialog.comparison
    assert comparison.isVisible()
    titles = [title.text() for title in comparison.titles]
    assert "Before training: tiny test model</b> · 20 of 20 photos indexed" in titles[0]
    assert "After training: trained on labels</b> · 20 of 20 photos indexed" in titles[1]
    assert [row.count() for row in comparison.rows] == [20, 20]


@pytest.mark.slow
def test_training_a_tiny_model_then_searching_with_it(qtbot, window, photos, monkeypatch):
    needs_torch()
    window.training.network_arguments = TINY_NETWORK
    window.training.extra_arguments = ON_CPU
    dialog = open_dialog(qtbot, window)
    assert dialog.check.ready, dialog.trainer_message.text()
    dialog.iterations.setValue(4)
    shown = []
    window.training.step.connect(lambda *_: shown.append(dialog.progress_text.text()))

    with trained(qtbot, window.training, window.training.finished) as finished:
        qtbot.mouseClick(dialog.train_button, LEFT)
        assert not dialog.train_button.isEnabled() and dialog.stop_button.isEnabled()
    assert [text.split(" · ")[0] for text in shown] == [f"Step {n} of 4" for n in range(1, 5)]
    assert re.search(r"loss \d\.\d{4} · ETA 0:0\d", shown[0])
    assert dialog.progress.value() == dialog.progress.maximum() == 4
    assert [step for step, _ in dialog.curve.losses] == [1, 2, 3, 4]
    report = finished.args[0]
    before, after = report["before"]["recall@1"], report["after"]["recall@1"]
    assert f"{100 * before:.1f}%</td><td align='right'>{100 * after:.1f}%" in dialog.results.text()

    with qtbot.waitSignal(window.indexing.finished, timeout=60000):
        qtbot.mouseClick(dialog.use_button, LEFT)
    library = window.library
    qtbot.waitUntil(lambda: library.serving_model() == dialog.new_model, timeout=20000)
    query = photos["label-003"][0]
    search_with(qtbot, window, monkeypatch, query)
    assert window.search.shown_query.model_id == dialog.new_model.id
    assert result_paths(window)[0] == query and len(result_paths(window)) == 20


@pytest.mark.slow
def test_stopping_after_the_first_step_then_resuming(qtbot, window, photos):
    needs_torch()
    window.training.network_arguments = TINY_NETWORK
    window.training.extra_arguments = ON_CPU
    dialog = open_dialog(qtbot, window)
    dialog.iterations.setValue(5)
    with trained(qtbot, window.training, window.training.step):
        qtbot.mouseClick(dialog.train_button, LEFT)
    with trained(qtbot, window.training, window.training.stopped) as stopped:
        qtbot.mouseClick(dialog.stop_button, LEFT)
    run = stopped.args[0]
    assert (run / "checkpoint.pt").is_file() and not (run / "model.onnx").exists()
    assert dialog.resume_button.isVisible() and not dialog.stop_button.isEnabled()
    at = dialog.progress.value()
    assert 1 <= at < 5 and dialog.progress_text.text().startswith(f"Stopped at step {at}.")

    steps = []
    window.training.step.connect(lambda step, *_: steps.append(step))
    with trained(qtbot, window.training, window.training.finished):
        qtbot.mouseClick(dialog.resume_button, LEFT)
    assert steps == list(range(at + 1, 6))
    assert (run / "model.onnx").is_file() and dialog.use_button.isVisible()
