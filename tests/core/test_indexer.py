"""Incremental indexing through real files: new, changed, moved, deleted, offline, cancel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from desktop.core.indexer import Phase
from desktop.core.library import Library
from desktop.core.scanner import CANCEL_CHECK_FILES, ScanCancelled, scan_folder
from tests.conftest import CLASSES, PER_CLASS, REPO_ROOT
from tests.photos import PHOTO_SIZE

TOTAL = CLASSES * PER_CLASS


def descriptors_by_path(library: Library) -> dict[str, np.ndarray]:
    model = library.active_model()
    ids, vectors = library.catalog.descriptors(model.id)
    photos = library.catalog.photos_by_ids(list(ids))
    return {photos[int(i)].path: v for i, v in zip(ids, vectors, strict=True)}


def test_first_sync_indexes_everything_and_second_embeds_nothing(library, photo_folder):
    library.add_folder(photo_folder)
    report = library.sync(batch_size=6)
    assert (report.added, report.embedded, report.skipped) == (TOTAL, TOTAL, [])
    again = library.sync()
    assert (again.added, again.changed, again.moved, again.deleted, again.embedded) == (
        0,
        0,
        0,
        0,
        0,
    )
    photo = library.catalog.photos()[0]
    assert (photo.width, photo.height) == PHOTO_SIZE


def test_rename_and_move_keep_descriptors(library, photo_folder):
    library.add_folder(photo_folder)
    library.sync()
    before = descriptors_by_path(library)
    first_class = sorted(photo_folder.iterdir())[0]
    victim = sorted(first_class.glob("*.jpg"))[0]
    renamed = first_class / "renamed photo é.jpg"
    victim.rename(renamed)
    other_class = sorted(photo_folder.iterdir())[1]
    moved_from = sorted(other_class.glob("*.jpg"))[0]
    moved_to = photo_folder / "elsewhere" / moved_from.name
    moved_to.parent.mkdir()
    shutil.move(moved_from, moved_to)

    photo_id = library.catalog.photo_by_path(str(victim)).id
    report = library.sync()
    assert (report.moved, report.added, report.deleted, report.embedded) == (2, 0, 0, 0)
    assert library.catalog.photo_by_path(str(renamed)).id == photo_id
    after = descriptors_by_path(library)
    assert np.array_equal(after[str(renamed)], before[str(victim)])
    assert np.array_equal(after[str(moved_to)], before[str(moved_from)])


def test_changed_content_is_re_embedded_but_touch_is_not(library, photo_folder, made_photos):
    library.add_folder(photo_folder)
    library.sync()
    photos = sorted(photo_folder.rglob("*.jpg"))
    changed, touched = photos[0], photos[1]
    before = descriptors_by_path(library)
    shutil.copyfile(made_photos[-1], changed)  # a different photo under the same name
    os.utime(touched, ns=(1_000_000_000, 1_000_000_000))
    report = library.sync()
    assert (report.changed, report.embedded, report.added, report.deleted) == (1, 1, 0, 0)
    after = descriptors_by_path(library)
    assert not np.allclose(after[str(changed)], before[str(changed)])
    assert np.array_equal(after[str(touched)], before[str(touched)])


def test_deleted_and_added(library, photo_folder, made_photos):
    library.add_folder(photo_folder)
    library.sync()
    gone = sorted(photo_folder.rglob("*.jpg"))[3]
    gone.unlink()
    shutil.copy(made_photos[-1], photo_folder / "new.jpg")
    report = library.sync()
    assert (report.added, report.deleted, report.embedded) == (1, 1, 1)
    paths = set(descriptors_by_path(library))
    assert str(gone) not in paths and str(photo_folder / "new.jpg") in paths
    assert library.catalog.descriptor_count(library.active_model().id) == TOTAL


def test_missing_folder_is_offline_and_keeps_its_photos(library, photo_folder, tmp_path):
    library.add_folder(photo_folder)
    library.sync()
    unplugged = tmp_path / "unplugged"
    photo_folder.rename(unplugged)
    report = library.sync()
    assert report.offline_folders == [str(photo_folder)]
    assert report.deleted == 0
    assert len(library.catalog.photos()) == TOTAL
    assert not library.folders()[0].online
    hits = library.similar_to([library.catalog.photos()[0]], top=3)
    assert len(hits) == 3  # offline photos still answer searches

    unplugged.rename(photo_folder)
    back = library.sync()
    assert (back.added, back.deleted, back.embedded, back.offline_folders) == (0, 0, 0, [])
    assert library.folders()[0].online


def test_cancel_keeps_finished_batches_and_next_run_resumes(library, photo_folder):
    library.add_folder(photo_folder)
    cancel = threading.Event()
    seen = []

    def progress(update):
        if update.phase is Phase.EMBEDDING:
            seen.append(update.done)
            cancel.set()

    report = library.sync(progress, cancel, batch_size=4)
    assert report.cancelled
    assert report.embedded == 4 and seen == [4]
    model_id = library.active_model().id
    assert library.catalog.descriptor_count(model_id) == 4
    resumed = library.sync(batch_size=4)
    assert (resumed.added, resumed.embedded, resumed.cancelled) == (0, TOTAL - 4, False)


def test_progress_reports_rate_and_eta(library, photo_folder):
    library.add_folder(photo_folder)
    updates = []
    library.sync(updates.append, batch_size=5)
    embeds = [u for u in updates if u.phase is Phase.EMBEDDING]
    assert [u.done for u in embeds] == [5, 10, 15, 20]
    assert all(u.total == TOTAL and u.rate > 0 for u in embeds)
    assert embeds[0].eta_s > 0 and embeds[-1].eta_s == 0


def photo_search(home: Path, *args: str):
    """The CLI in a process of its own, on the library at `home`; its --json output."""
    command = [sys.executable, "-m", "desktop", *args, "--library", str(home), "--json"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_photos_from_two_processes_view_the_same_catalog(
    library, photo_folder, spare_photos, tmp_path
):
    """The CLI in another process and this open Library see one catalog, both ways."""
    library.add_folder(photo_folder)
    library.sync()
    home = library.paths.data.parent
    photo = sorted(photo_folder.rglob("*.jpg"))[7]
    here = library.similar_to([photo], top=5)
    there = photo_search(home, "similar", str(photo), "--top-k", "5")
    assert [r["path"] for r in there] == [r.photo.path for r in here]
    assert [r["score"] for r in there] == pytest.approx([r.score for r in here], abs=1e-5)

    extra = tmp_path / "extra"
    extra.mkdir()
    for number, spare in enumerate(spare_photos):
        shutil.copy(spare, extra / f"{number:02d}.jpg")
    assert photo_search(home, "index", str(extra))["embedded"] == len(spare_photos)
    assert library.status().photos == TOTAL + len(spare_photos)  # seen from here
    hit = library.search_images([spare_photos[3]], top=1)[0]
    assert hit.photo.path == str(extra / "03.jpg") and hit.score > 0.9999


def catalog_state(library: Library) -> tuple:
    catalog = library.catalog
    return catalog.photos(), catalog.folders(), catalog.changes_since(1, 0)


def test_cancel_during_the_scan_changes_nothing(library, photo_folder, made_photos):
    library.add_folder(photo_folder)
    library.sync()
    photos = sorted(photo_folder.rglob("*.jpg"))
    photos[0].unlink()
    shutil.copy(made_photos[-1], photo_folder / "new.jpg")
    os.utime(photos[1], ns=(1_000_000_000, 1_000_000_000))
    before = catalog_state(library)
    cancel = threading.Event()
    phases = []

    def progress(update):
        phases.append(update.phase)
        cancel.set()  # as a window closing during the start-up rescan does

    report = library.sync(progress, cancel)
    assert report.cancelled and set(phases) == {Phase.SCANNING}
    assert (report.added, report.deleted, report.embedded) == (0, 0, 0)
    assert catalog_state(library) == before
    done = library.sync()  # the next run does it all
    assert (done.added, done.deleted, done.embedded) == (1, 1, 1)


def test_the_walk_stops_inside_a_folder_when_cancelled(tmp_path):
    for number in range(3 * CANCEL_CHECK_FILES):
        (tmp_path / f"{number:04d}.jpg").write_bytes(b"")
    cancel = threading.Event()
    files = scan_folder(tmp_path, [], cancel=cancel)
    next(files)
    cancel.set()
    with pytest.raises(ScanCancelled):
        list(files)


def library_files(library: Library) -> dict[str, tuple[int, int]]:
    data = library.paths.data
    return {
        str(path.relative_to(data)): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in data.rglob("*")
        if path.is_file() and not path.name.endswith("-shm")  # shared memory, not data
    }


def test_a_sync_that_finds_nothing_writes_nothing_and_loads_no_model(
    library, photo_folder, monkeypatch
):
    library.add_folder(photo_folder)
    library.sync()
    before = library_files(library)
    assert any(name.startswith("indexes") for name in before)

    def no_model(model):
        raise AssertionError("a sync with nothing to embed loaded the model")

    monkeypatch.setattr(library, "session", no_model)
    report = library.sync()
    assert (report.added, report.changed, report.deleted, report.embedded) == (0, 0, 0, 0)
    assert library_files(library) == before
