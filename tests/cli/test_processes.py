"""`photo-search index` as its own process: beside an open library that keeps searching, and
stopped with Ctrl+C."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.main import main
from tests.conftest import REPO_ROOT


def link_copies(folder: Path, photos: list[Path], copies: int) -> int:
    """`copies` sub-folders of symlinks to `photos`; how many files that makes."""
    for copy in range(copies):
        (folder / f"copy-{copy:02d}").mkdir(parents=True)
        for photo in photos:
            os.symlink(photo, folder / f"copy-{copy:02d}" / f"{photo.parent.name}-{photo.name}")
    return copies * len(photos)


def start_index(home: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "desktop", "index", *args, "--library", str(home)]
    return subprocess.Popen(
        [*command, "--batch-size", "4", "--json"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible if os.name == "posix" else None,
    )


def interruptible() -> None:
    """Give the child the default SIGINT, as a terminal would. A test run started in the
    background by a shell without job control ignores SIGINT, the child would inherit
    that, and Python then never turns Ctrl-C into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def committed(home: Path) -> int:
    """Descriptors committed so far, read straight from the catalog file."""
    path = home / "data" / "catalog.sqlite3"
    if not path.exists():
        return 0
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM descriptors").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        db.close()


def test_searches_keep_answering_while_another_process_indexes(
    library, photo_folder, spare_photos, tmp_path
):
    library.add_folder(photo_folder)
    library.sync()
    home = library.paths.data.parent
    model = library.serving_model()
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    expected = [r.photo.path for r in library.search_images([query], top=5)]  # its label
    with Library(app_paths(home)) as stale:  # searched before and after only
        loaded_at = stale.vector_index(model).seq
        sizes = [library.vector_index(model).size]
        added = 0
        for part in ("a", "b"):  # two runs: the change log is pruned after each
            added += link_copies(tmp_path / part, spare_photos, 10)
            process = start_index(home, str(tmp_path / part))
            while process.poll() is None:
                assert [r.photo.path for r in library.search_images([query], top=5)] == expected
                sizes.append(library.vector_index(model).size)
                time.sleep(0.01)
            assert process.returncode == 0, process.stderr.read()
        assert sizes == sorted(sizes) and sizes[-1] <= 20 + added
        assert library.catalog.changes_floor(model.id) > loaded_at
        for searcher in (library, stale):
            assert searcher.vector_index(model).size == 20 + added
            hits = searcher.search_images([spare_photos[7]], top=21)
            copies = {h.photo.path for h in hits if h.score > 0.9999}
            assert len(copies) == 20 and {Path(p).parents[2] for p in copies} == {tmp_path}


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_stops_indexing_keeps_finished_batches_and_exits_130(
    capsys, tmp_path, made_photos, tiny_model_path
):
    home = tmp_path / "lib"
    total = link_copies(tmp_path / "many", made_photos, 34)  # 1,020 photos
    process = start_index(home, str(tmp_path / "many"), "--model", str(tiny_model_path))
    deadline = time.monotonic() + 120
    while committed(home) == 0:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "indexing did not start"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted: finished batches are saved")
    assert out == ""
    kept = committed(home)
    assert 0 < kept < total, "the interrupt came after the run had finished"

    assert main(["index", "--library", str(home), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["added"], summary["embedded"]) == (0, total - kept)
    assert committed(home) == total
