"""Debug mode's check that the GUI thread never stalls: engine work belongs in workers.

A timer ticks on the GUI thread every few milliseconds. A watchdog thread notices when a
tick is overdue and takes the GUI thread's stack at that moment (what it is stuck in); the
late tick then logs how long the thread was blocked, with that stack.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback

from PySide6.QtCore import QObject, Qt, QTimer

STALL_MS = 50
TICK_MS = 10

log = logging.getLogger(__name__)


class StallWatch(QObject):
    """Logs a warning for every GUI-thread stall longer than `limit_ms`."""

    def __init__(self, limit_ms: float = STALL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.limit_ms = limit_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._gui_thread = threading.get_ident()
        self._last_tick = time.monotonic()
        self._ticks = 0
        self._stuck_in: tuple[int, str] | None = None
        """(the tick that was overdue, the GUI thread's stack then), set by the watchdog."""
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="stall-watch", daemon=True)

    def start(self) -> None:
        self._last_tick = time.monotonic()
        self._timer.start()
        self._watchdog.start()

    def stop(self) -> None:
        self._timer.stop()
        self._stop.set()

    def _tick(self) -> None:
        now = time.monotonic()
        blocked_ms = (now - self._last_tick) * 1000 - TICK_MS
        stuck_in = self._stuck_in
        self._last_tick, self._ticks = now, self._ticks + 1
        if blocked_ms > self.limit_ms:
            where = stuck_in[1] if stuck_in and stuck_in[0] == self._ticks - 1 else "(not caught)"
            log.warning("GUI thread blocked for %.0f ms; it was in:\n%s", blocked_ms, where)

    def _watch(self) -> None:
        while not self._stop.wait(TICK_MS / 1000):
            ticks = self._ticks
            overdue_ms = (time.monotonic() - self._last_tick) * 1000 - TICK_MS
            caught = self._stuck_in is not None and self._stuck_in[0] == ticks
            if overdue_ms > self.limit_ms / 2 and not caught:
                frame = sys._current_frames().get(self._gui_thread)
                if frame is not None:
                    self._stuck_in = (ticks, "".join(traceback.format_stack(frame)))
