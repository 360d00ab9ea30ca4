"""Indexing yields the cores to searches: it runs at background priority, the caller does not."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from desktop.core.priority import BACKGROUND_NICE, run_in_background


def nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a per-thread nice is Linux's")
def test_indexing_runs_at_background_priority_and_the_caller_keeps_its_own(library, photo_folder):
    library.add_folder(photo_folder)
    own = nice_of_this_thread()
    seen = set()
    library.sync(lambda update: seen.add(nice_of_this_thread()))
    assert seen == {min(19, own + BACKGROUND_NICE)}
    assert nice_of_this_thread() == own


def test_background_work_returns_its_result_or_raises_its_error():
    assert run_in_background(lambda: 42, threading.Event()) == 42

    def fail():
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        run_in_background(fail, threading.Event())
