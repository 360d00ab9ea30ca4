"""Controllers on a real library, without a widget: a worker pool and the signals."""

from __future__ import annotations

import threading

import pytest

from desktop.ui.workers import WorkerPool


@pytest.fixture
def workers(qapp):
    pool = WorkerPool()
    yield pool
    pool.cancel_all()
    pool.wait(20000)


def record_threads(monkeypatch, owner, name: str) -> list[threading.Thread]:
    """Wrap `owner.name` to record the thread each call runs on."""
    threads, original = [], getattr(owner, name)

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return threads
