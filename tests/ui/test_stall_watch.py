"""Debug mode's stall watch: a blocked GUI thread is logged with where it was stuck."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QTimer

from desktop.ui.stall_watch import StallWatch


def block_the_gui_thread() -> None:
    time.sleep(0.3)


def test_a_blocked_gui_thread_is_logged_with_its_stack(qtbot, caplog):
    watch = StallWatch(limit_ms=50)
    watch.start()
    try:
        with caplog.at_level(logging.WARNING, logger="desktop.ui.stall_watch"):
            QTimer.singleShot(50, block_the_gui_thread)
            qtbot.waitUntil(lambda: "blocked" in caplog.text, timeout=5000)
    finally:
        watch.stop()
    record = next(r for r in caplog.records if "blocked" in r.getMessage())
    blocked_ms = float(record.getMessage().split("blocked for ")[1].split(" ms")[0])
    assert 250 <= blocked_ms < 2000
    assert "block_the_gui_thread" in record.getMessage()  # where it was stuck
