"""The worker pool hands a task's exception on as the object it is."""

from __future__ import annotations

import os

from desktop.ui.workers import WorkerPool, error_text


class Refused(Exception):
    pass


def test_a_failed_task_hands_on_its_exception(qtbot):
    workers = WorkerPool()
    raised = Refused("no, because")

    def task(progress, cancel):
        raise raised

    errors, finished = [], []
    with qtbot.waitSignal(workers.busy_changed, check_params_cb=lambda busy: not busy):
        workers.start(task, on_error=errors.append, on_finished=finished.append)
    assert errors == [raised] and errors[0] is raised and finished == []


def test_error_text_is_fit_to_show():
    name = os.fsdecode(b"caf\xe9.jpg")
    assert error_text(OSError(f"cannot read {name}")) == "cannot read caf\ufffd.jpg"
    assert error_text(Refused()) == "Refused"
