"""The status read in a worker: the GUI thread never waits for the library's lock, reads
are coalesced, and the status is read again every second while the library changes."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer

from desktop.ui.controllers.status import StatusController
from tests.ui.controllers.conftest import record_threads


def test_a_read_waiting_for_the_library_lock_leaves_the_gui_thread_free(
    qtbot, indexed_library, workers
):
    status = StatusController(indexed_library, workers)
    held, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:  # what a long search does
        with indexed_library._lock:
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert held.wait(10)
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(10)
        status.refresh()  # returns at once: the read waits in a worker
        qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=5000)
        assert status.current is None
    finally:
        release.set()
        holder.join()
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
