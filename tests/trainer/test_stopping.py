"""Stop requests: a signal waits for the step in progress, and interrupts at once otherwise."""

from __future__ import annotations

import signal

import pytest

from trainer.finetune import finetune
from trainer.progress import Progress
from trainer.stopping import Stopped, StopRequest

from .conftest import tiny_config


def test_a_signal_waits_for_the_step_in_progress_only_while_steps_run():
    previous = signal.getsignal(signal.SIGTERM)
    stop = StopRequest()
    with stop.handling(), pytest.raises(KeyboardInterrupt):  # nothing to save: stop at once
        signal.raise_signal(signal.SIGTERM)
    assert stop.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == previous  # the handler is the CLI's for a while

    stop = StopRequest()
    with stop.handling(), pytest.raises(KeyboardInterrupt), stop.deferred():
        signal.raise_signal(signal.SIGINT)
        assert stop.requested  # noted: the step goes on, and the trainer checks after it
        signal.raise_signal(signal.SIGINT)  # again, as torchrun forwards the terminal's
        finished_the_step = True
    assert finished_the_step and stop.signum == signal.SIGINT


def test_a_run_stopped_before_its_first_step_has_no_checkpoint(small_labelled, tmp_path):
    stop = StopRequest()

    class StopAtStart(Progress):
        def started(self, info):
            stop.request(signal.SIGTERM)

    config = tiny_config(data_dir=str(small_labelled), iterations=5)
    with pytest.raises(Stopped) as stopped:
        finetune(config, tmp_path / "run", progress=StopAtStart(), stop=stop)
    assert stopped.value.step is None
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
