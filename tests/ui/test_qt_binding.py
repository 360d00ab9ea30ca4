"""The Qt binding keeps Python's reference counts: PySide6 6.12.0 dropped one reference to
every bool a signal carried, so after enough signals the interpreter aborted at exit
("bool_dealloc") and took a green test run down with it. Caught here by name instead."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class Emitter(QObject):
    flag = Signal(bool)
    value = Signal(object)


def test_signals_keep_the_reference_counts_of_what_they_carry(qapp):
    emitter = Emitter()
    received = []
    emitter.flag.connect(received.append)
    emitter.value.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(100):
        emitter.flag.emit(True)
        emitter.value.emit(False)
    received.clear()
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before, (
        "this PySide6 loses references to values that signals carry; pyproject.toml excludes it"
    )
