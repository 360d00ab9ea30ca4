"""The labels flow without the window: every change and read runs in a worker, each change
is followed by the labels as they are after it, only the latest read for a grid is passed
on, and a refusal is told in words."""

from __future__ import annotations

import shutil
import threading

from desktop.core.labels import LabelImport
from desktop.ui.controllers.labels import LabelsController
from tests.ui.controllers.conftest import record_threads


def photo_ids(library, folder) -> list[int]:
    return [library.photo(path).id for path in sorted(folder.rglob("*.jpg"))]


def counts(labels) -> dict[str, int]:
    return {label.name: label.count for label in labels}


def test_changes_run_in_workers_and_report_the_labels_after_them(
    qtbot, indexed_library, photo_folder, workers, monkeypatch
):
    threads = record_threads(monkeypatch, indexed_library, "add_to_label")
    threads += record_threads(monkeypatch, indexed_library, "labels")
    labels = LabelsController(indexed_library, workers)
    ids = photo_ids(indexed_library, photo_folder)
    added = []
    labels.added.connect(lambda *args: added.append(args))
    with qtbot.waitSignal(labels.labels_changed) as changed:
        labels.add_photos("my dog", ids[:3])  # no such label yet: made
    assert counts(changed.args[0]) == {"my dog": 3} and labels.current == changed.args[0]
    with qtbot.waitSignal(labels.labels_changed) as changed:
        labels.add_photos("MY DOG", ids[2:5])  # the same label, whatever the case
    assert counts(changed.args[0]) == {"my dog": 5}
    assert added == [("my dog", 3, 3), ("my dog", 3, 2)]
    assert threads and threading.main_thread() not in threads

    dog = changed.args[0][0]
    with qtbot.waitSignal(labels.labels_changed) as changed:
        labels.remove_photos(dog.id, ids[:1])
    assert counts(changed.args[0]) == {"my dog": 4}
    with qtbot.waitSignal(labels.labels_changed) as changed:
        labels.rename(dog.id, "our dog")
    assert counts(changed.args[0]) == {"our dog": 4}
    with qtbot.waitSignal(labels.labels_changed) as changed:
        labels.create("receipts")
    assert counts(changed.args[0]) == {"our dog": 4, "receipts": 0}
    with qtbot.waitSignal(labels.labels_changed) as changed:
        labels.delete(dog.id)
    assert counts(changed.args[0]) == {"receipts": 0}
    assert len(indexed_library.browse().photos) == 20  # the photos stay


def test_a_label_s_photos_and_the_names_of_photos_on_screen(
    qtbot, indexed_library, photo_folder, workers
):
    ids = photo_ids(indexed_library, photo_folder)
    indexed_library.create_label("dog")
    indexed_library.create_label("house")
    indexed_library.add_to_label("dog", ids[:2])
    indexed_library.add_to_label("house", ids[1:3])
    labels = LabelsController(indexed_library, workers)
    with qtbot.waitSignal(labels.photos_loaded) as loaded:
        labels.load_photos(indexed_library.label("house").id)
    label, photos = loaded.args
    assert label.name == "house" and [p.id for p in photos] == ids[1:3]
    with qtbot.waitSignal(labels.names_loaded) as names:
        labels.load_names(ids[:4])
    assert names.args[0] == {ids[0]: ["dog"], ids[1]: ["dog", "house"], ids[2]: ["house"]}

    indexed_library.delete_label("house")
    heard = []
    labels.photos_loaded.connect(lambda *args: heard.append(args))
    labels.failed.connect(heard.append)
    labels.load_photos(label.id)  # asked for just before it went: no answer, no error
    qtbot.waitUntil(lambda: not workers.busy)
    assert heard == []


def test_only_the_latest_read_for_a_grid_is_passed_on(
    qtbot, indexed_library, photo_folder, workers, request
):
    ids = photo_ids(indexed_library, photo_folder)
    indexed_library.create_label("dog")
    indexed_library.add_to_label("dog", ids)
    hold = threading.Event()
    request.addfinalizer(hold.set)
    labels_of = indexed_library.labels_of

    def first_waits(asked):
        if len(asked) == 1:
            assert hold.wait(30)
        return labels_of(asked)

    indexed_library.labels_of = first_waits
    labels = LabelsController(indexed_library, workers)
    shown = []
    labels.names_loaded.connect(shown.append)
    labels.load_names(ids[:1])  # waits for `hold`
    with qtbot.waitSignal(labels.names_loaded):
        labels.load_names(ids[:3])
    hold.set()
    qtbot.waitUntil(lambda: not workers.busy, timeout=20000)
    assert shown == [dict.fromkeys(ids[:3], ["dog"])]


