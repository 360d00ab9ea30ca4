"""Labels in the library: kept on the photo through renames, moves and re-indexing; a
labelled folder tree imported; the training set they make, and its manifest."""

from __future__ import annotations

import csv
import shutil

import pytest

from desktop.core.labels import MIN_TRAINING_PHOTOS
from desktop.core.library import LibraryError
from tests.models import write_model


def indexed(library, folder):
    library.add_folder(folder)
    library.sync()
    return sorted(folder.rglob("*.jpg"))


def test_labels_are_unique_whatever_the_case_and_counted(library):
    dog = library.create_label("  my   dog ")
    assert dog.name == "my dog"
    with pytest.raises(LibraryError, match="already a label named 'My Dog'"):
        library.create_label("My Dog")
    with pytest.raises(LibraryError, match="needs a name"):
        library.create_label("   ")
    library.create_label("our house")
    library.rename_label("our house", "Our House")
    with pytest.raises(LibraryError, match="already a label"):
        library.rename_label("Our House", "MY DOG")
    assert [(label.name, label.count) for label in library.labels()] == [
        ("my dog", 0),
        ("Our House", 0),
    ]
    library.delete_label("my dog")
    assert [label.name for label in library.labels()] == ["Our House"]


def test_photos_get_labels_once_and_show_them(library, photo_folder):
    photos = indexed(library, photo_folder)
    library.create_label("receipts")
    library.create_label('a, b "quoted"')
    assert library.add_to_label("receipts", photos[:3]) == 3
    assert library.add_to_label("receipts", photos[:4]) == 1  # three had it already
    library.add_to_label('a, b "quoted"', photos[:1])
    ids = [library.photo(p).id for p in photos[:5]]
    shown = library.labels_of(ids)
    assert shown[ids[0]] == ['a, b "quoted"', "receipts"]
    assert shown[ids[3]] == ["receipts"] and ids[4] not in shown
    library.remove_from_label("receipts", photos[:1])
    assert [p.path for p in library.label_photos("receipts")] == [str(p) for p in photos[1:4]]
    assert library.label("receipts").count == 3


def test_labels_follow_their_photos_through_a_rename_a_move_and_a_new_model(
    library, photo_folder, tmp_path
):
    photos = indexed(library, photo_folder)
    library.create_label("my dog")
    library.add_to_label("my dog", photos[:2])
    renamed = photos[0].with_name("renamed é.jpg")
    photos[0].rename(renamed)
    moved = photo_folder / "elsewhere" / photos[1].name
    moved.parent.mkdir()
    shutil.move(photos[1], moved)
    report = library.sync()
    assert report.moved == 2
    other = library.add_model(
        write_model(tmp_path / "other.onnx", size=32, dim=48, name="x", seed=7), activate=True
    )
    library.sync()
    assert library.active_model().id == other.id
    assert sorted(p.path for p in library.label_photos("my dog")) == sorted(
        [str(renamed), str(moved)]
    )


def test_a_deleted_photo_leaves_its_labels(library, photo_folder):
    photos = indexed(library, photo_folder)
    library.create_label("my dog")
    library.add_to_label("my dog", photos[:2])
    photos[0].unlink()
    library.sync()
    assert [p.path for p in library.label_photos("my dog")] == [str(photos[1])]


def test_importing_a_labelled_tree_labels_the_photos_the_library_knows(
    library, photo_folder, spare_photos, tmp_path
):
    photos = indexed(library, photo_folder)
    stranger = tmp_path / "not in the library.jpg"
    shutil.copy(spare_photos[0], stranger)
    shutil.copy(stranger, photo_folder / "label-000" / "copy.jpg")  # known only after a sync
    library.create_label("LABEL-001")  # an existing label, in another case
    report = library.import_labelled_folder(photo_folder)
    assert report.not_in_library == 1
    assert report.added == {"label-000": 5, "LABEL-001": 5, "label-002": 5, "label-003": 5}
    assert library.import_labelled_folder(photo_folder).added == dict.fromkeys(report.added, 0)
    assert {label.name: label.count for label in library.labels()} == {
        "label-000": 5, "LABEL-001": 5, "label-002": 5, "label-003": 5
    }  # fmt: skip
    assert len(photos) == 20
    with pytest.raises(LibraryError, match="no sub-folders of photos"):
        library.import_labelled_folder(photo_folder / "label-000")


def test_the_training_set_leaves_out_ambiguous_photos_and_small_labels(
    library, photo_folder, tmp_path
):
    photos = indexed(library, photo_folder)
    for name, chosen in (("dog", photos[:6]), ("house", photos[5:10]), ("one", photos[10:11])):
        library.create_label(name)
        library.add_to_label(name, chosen)
    chosen = library.training_set()
    assert chosen.ambiguous == [str(photos[5])]  # dog and house
    assert chosen.too_few == {"one": 1} and MIN_TRAINING_PHOTOS > 1
    assert chosen.counts() == {"dog": 5, "house": 4}
    manifest = chosen.write_manifest(tmp_path / "labels.csv")
    with open(manifest, newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["path", "label"]
    assert rows[1:] == [[str(p), "dog"] for p in photos[:5]] + [
        [str(p), "house"] for p in photos[6:10]
    ]
    assert library.training_set(["house"]).counts() == {"house": 5}
