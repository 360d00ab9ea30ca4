"""Stopping a fine-tuning run cleanly on SIGINT (Ctrl-C) or SIGTERM (the app's Cancel).

While steps run, a signal only asks the run to stop: the step in progress (and an
evaluation in progress) ends, the checkpoint of the step reached is written, and the run
raises `Stopped`, so `--resume` continues from that step. At any other time (reading the
photos, evaluating before training, exporting after it) nothing would be lost, so the
signal interrupts at once, as Ctrl-C always did; the checkpoint already on disk, if any,
is where a resume starts.

Only the command line installs the handler (`StopRequest.handling`); a program that calls
`finetune` keeps its own signal handling. Under torchrun every rank installs it. Ctrl-C in
the terminal reaches every rank: each ends the step it is in (together, since a step's
collectives need all of them) and rank 0 writes the checkpoint. A signal sent to one rank
stops that rank alone after its step (rank 0 writes the checkpoint first); the others then
fail in the next step's collectives, or torchrun, seeing a rank exit, ends them.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Stopped(KeyboardInterrupt):
    """A run interrupted by a signal or Ctrl-C. `step` is the step its checkpoint holds,
    where `--resume` continues (None: the run has no checkpoint)."""

    def __init__(self, step: int | None) -> None:
        super().__init__(f"stopped; checkpoint at step {step}")
        self.step = step


class StopRequest:
    """A request to stop, made by a signal, that `finetune` reads after every step."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._deferring = False

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask the run to stop: after the step in progress while steps run, else at once."""
        self.signum = signum
        if not self._deferring:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def handling(
        self, signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
    ) -> Iterator[StopRequest]:
        """Turn `signals` into stop requests while the block runs (main thread only)."""
        previous = {signum: signal.signal(signum, self._handle) for signum in signals}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Note requests instead of interrupting while the block (the training steps) runs.

        The block checks `requested` after each step; a request that came after its last
        check stops the run as the block ends.
        """
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self.requested:
            raise KeyboardInterrupt

    def _handle(self, signum: int, frame: object) -> None:
        self.request(signum)
