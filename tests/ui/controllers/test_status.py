"""The status read in a worker: the GUI thread never waits for the library's lock, reads
are coalesced, and the status is read again every second while the library changes (less
often when reads take long: they hold the lock searches need)."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QTimer

from desktop.ui.controllers.status import StatusController
from tests.ui.conftest import library_lock_held
from tests.ui.controllers.conftest import record_threads


def test_a_read_waiting_for_the_library_lock_leaves_the_gui_thread_free(
    qtbot, indexed_library, workers
):
    status = StatusController(indexed_library, workers)
    with library_lock_held(indexed_library):
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(10)
        status.refresh()  # returns at once: the read waits in a worker
        qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=5000)
        assert status.current is None
    with qtbot.waitSignal(status.changed) as changed:
        pass
    assert changed.args[0].photos == 20 and status.current is changed.args[0]


def test_reads_asked_for_meanwhile_make_one_more_read(qtbot, indexed_library, workers, monkeypatch):
    reads = record_threads(monkeypatch, indexed_library, "status")
    status = StatusController(indexed_library, workers)
    for _ in range(5):
        status.refresh()
    qtbot.waitUntil(lambda: not workers.busy, timeout=10000)
    assert len(reads) == 2 and threading.main_thread() not in reads


def test_while_the_library_changes_the_status_is_read_every_second(
    qtbot, indexed_library, workers, monkeypatch
):
    reads = record_threads(monkeypatch, indexed_library, "status")
    status = StatusController(indexed_library, workers)
    status.keep_fresh(True)
    qtbot.waitUntil(lambda: len(reads) >= 2, timeout=5000)
    status.keep_fresh(False)  # one last read
    qtbot.waitUntil(lambda: not workers.busy, timeout=5000)
    stopped_at = len(reads)
    qtbot.wait(1500)
    assert len(reads) == stopped_at


def test_slow_reads_while_the_library_changes_leave_searches_most_of_the_time(
    qtbot, indexed_library, workers, monkeypatch
):
    starts, status = [], indexed_library.status

    def slow_status():  # a large library's counting queries
        starts.append(time.perf_counter())
        time.sleep(0.3)
        return status()

    monkeypatch.setattr(indexed_library, "status", slow_status)
    controller = StatusController(indexed_library, workers)
    controller.keep_fresh(True)
    qtbot.waitUntil(lambda: len(starts) >= 3, timeout=10000)
    controller.keep_fresh(False)
    qtbot.waitUntil(lambda: not workers.busy, timeout=5000)
    gaps = [starts[1] - starts[0], starts[2] - starts[1]]
    assert all(0.3 / gap <= 0.21 for gap in gaps), gaps  # reads hold the lock 20% at most
