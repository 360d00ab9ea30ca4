"""Labels manifests: `path,label` CSV files that list the photos to train on."""

from __future__ import annotations

import re

import pytest

from trainer.data.folder import scan_labelled_folder
from trainer.data.manifest import read_labels_manifest

from .conftest import folder_rows, write_manifest, write_photo


def test_a_manifest_gives_what_the_same_labelled_folder_gives(small_labelled, tmp_path):
    rows = folder_rows(small_labelled)
    manifest = write_manifest(tmp_path / "labels.csv", list(reversed(rows)))
    listed, scanned = read_labels_manifest(manifest), scan_labelled_folder(small_labelled)
    assert listed.class_names == scanned.class_names
    assert listed.paths == scanned.paths and len(listed) == 48  # in the folder's order
    assert listed.labels.tolist() == scanned.labels.tolist()
    assert listed.skipped == []


def test_labels_are_free_text_and_missing_or_unreadable_photos_are_skipped(tmp_path):
    dog, cat, tea = (write_photo(tmp_path / name) for name in ("dog.jpg", "cat.png", "tea.jpg"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    missing = tmp_path / "deleted since.jpg"
    rows = [
        (tea, "café, Paris"),
        (dog, "my dog, Rex"),
        (cat, 'the "good" cat '),
        (broken, "my dog, Rex"),
        (missing, "my dog, Rex"),
    ]
    manifest = write_manifest(tmp_path / "labels.csv", rows)
    with open(manifest, "a", encoding="utf-8") as stream:
        stream.write("\n")  # a blank line at the end is no row
    images = read_labels_manifest(manifest)
    assert images.class_names == ["café, Paris", "my dog, Rex", 'the "good" cat']
    assert images.paths == [tea, dog, cat] and images.labels.tolist() == [0, 1, 2]
    reasons = dict(images.skipped)
    assert set(reasons) == {broken, missing}
    assert "does not exist" in reasons[missing]


def test_a_byte_order_mark_is_not_part_of_the_header(small_labelled, tmp_path):
    manifest = write_manifest(tmp_path / "labels.csv", folder_rows(small_labelled))
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())  # as spreadsheets save
    assert read_labels_manifest(manifest).num_classes == 8


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "line 1: expected the header path,label, found nothing"),
        (["/a.jpg,dog"], "line 1: expected the header path,label, found '/a.jpg,dog'"),
        (["file,label"], "line 1: expected the header path,label"),
        (["path,label", "/a.jpg,dog", "/b.jpg,my dog,Rex"], "line 3: expected 2 fields"),
        (["path,label", "/a.jpg"], "line 2: expected 2 fields .*found 1"),
        (["path,label", "/a.jpg,dog", ",dog"], "line 3: the photo's path is empty"),
        (["path,label", "/a.jpg,  "], "line 2: the label of /a.jpg is empty"),
        (["path,label", "photos/a.jpg,dog"], "line 2: photos/a.jpg is not an absolute path"),
        (
            ["path,label", "/a.jpg,dog", "/b.jpg,cat", "/a.jpg,cat"],
            "line 4: photo /a.jpg is under both 'dog' \\(line 2\\) and 'cat': "
            "a photo can have one label to train on",
        ),
        (
            ["path,label", "/a.jpg,dog", "/b.jpg,cat", "/a.jpg,dog"],
            "line 4: /a.jpg is listed again \\(first on line 2\\)",
        ),
        (["path,label", "/a.jpg,dog", "/b.jpg,dog"], "lists 1 label\\(s\\): .*at least 2"),
        (["path,label"], "lists 0 label"),
    ],
)
def test_a_malformed_manifest_is_refused_naming_the_file_and_line(tmp_path, lines, message):
    manifest = tmp_path / "labels.csv"
    manifest.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{re.escape(str(manifest))} {message}"):
        read_labels_manifest(manifest)


def test_a_missing_unreadable_or_all_skipped_manifest_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels file not found: .*nothing.csv"):
        read_labels_manifest(tmp_path / "nothing.csv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("path,label\n/a.jpg,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.csv is not UTF-8 text"):
        read_labels_manifest(latin1)
    gone = write_manifest(tmp_path / "gone.csv", [("/gone/a.jpg", "dog"), ("/gone/b.jpg", "cat")])
    with pytest.raises(ValueError, match="none of the 2 photos .*gone.csv lists could be read"):
        read_labels_manifest(gone)