def test_importing_a_labelled_folder_tree(
    qtbot, indexed_library, photo_folder, spare_photos, workers
):
    for photo in spare_photos[:3]:  # a label whose photos the library does not know yet
        (photo_folder / "label-new").mkdir(exist_ok=True)
        shutil.copy(photo, photo_folder / "label-new" / photo.name)
    labels = LabelsController(indexed_library, workers)
    labels.import_folder(None)  # no folder chosen: nothing to do
    assert not workers.busy
    with qtbot.waitSignal(labels.imported) as imported:
        labels.import_folder(str(photo_folder))
    root, report = imported.args
    assert root == str(photo_folder)
    assert report == LabelImport(
        dict.fromkeys(("label-000", "label-001", "label-002", "label-003"), 5), 3
    )
    qtbot.waitUntil(lambda: len(labels.current) == 4)
    assert counts(labels.current) == dict.fromkeys(report.added, 5)


def test_a_refusal_is_told_in_words(qtbot, indexed_library, photo_folder, workers):
    labels = LabelsController(indexed_library, workers)
    indexed_library.create_label("dog")
    with qtbot.waitSignal(labels.failed) as failed:
        labels.create("DOG")
    assert "already a label named 'DOG'" in failed.args[0]
    with qtbot.waitSignal(labels.failed) as failed:
        labels.add_photos("   ", [1])
    assert "needs a name" in failed.args[0]
    with qtbot.waitSignal(labels.failed) as failed:
        labels.import_folder(str(photo_folder / "label-000"))  # photos, no sub-folders
    assert "no sub-folders of photos" in failed.args[0]


def test_changes_run_one_after_the_other_in_the_order_asked(
    qtbot, indexed_library, photo_folder, workers, request
):
    ids = photo_ids(indexed_library, photo_folder)
    hold = threading.Event()
    request.addfinalizer(hold.set)
    create_label, calls = indexed_library.create_label, []

    def first_waits(name):
        calls.append(name)
        if len(calls) == 1:
            assert hold.wait(30)
        return create_label(name)

    indexed_library.create_label = first_waits
    labels = LabelsController(indexed_library, workers)
    labels.add_photos("dog", ids[:3])  # makes the label, and waits for `hold` to
    labels.add_photos("DOG", ids[3:4])  # the same label, once the first change is done
    qtbot.wait(300)
    assert calls == ["dog"] and indexed_library.labels() == []  # the second one waits
    hold.set()
    qtbot.waitUntil(lambda: not workers.busy, timeout=20000)
    assert calls == ["dog"] and counts(labels.current) == {"dog": 4}


def test_a_change_during_a_read_is_read_again(qtbot, indexed_library, workers, request):
    hold = threading.Event()
    request.addfinalizer(hold.set)
    read, reads = indexed_library.labels, []

    def first_is_slow():
        found = read()
        reads.append(found)
        if len(reads) == 1:
            assert hold.wait(30)  # what it read is out of date by the time it answers
        return found

    indexed_library.labels = first_is_slow
    create_label, created = indexed_library.create_label, threading.Event()

    def create_and_tell(name):
        made = create_label(name)
        created.set()
        return made

    indexed_library.create_label = create_and_tell
    labels = LabelsController(indexed_library, workers)
    seen = []
    labels.labels_changed.connect(seen.append)
    labels.refresh()
    qtbot.waitUntil(lambda: len(reads) == 1)
    with qtbot.waitSignal(labels.labels_changed) as changed:
        labels.create("dog")
        assert created.wait(10)
        hold.set()
    assert changed.args[0] == []  # the first read, then one more
    qtbot.waitUntil(lambda: len(seen) == 2)
    assert counts(seen[1]) == {"dog": 0} and len(reads) == 2
