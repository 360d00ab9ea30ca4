"""`photo-search labels ...` and marks on `search`/`similar`: the window's label and feedback
operations from a terminal, on made photos, with --json output."""

from __future__ import annotations

import csv

from tests.cli.test_commands import run


def indexed_library(capsys, tmp_path, photo_folder, tiny_model_path) -> str:
    library = str(tmp_path / "lib")
    status, _, _ = run(
        capsys, "index", str(photo_folder), "--library", library, "--model", str(tiny_model_path)
    )
    assert status == 0
    return library


def test_labels_from_the_terminal(capsys, tmp_path, photo_folder, tiny_model_path):
    library = indexed_library(capsys, tmp_path, photo_folder, tiny_model_path)
    photos = sorted(photo_folder.rglob("*.jpg"))
    assert run(capsys, "labels", "create", "my dog", "--library", library)[0] == 0
    status, added, _ = run(
        capsys, "labels", "add", "my dog", *map(str, photos[:3]), "--library", library, "--json"
    )
    assert status == 0 and added["added"] == 3 and added["photos"] == 3
    status, _, err = run(capsys, "labels", "create", "MY DOG", "--library", library)
    assert status == 2 and "already a label named 'MY DOG'" in err
    status, _, err = run(capsys, "labels", "add", "cats", str(photos[0]), "--library", library)
    assert status == 2 and "there is no label cats" in err
    status, out, _ = run(capsys, "labels", "remove", "my dog", str(photos[0]), "--library", library)
    assert status == 0 and "2 photo(s) left in 'my dog'" in out
    status, shown, _ = run(capsys, "labels", "show", "my dog", "--library", library, "--json")
    assert shown == [str(p) for p in photos[1:3]]
    assert run(capsys, "labels", "rename", "my dog", "Rex", "--library", library)[0] == 0
    status, listing, _ = run(capsys, "labels", "list", "--library", library, "--json")
    assert [(x["name"], x["photos"]) for x in listing] == [("Rex", 2)]
    assert run(capsys, "labels", "delete", "Rex", "--library", library)[0] == 0
    assert run(capsys, "labels", "list", "--library", library, "--json")[1] == []


def test_import_a_labelled_tree_and_write_the_training_manifest(
    capsys, tmp_path, photo_folder, tiny_model_path
):
    library = indexed_library(capsys, tmp_path, photo_folder, tiny_model_path)
    status, report, _ = run(
        capsys, "labels", "import", str(photo_folder), "--library", library, "--json"
    )
    assert status == 0 and report["not_in_library"] == 0
    assert report["added"] == {f"label-00{i}": 5 for i in range(4)}
    manifest = tmp_path / "labels.csv"
    status, out, _ = run(
        capsys, "labels", "manifest", str(manifest), "--label", "label-000", "--label",
        "label-001", "--library", library,
    )  # fmt: skip
    assert status == 0 and "10 photos of 2 labels" in out and "--labels" in out
    with open(manifest, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["label"] for row in rows} == {"label-000", "label-001"} and len(rows) == 10


def test_search_with_photos_marked_good_and_bad(capsys, tmp_path, photo_folder, tiny_model_path):
    library = indexed_library(capsys, tmp_path, photo_folder, tiny_model_path)
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    common = ("--library", library, "--top-k", "19", "--json")
    _, plain, _ = run(capsys, "similar", str(query), *common)
    far, near = plain[-1]["path"], plain[0]["path"]
    _, marked, _ = run(capsys, "similar", str(query), "--good", far, "--bad", near, *common)
    scores = {r["path"]: r["score"] for r in plain}
    new_scores = {r["path"]: r["score"] for r in marked}
    assert new_scores[far] > scores[far] and new_scores[near] < scores[near]
    status, _, err = run(capsys, "similar", str(query), "--good", "/no/such.jpg", *common)
    assert status == 2 and "not in the library" in err
