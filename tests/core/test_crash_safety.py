"""SIGKILL during indexing loses nothing committed and the next run finishes the job."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.core.library import Library
from desktop.core.paths import app_paths
from tests.conftest import REPO_ROOT

COPIES = 16
"""Each made photo appears this many times: 480 files, long enough a run to kill midway."""


def start_index(folder: Path, home: Path, model: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "desktop", "index", str(folder), "--library", str(home)]
    command += ["--model", str(model), "--batch-size", "8", "--json"]
    return subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stored(home: Path) -> dict[str, bytes]:
    """path -> descriptor bytes, read straight from the catalog file."""
    path = home / "data" / "catalog.sqlite3"
    if not path.exists():
        return {}
    db = sqlite3.connect(path, timeout=30)
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] == 0:
            return {}
        rows = db.execute(
            "SELECT p.path, d.vector FROM descriptors d JOIN photos p ON p.id = d.photo_id"
        ).fetchall()
        return dict(rows)
    finally:
        db.close()


def check_consistent(home: Path) -> None:
    path = home / "data" / "catalog.sqlite3"
    if not path.exists():
        return
    db = sqlite3.connect(path, timeout=30)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()


def kill_when(process: subprocess.Popen, home: Path, at_least: int, timeout: float = 120) -> None:
    """SIGKILL the indexer as soon as `at_least` descriptors are committed (0: right away)."""
    deadline = time.monotonic() + timeout
    while len(stored(home)) < at_least and process.poll() is None:
        assert time.monotonic() < deadline, "indexing did not progress"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_at_several_points_then_resume(tmp_path, made_photos, tiny_model_path):
    folder = tmp_path / "photos"
    for copy in range(COPIES):
        (folder / f"copy-{copy:02d}").mkdir(parents=True)
        for photo in made_photos:
            os.symlink(photo, folder / f"copy-{copy:02d}" / f"{photo.parent.name}-{photo.name}")
    total = COPIES * len(made_photos)

    reference_home = tmp_path / "reference"
    uninterrupted = start_index(folder, reference_home, tiny_model_path)
    assert uninterrupted.wait(timeout=300) == 0
    reference = stored(reference_home)
    assert len(reference) == total

    home = tmp_path / "crashing"
    committed: dict[str, bytes] = {}
    for target in (0, 40, 160, 320):
        kill_when(start_index(folder, home, tiny_model_path), home, target)
        check_consistent(home)
        now = stored(home)
        assert len(now) < total, "the kill came after the run had finished"
        assert set(committed) <= set(now), "a committed descriptor was lost"
        for path, vector in now.items():
            expected = np.frombuffer(reference[path], np.float32)
            assert np.allclose(np.frombuffer(vector, np.float32), expected, atol=1e-5)
        committed = now

    finished = start_index(folder, home, tiny_model_path)
    assert finished.wait(timeout=300) == 0
    final = stored(home)
    assert set(final) == set(reference)
    for path, vector in final.items():
        assert np.allclose(
            np.frombuffer(vector, np.float32), np.frombuffer(reference[path], np.float32), atol=1e-5
        )
    with Library(app_paths(home)) as library:  # and the index answers from it
        photo = library.catalog.photos()[0]
        assert (
            library.search_vector(
                library.catalog.descriptors(library.active_model().id, [photo.id])[1][0], top=1
            )[0].photo.path
            == photo.path
        )
