"""Indexing without the window: runs in a worker, one more run when asked meanwhile, folder
changes in workers, and what cannot be done now is told in words."""

from __future__ import annotations

import threading

from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.ui.controllers.indexing import IndexingController
from tests.ui.controllers.conftest import record_threads


def test_an_index_run_reports_progress_and_its_outcome(
    qtbot, library, photo_folder, workers, monkeypatch
):
    library.add_folder(photo_folder)
    threads = record_threads(monkeypatch, library, "sync")
    indexing = IndexingController(library, workers)
    progress = []
    indexing.progress.connect(lambda words, done, total: progress.append((words, done, total)))
    with qtbot.waitSignal(indexing.finished, timeout=30000) as finished:
        indexing.start()
        assert indexing.running
    assert finished.args[0].embedded == 20 and indexing.last_report is finished.args[0]
    assert not indexing.running and threading.main_thread() not in threads
    assert progress[0] == ("Scanning folders…", 0, 0)
    assert any(words.startswith("Indexing") and total == 20 for words, _, total in progress)


def test_asking_while_a_run_goes_on_runs_once_more_after_it(
    qtbot, library, photo_folder, workers, tmp_path, made_photos
):
    library.add_folder(photo_folder)
    indexing = IndexingController(library, workers)
    reports = []
    indexing.finished.connect(reports.append)
    indexing.start()
    extra = tmp_path / "added meanwhile"
    extra.mkdir()
    (extra / "new.jpg").write_bytes(made_photos[-1].read_bytes())
    library.add_folder(extra)
    indexing.start()  # queued: the first run may have scanned already
    indexing.start()  # still one more run, not two
    qtbot.waitUntil(lambda: len(reports) == 2 and not indexing.running, timeout=30000)
    qtbot.wait(200)
    assert len(reports) == 2
    assert sum(report.embedded for report in reports) == 21


def test_folders_are_added_and_indexed_and_removed_in_workers(
    qtbot, library, photo_folder, workers, monkeypatch, tmp_path
):
    adds = record_threads(monkeypatch, library, "add_folder")
    removes = record_threads(monkeypatch, library, "remove_folder")
    indexing = IndexingController(library, workers)
    with qtbot.waitSignals([indexing.folders_changed, indexing.finished], timeout=30000):
        indexing.add_folders([str(photo_folder)])
    assert indexing.last_report.embedded == 20
    with qtbot.waitSignal(indexing.failed) as failed:
        indexing.add_folders([str(tmp_path / "nowhere")])
    assert "is not a folder" in failed.args[0] and not indexing.running

    indexing.start()
    with qtbot.waitSignal(indexing.failed) as refused:
        indexing.remove_folder(str(photo_folder))
    assert "Wait for indexing to finish" in refused.args[0]
    qtbot.waitUntil(lambda: not indexing.running, timeout=30000)
    with qtbot.waitSignal(indexing.folders_changed):
        indexing.remove_folder(str(photo_folder))
    assert library.folders() == []
    assert threading.main_thread() not in adds + removes and len(removes) == 1


def test_folders_added_before_the_first_model_wait_for_it_quietly(qtbot, photo_folder, workers):
    with Library(app_paths()) as library:
        indexing = IndexingController(library, workers)
        failures = []
        indexing.failed.connect(failures.append)
        with qtbot.waitSignal(indexing.finished) as finished:
            indexing.add_folders([str(photo_folder)])
        assert finished.args[0] is None and failures == []
        assert [f.path for f in library.folders()] == [str(photo_folder)]
