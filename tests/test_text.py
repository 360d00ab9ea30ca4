"""desktop.text: the words the CLI and the window share."""

from __future__ import annotations

from desktop import text
from desktop.core.catalog import ModelRecord
from desktop.core.duplicates import DuplicateThreshold
from desktop.core.indexer import Phase, Progress, SyncReport
from desktop.core.labels import LabelImport
from desktop.core.model_download import DownloadProgress
from desktop.core.status import FolderState, LibraryStatus, ModelState, SkippedFile


def state(model_id: int, *, active: bool, serving: bool, pending: int = 0, provider=None):
    record = ModelRecord(model_id, f"hash{model_id}", f"model {model_id}", "m.onnx", 8, {})
    return ModelState(record, active, serving, 10, pending, provider)


def test_time_left():
    assert text.time_left(None) == ""
    assert text.time_left(125.9) == "ETA 2:05"
    assert text.time_left(0) == "ETA 0:00"


def test_index_progress_names_each_phase():
    scanning = Progress(Phase.SCANNING, 1234, 0, "/photos", 0.0, None)
    reading = Progress(Phase.READING, 3, 10, "/photos/a.jpg", 5.0, 1.4)
    embedding = Progress(Phase.EMBEDDING, 120, 1200, "/photos/b.jpg", 8.14, 133.0)
    assert text.index_progress(scanning) == "Scanning: 1,234 photos found"
    assert text.index_progress(reading) == "Reading new files 3/10"
    assert text.index_progress(embedding) == "Indexing 120/1,200 · 8.1 photos/s · ETA 2:13"
    no_eta = Progress(Phase.EMBEDDING, 0, 10, "", 0.0, None)
    assert text.index_progress(no_eta) == "Indexing 0/10 · 0.0 photos/s"


def test_download_progress_and_sizes():
    update = DownloadProgress(12_000_000, 88_000_000, 4_200_000, 18.0)
    assert text.download_progress(update) == "12 MB of 88 MB · 4.2 MB/s · ETA 0:18"
    assert text.megabytes(2_400_000) == "2.4 MB" and text.megabytes(None) == "? MB"


def test_sync_summary_says_what_a_run_did():
    report = SyncReport(added=3, moved=1, embedded=3, seconds=1.25)
    report.skipped.append(("/p/bad.jpg", "not an image"))
    assert text.sync_summary(report) == (
        "Indexed: 3 added, 0 changed, 1 moved, 0 removed, 3 embedded, 1 skipped in 1.2 s"
    )
    report.cancelled, report.offline_folders = True, ["/media/usb"]
    assert text.sync_summary(report).startswith("Indexing cancelled: ")
    assert text.sync_summary(report).endswith("; offline: /media/usb")


def test_model_roles():
    assert text.model_roles(state(1, active=True, serving=True)) == "active, serving searches"
    assert text.model_roles(state(1, active=False, serving=True)) == "serving searches"
    assert text.model_roles(state(1, active=False, serving=False)) == ""


def test_status_line_is_true_while_indexing_and_names_where_the_model_runs():
    old = state(1, active=False, serving=True, provider="cpu")
    new = state(2, active=True, serving=False, pending=40)
    status = LibraryStatus(
        "/lib/catalog.sqlite3",
        False,
        [FolderState("/photos", True, None), FolderState("/media/usb", False, None)],
        1200,
        [SkippedFile("/photos/x.jpg", "not an image")],
        [old, new],
    )
    line = text.status_line(status)
    assert line.split("  ·  ") == [
        "1,200 photos",
        "1 skipped",
        f"model: model 1 on {text.provider_label('cpu')}",
        "index: 40 photos to index",
        "1 folder(s) offline",
    ]
    assert "index: updating" in text.status_line(status, indexing=True)
    done = LibraryStatus("/c", True, [], 5, [], [state(1, active=True, serving=True)])
    assert text.status_line(done) == (
        "5 photos  ·  read-only library: search only  ·  model: model 1  ·  index: complete"
    )


def test_a_label_import_says_what_was_labelled_and_what_to_do_about_the_rest():
    done = LabelImport({"dog": 5, "house": 1}, 0)
    assert text.label_import(done) == "Newly labelled 6 photos: 5 as “dog”, 1 as “house”."
    one_left = text.label_import(LabelImport({"dog": 1}, 1))
    assert one_left.startswith("Newly labelled 1 photo: 1 as “dog”. 1 photo under it is not")
    assert "add the folder to the library, let it be indexed, then import it again" in one_left
    nothing = text.label_import(LabelImport({}, 1200))
    assert nothing.startswith("No photo under this folder is in the library yet")
    assert "1,200 photos under it are not in the library yet" in nothing


def test_trash_summary_says_what_moved_and_what_did_not():
    from desktop.core.catalog import Photo
    from desktop.core.trash import TrashFailure, TrashReport

    one, two, three = (Photo(i, 1, f"/p/{i}.jpg", 1, 0, "f", 1, 1, None, None) for i in (1, 2, 3))
    assert text.trash_summary(TrashReport()) == "Nothing was moved to the trash."
    assert text.trash_summary(TrashReport((one, two))) == (
        "Moved 2 photos to the trash, where they can be restored."
    )
    assert text.trash_summary(TrashReport((one,), (two,), (TrashFailure(three, "no"),))) == (
        "Moved 1 photo to the trash, where it can be restored; 1 photo was already gone and "
        "left the library; 1 photo could not be moved."
    )
    assert text.trash_summary(TrashReport(failed=(TrashFailure(three, "no"),))) == (
        "1 photo could not be moved."
    )


def test_the_duplicate_rule_says_the_level_and_where_it_comes_from():
    estimated = DuplicateThreshold(sure=0.99931, confirm=0.92, source="library")
    assert text.duplicate_rule(estimated) == (
        "Near-duplicates: nearly the same perceptual hash (mirrored too), or similarity at "
        "least 0.9993 (estimated from this library)."
    )
    assert "(your choice)" in text.duplicate_rule(DuplicateThreshold(0.9, 0.9, "user"))
    assert "(the model's own)" in text.duplicate_rule(DuplicateThreshold(0.8, 0.7, "model"))
