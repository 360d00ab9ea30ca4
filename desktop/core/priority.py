"""Background work yields the cores to what a user waits for.

Indexing embeds batch after batch on every core; a search started meanwhile would get a third
of the CPU on a 2-core machine (383 ms instead of 115 ms at 100k photos, bench/gui_scale.py).
`run_in_background` runs work in a thread of its own whose nice value is raised. On Linux,
where the nice value belongs to each thread, the threads that work starts inherit it: the
photo decoders and the thread pool of an onnxruntime session it opens. Searches in other
threads then get the cores first, and indexing takes what they leave. Elsewhere the work
runs at the normal priority.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

BACKGROUND_NICE = 10
"""How much lower than the caller's the background thread's priority is (nice 0 to 10 gives
it about a tenth of a contended core's time)."""


def run_in_background(work: Callable[[], T], cancel: threading.Event) -> T:
    """`work()` in a new thread at background priority; returns its result or raises its
    exception here. A new thread, because an unprivileged thread can lower its priority but
    never raise it back, and the caller may be a pool thread that searches later.

    When the wait is interrupted (Ctrl-C in the CLI), `cancel` is set for `work` to stop
    at its next check, and the interruption is raised once it has.
    """
    outcome: dict[str, object] = {}
    finished = threading.Event()  # waited on rather than join(), which an interrupt can upset

    def run() -> None:
        lower_this_thread()
        try:
            outcome["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=run, name="background")
    thread.start()
    try:
        finished.wait()
    except BaseException:
        cancel.set()
        finished.wait()
        raise
    finally:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


def lower_this_thread() -> None:
    """Raise the calling thread's nice value by BACKGROUND_NICE (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    thread_id = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + BACKGROUND_NICE))
    except OSError:  # a sandbox that forbids it: the work still runs
        pass
