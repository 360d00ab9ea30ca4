"""Training without the window: the trainer's JSON lines read as they come (in pieces, among
garbage), its end in every way it can end, the probe, and one query run with two models.

The trainer here is a stand-in script (tests/ui/fake_trainer.py) run through the real
QProcess, so these run where torch is not installed; tests/ui/test_training.py trains for real.
"""

from __future__ import annotations

import json
import sys

import pytest

from desktop.core.queries import Query
from desktop.core.training_plan import TRAINER_PYTHON_ENV, TrainingOptions, starting_model
from desktop.ui.controllers.training import EventLines, TrainingController, trainer_check
from tests.models import write_model
from tests.ui.fake_trainer import NO_TORCH, fake_python

OPTIONS = TrainingOptions(iterations=3, held_out=0.5, device="cpu")


@pytest.fixture
def labelled_library(library, photo_folder):
    library.add_folder(photo_folder)
    library.sync()
    library.import_labelled_folder(photo_folder)
    return library


def controller(library, workers, python: str) -> TrainingController:
    training = TrainingController(library, workers, python=python)
    training.network_arguments = ["--arch", "tiny"]
    return training


def start(training: TrainingController) -> None:
    training.start(starting_model(None, training.catalog), OPTIONS)


def test_json_lines_are_read_whole_and_garbage_is_kept_as_text():
    lines = EventLines()
    assert lines.feed(b'{"event": "start", "st') == []
    assert lines.feed(b'eps": 3}\n[torch.onnx] Obtain model graph\n{"event": "st') == [
        {"event": "start", "steps": 3},
        "[torch.onnx] Obtain model graph",
    ]
    assert lines.feed(b'ep", "loss": 0.5}\r\n\n[1, 2]\n{"no": "event"}\n\xff\xfe\n') == [
        {"event": "step", "loss": 0.5},
        "[1, 2]",
        '{"no": "event"}',
        "\ufffd\ufffd",
    ]
    assert lines.feed(b'{"event": "done", "report": {}}') == []
    assert lines.flush() == [{"event": "done", "report": {}}]
    assert lines.flush() == []


def test_the_probe_output_says_whether_the_trainer_runs_and_where():
    assert trainer_check(0, "True\n", "").gpu
    cpu = trainer_check(0, "some warning\nFalse\n", "")
    assert cpu.ready and not cpu.gpu
    missing = trainer_check(1, "", "Traceback ...\nModuleNotFoundError: No module named 'timm'\n")
    assert not missing.ready and missing.missing == "timm"
    broken = trainer_check(1, "", "ImportError: libcudart.so.12: cannot open shared object\n")
    assert not broken.ready and broken.missing is None and "libcudart" in broken.problem


def test_without_torch_the_probe_says_it_is_not_installed(qtbot, library, workers, tmp_path):
    training = controller(library, workers, fake_python(tmp_path, probe=NO_TORCH))
    with qtbot.waitSignal(training.checked, timeout=10000) as checked:
        training.check_trainer()
    assert not checked.args[0].ready and checked.args[0].missing == "torch"


def test_an_interpreter_that_cannot_run_is_reported(qtbot, library, workers, tmp_path):
    training = controller(library, workers, str(tmp_path / "no-such-python"))
    with qtbot.waitSignal(training.checked, timeout=10000) as checked:
        training.check_trainer()
    assert not checked.args[0].ready and "no-such-python" in checked.args[0].problem
    with qtbot.waitSignal(training.failed, timeout=10000) as failed:
        start(training)
    assert failed.args[0].startswith("Cannot run the trainer with ")
    assert not training.running


def test_progress_arrives_in_pieces_among_garbage_and_the_report_at_the_end(
    qtbot, labelled_library, workers, tmp_path
):
    train = """
    run = arguments[arguments.index("--out") + 1]
    with open(os.path.join(run, "arguments.json"), "w") as file:
        json.dump(arguments, file)
    print("[torch.onnx] a library talking on stdout", flush=True)
    emit(event="start", steps=2, train_photos=10, train_labels=2, held_out_photos=10,
         device="cpu", run_dir=run)
    emit(event="eval", step=0, metrics={"recall@1": 0.5, "map@r": 0.25})
    sys.stdout.write('{"event": "step", "step": 1, "steps": 2, "lo')
    sys.stdout.flush()
    time.sleep(0.3)
    sys.stdout.write('ss": 0.75, "seconds_left": 4.5}\\n')
    emit(event="step", step=2, steps=2, loss=0.5, seconds_left=None)
    emit(event="eval", step=2, metrics={"recall@1": 0.75, "map@r": 0.5})
    sys.stdout.write(json.dumps({"event": "done", "report": {"after": {"recall@1": 0.75}}}))
    """
    training = controller(labelled_library, workers, fake_python(tmp_path, train=train))
    training.extra_arguments = ["--workers", "0"]
    started, steps, evaluated = [], [], []
    training.started.connect(started.append)
    training.step.connect(lambda *args: steps.append(args))
    training.evaluated.connect(lambda *args: evaluated.append(args))
    with qtbot.waitSignal(training.finished, timeout=20000) as finished:
        start(training)
        assert training.running
    assert finished.args[0] == {"after": {"recall@1": 0.75}}
    assert not training.running and not training.resumable
    assert started[0]["held_out_photos"] == 10
    assert steps == [(1, 2, 0.75, 4.5), (2, 2, 0.5, None)]
    assert [step for step, _ in evaluated] == [0, 2] and evaluated[1][1]["map@r"] == 0.5
    run = training.run_dir
    assert run.parent == labelled_library.paths.data / "training"
    assert training.model_file == run / "model.onnx"
    arguments = json.loads((run / "arguments.json").read_text())
    assert arguments[:2] == ["--labels", str(run / "labels.csv")]
    assert arguments[-6:] == ["--val-classes", "0.5", "--device", "cpu", "--workers", "0"]
    assert "--arch" in arguments and arguments[arguments.index("--arch") + 1] == "tiny"
    manifest = (run / "labels.csv").read_text().splitlines()
    assert manifest[0] == "path,label" and len(manifest) == 21


def test_a_trainer_error_is_reported_with_its_message(qtbot, labelled_library, workers, tmp_path):
    train = """
    emit(event="error", message="training needs at least 2 labels in each batch")
    print("desktop-trainer: error: details", file=sys.stderr)
    sys.exit(2)
    """
    training = controller(labelled_library, workers, fake_python(tmp_path, train=train))
    with qtbot.waitSignal(training.failed, timeout=20000) as failed:
        start(training)
    assert failed.args[0] == "Training failed: training needs at least 2 labels in each batch"
    assert not training.running and not training.resumable


def test_a_trainer_that_dies_printing_garbage_says_so_with_its_last_words(
    qtbot, labelled_library, workers, tmp_path
):
    train = """
    emit(event="start", steps=5)
    print("this is not the protocol", flush=True)
    print("Fatal Python error: Segmentation fault", file=sys.stderr, flush=True)
    os._exit(139)
    """
    training = controller(labelled_library, workers, fake_python(tmp_path, train=train))
    with qtbot.waitSignal(training.failed, timeout=20000) as failed:
        start(training)
    message = failed.args[0]
    assert message.startswith("The trainer ended without finishing (exit status 139).")
    assert "this is not the protocol" in message and "Segmentation fault" in message


def test_a_stopped_run_is_resumed_from_its_folder(qtbot, labelled_library, workers, tmp_path):
    train = """
    import signal
    if arguments[0] == "--resume":
        emit(event="step", step=3, steps=3, loss=0.5)
        emit(event="done", report={"resumed": arguments[1]})
        sys.exit(0)
    run = arguments[arguments.index("--out") + 1]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    emit(event="start", steps=3)
    for step in range(1, 1000):
        time.sleep(0.05)
        emit(event="step", step=step, steps=3, loss=1.0)
        if stop:
            emit(event="stopped", step=step, run_dir=run)
            sys.exit(143)
    """
    training = controller(labelled_library, workers, fake_python(tmp_path, train=train))
    with qtbot.waitSignal(training.step, timeout=20000):
        start(training)
    with qtbot.waitSignal(training.stopped, timeout=20000) as stopped:
        training.stop()
    run = stopped.args[0]
    assert run == training.run_dir and training.resumable and not training.running
    with qtbot.waitSignal(training.finished, timeout=20000) as finished:
        training.resume()
    assert finished.args[0] == {"resumed": str(run)}
    assert training.run_dir == run and not training.resumable


def test_a_run_stopped_before_its_first_checkpoint_cannot_be_resumed(
    qtbot, labelled_library, workers, tmp_path
):
    train = """
    import signal
    signal.signal(signal.SIGTERM, lambda *_: (emit(event="stopped", step=None), sys.exit(143)))
    emit(event="start", steps=3)
    time.sleep(20)
    """
    training = controller(labelled_library, workers, fake_python(tmp_path, train=train))
    with qtbot.waitSignal(training.started, timeout=20000):
        start(training)
    with qtbot.waitSignal(training.failed, timeout=20000) as failed:
        training.stop()
    assert failed.args[0].startswith("Training was stopped before it could save where it was")
    assert not training.resumable


def test_one_query_runs_with_two_models_each_over_what_it_indexed(
    qtbot, labelled_library, workers, tmp_path, photo_folder
):
    library = labelled_library
    old = library.active_model()
    second = write_model(tmp_path / "second.onnx", seed=5, size=32, dim=48, name="second")
    new = library.add_model(second, activate=True)  # not indexed with it yet
    training = TrainingController(library, workers)
    query = sorted(photo_folder.glob("*/*.jpg"))[0]

    with qtbot.waitSignal(training.compared, timeout=20000) as compared:
        training.compare(Query(images=[str(query)]), [old.id, new.id], 5)
    before, after = compared.args[0]
    assert before.state.record == old and before.state.indexed == 20
    assert before.results[0].photo.path == str(query) and len(before.results) == 5
    assert after.state.record == new and after.state.indexed == 0 and after.results == []

    with qtbot.waitSignal(training.compared, timeout=20000) as compared:
        training.compare(Query(photos=[str(query)]), [old.id, new.id], 5)
    before, after = compared.args[0]
    assert len(before.results) == 5 and before.problem is None
    assert after.problem == f"not indexed yet: {query}"


def test_a_bundle_has_no_trainer_and_says_how_to_train(
    qtbot, labelled_library, workers, monkeypatch
):
    """A frozen app's executable is the app itself: it must not be run as the trainer."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.delenv(TRAINER_PYTHON_ENV, raising=False)
    training = TrainingController(labelled_library, workers)
    assert training.python is None
    with qtbot.waitSignal(training.checked, timeout=10000) as checked:
        training.check_trainer()
    assert not checked.args[0].ready and TRAINER_PYTHON_ENV in checked.args[0].problem
    with qtbot.waitSignal(training.failed, timeout=10000) as failed:
        start(training)
    assert failed.args[0].startswith("Cannot run the trainer: this installed app")
    assert not training.running
