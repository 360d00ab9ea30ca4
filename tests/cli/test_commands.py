"""The headless `photo-search` commands, end to end on real photos, with --json output."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from desktop.core.indexer import Phase
from desktop.core.library import Library
from desktop.core.model_contract import file_content_hash
from desktop.core.paths import app_paths
from desktop.main import main
from tests.models import write_model


def run(capsys, *args: str) -> tuple[int, object, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    try:
        output = json.loads(captured.out) if "--json" in args else captured.out
    except json.JSONDecodeError:
        output = captured.out
    return status, output, captured.err


def test_index_everything_then_nothing_then_search(capsys, tmp_path, made_photos, tiny_model_path):
    library = str(tmp_path / "lib")
    photos = made_photos[0].parents[1]
    total = len(made_photos)
    status, summary, _ = run(
        capsys, "index", str(photos), "--library", library,
        "--model", str(tiny_model_path), "--json",
    )  # fmt: skip
    assert status == 0
    assert (summary["added"], summary["embedded"], summary["skipped"]) == (total, total, [])

    status, again, _ = run(capsys, "index", "--library", library, "--json")
    assert (again["added"], again["embedded"], again["deleted"]) == (0, 0, 0)

    query = made_photos[17]
    status, results, _ = run(
        capsys, "search", str(query), "--library", library, "--top-k", "5", "--json"
    )
    assert status == 0 and len(results) == 5
    assert results[0]["path"] == str(query) and results[0]["score"] == pytest.approx(1, abs=1e-4)

    status, similar, _ = run(capsys, "similar", str(query), "--library", library, "--json")
    assert status == 0 and len(similar) == 20 and str(query) not in {r["path"] for r in similar}

    status, report, _ = run(capsys, "status", "--library", library, "--json")
    assert report["photos"] == total and report["models"][0]["indexed"] == total
    assert report["models"][0]["serving"] and report["folders"][0]["online"]


def test_human_readable_output(capsys, tmp_path, photo_folder, tiny_model_path):
    library = str(tmp_path / "lib")
    assert main(["models", "add", str(tiny_model_path), "--library", library]) == 0
    assert "added model 1" in capsys.readouterr().out
    assert main(["index", str(photo_folder), "--library", library]) == 0
    captured = capsys.readouterr()
    assert "20 added" in captured.out and "20 embedded" in captured.out
    assert "] Indexing 20/20" in captured.err  # progress on stderr
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    assert main(["search", str(query), "--library", library, "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1.0000") and lines[0].endswith(str(query))
    assert main(["models", "list", "--library", library]) == 0
    assert "20 indexed" in capsys.readouterr().out
    assert main(["status", "--library", library]) == 0
    assert "photos: 20" in capsys.readouterr().out


def test_search_filters_and_duplicates(capsys, tmp_path, photo_folder, tiny_model_path):
    library = str(tmp_path / "lib")
    original = sorted(photo_folder.rglob("*.jpg"))[0]
    shutil.copy(original, photo_folder / "copy.jpg")
    status, summary, _ = run(capsys, "index", str(photo_folder), "--library", library,
        "--model", str(tiny_model_path), "--json")  # fmt: skip
    assert status == 0 and summary["embedded"] == 21
    status, everything, _ = run(capsys, "search", str(original), "--library", library, "--json")
    second = photo_folder / "label-001"  # the query is in label-000, with its copy
    inside = [r for r in everything if r["path"].startswith(str(second) + "/")]
    assert len(inside) == 5 and not any(r in inside for r in everything[:6])
    status, results, _ = run(
        capsys, "search", str(original), "--library", library, "--folder", str(second),
        "--top-k", "3", "--json",
    )  # fmt: skip
    assert status == 0 and results == inside[:3]
    status, results, _ = run(
        capsys, "search", str(original), "--library", library, "--min-score", "0.999", "--json"
    )
    assert status == 0
    assert {r["path"] for r in results} == {str(original), str(photo_folder / "copy.jpg")}
    status, found, _ = run(capsys, "duplicates", "--library", library, "--json")
    assert status == 0
    assert found["threshold"]["source"] == "default"  # 21 photos: too few to estimate from
    groups = found["groups"]
    # the copy joins its original (with the scene's other shots: a burst, by their hashes)
    assert any(
        {str(original), str(photo_folder / "copy.jpg")} <= {p["path"] for p in g} for g in groups
    )


def test_folder_removal_forgets_photos(capsys, tmp_path, photo_folder, tiny_model_path):
    library = str(tmp_path / "lib")
    run(capsys, "index", str(photo_folder), "--library", library,
        "--model", str(tiny_model_path), "--json")  # fmt: skip
    assert main(["remove-folder", str(photo_folder), "--library", library]) == 0
    capsys.readouterr()
    status, report, _ = run(capsys, "status", "--library", library, "--json")
    assert report["photos"] == 0 and report["folders"] == []
    assert photo_folder.is_dir()  # files untouched


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "missing.jpg"], "no model yet"),
        (["index"], "no folders yet"),
        (["models", "add", "nope.onnx"], "model file not found"),
        (["similar", "/not/in/library.jpg"], "no model yet"),
        (["check-model", "nope.onnx"], "model file not found"),
    ],
)
def test_errors_are_clear_and_exit_2(capsys, tmp_path, args, message):
    status = main([*args, "--library", str(tmp_path / "lib")])
    assert status == 2
    assert message in capsys.readouterr().err


def test_photo_errors_name_the_photo_and_exit_2(capsys, tmp_path, photo_folder, tiny_model_path):
    home = tmp_path / "lib"
    cancel = threading.Event()

    def stop_after_one_batch(update) -> None:
        if update.phase is Phase.EMBEDDING:
            cancel.set()

    with Library(app_paths(home)) as library:
        model = library.add_model(tiny_model_path)
        library.add_folder(photo_folder)
        library.sync(stop_after_one_batch, cancel, batch_size=4)
        embedded = set(library.catalog.descriptors(model.id)[0].tolist())
        waiting = [p.path for p in library.catalog.photos() if p.id not in embedded]
    assert len(embedded) == 4 and len(waiting) == 16  # in the catalog, not embedded yet
    outside = tmp_path / "elsewhere.jpg"
    shutil.copy(sorted(photo_folder.rglob("*.jpg"))[0], outside)
    for photo, message in [(outside, "is not in the library"), (waiting[0], "not indexed yet")]:
        assert main(["similar", str(photo), "--library", str(home)]) == 2
        error = capsys.readouterr().err
        assert message in error and str(photo) in error


def test_bad_query_image_is_reported(capsys, tmp_path, tiny_model_path):
    library = str(tmp_path / "lib")
    main(["models", "add", str(tiny_model_path), "--library", library])
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    assert main(["search", str(bad), "--library", library]) == 2
    assert "not an image" in capsys.readouterr().err


def test_check_model(capsys, tiny_model_path, tmp_path):
    status, info, _ = run(capsys, "check-model", str(tiny_model_path), "--json")
    assert status == 0
    assert info["descriptor_dim"] == 48 and info["architecture"] == "pixel-projection"
    assert info["content_hash"] == file_content_hash(tiny_model_path)
    unnormalised = write_model(tmp_path / "raw.onnx", head="raw")
    status, _, error = run(capsys, "check-model", str(unnormalised))
    assert status == 2 and "not L2-normalised" in error


def test_models_activate_switches_searches_once_indexed(
    capsys, tmp_path, photo_folder, tiny_model_path
):
    library = str(tmp_path / "lib")
    status, _, _ = run(capsys, "index", str(photo_folder), "--library", library,
        "--model", str(tiny_model_path), "--json")  # fmt: skip
    assert status == 0
    query = str(sorted(photo_folder.rglob("*.jpg"))[5])
    _, before, _ = run(capsys, "search", query, "--library", library, "--json")
    second = write_model(tmp_path / "second.onnx", seed=123, size=32, dim=48, name="second")
    status, added, _ = run(capsys, "models", "add", str(second), "--library", library, "--json")
    assert status == 0 and added["id"] == 2
    status, _, error = run(capsys, "models", "activate", "9", "--library", library)
    assert status == 2 and "no model with id 9" in error

    status, _, _ = run(capsys, "models", "activate", "2", "--library", library, "--json")
    assert status == 0
    _, models, _ = run(capsys, "models", "list", "--library", library, "--json")
    flags = {m["id"]: (m["active"], m["serving"], m["indexed"]) for m in models}
    assert flags == {1: (False, True, 20), 2: (True, False, 0)}
    _, still, _ = run(capsys, "search", query, "--library", library, "--json")
    assert still == before  # the old model answers until the new one is indexed

    status, summary, _ = run(capsys, "index", "--library", library, "--json")
    assert status == 0 and summary["embedded"] == 20
    _, report, _ = run(capsys, "status", "--library", library, "--json")
    flags = {m["id"]: (m["active"], m["serving"], m["indexed"]) for m in report["models"]}
    assert flags == {1: (False, False, 20), 2: (True, True, 20)}
    _, after, _ = run(capsys, "search", query, "--library", library, "--json")
    assert after[0] == {"path": query, "score": pytest.approx(1, abs=1e-4)}
    assert [r["score"] for r in after[1:]] != [r["score"] for r in before[1:]]


def test_duplicates_trash_extras_only_when_asked(
    capsys, tmp_path, scenes, tiny_model_path, system_trash
):
    library = str(tmp_path / "lib")
    original = sorted(scenes.rglob("*.jpg"))[0]
    copy = scenes / "label-003" / "copy.jpg"
    shutil.copy(original, copy)
    run(capsys, "index", str(scenes), "--library", library,
        "--model", str(tiny_model_path), "--json")  # fmt: skip

    status, listed, _ = run(capsys, "duplicates", "--library", library, "--threshold", "0.999")
    assert status == 0 and listed.index(str(original)) < listed.index(str(copy))  # best first
    assert copy.exists() and not system_trash.exists()  # only listed
    status, _, err = run(capsys, "duplicates", "--library", library, "--dry-run")
    assert status == 2 and "--dry-run goes with --trash-extras" in err

    args = ("duplicates", "--library", library, "--threshold", "0.999", "--trash-extras")
    status, dry, _ = run(capsys, *args, "--dry-run")
    assert status == 0 and copy.exists() and not system_trash.exists()
    assert f"  keep          96x72        {original.stat().st_size}  {original}" in dry
    assert f"would trash   96x72        {copy.stat().st_size}  {copy}" in dry
    assert "dry run: 1 photo would go to the trash; nothing was moved" in dry
    status, dry_json, _ = run(capsys, *args, "--dry-run", "--json")
    assert dry_json["dry_run"] is True
    (planned,) = dry_json["groups"]
    assert planned["kept"]["path"] == str(original)
    assert [p["path"] for p in planned["to_trash"]] == [str(copy)]

    status, done, _ = run(capsys, *args, "--json")
    assert status == 0 and not copy.exists() and original.exists()
    assert (system_trash / "files" / "copy.jpg").is_file()
    (group,) = done["groups"]
    assert group["kept"]["path"] == str(original)
    assert [p["path"] for p in group["trashed"]] == [str(copy)]
    assert group["already_gone"] == group["failed"] == [] and done["dry_run"] is False
    status, report, _ = run(capsys, "status", "--library", library, "--json")
    assert report["photos"] == 8
    status, again, _ = run(capsys, *args)
    assert status == 0 and again.endswith("\nno near-duplicates\n")


def test_duplicates_trash_extras_prints_what_moved_and_why_not(
    capsys, tmp_path, scenes, tiny_model_path, system_trash, monkeypatch
):
    import send2trash

    library = str(tmp_path / "lib")
    first, second = sorted(scenes.rglob("*.jpg"))[:2]
    copies = [scenes / "label-003" / "copy-a.jpg", scenes / "label-003" / "copy-b.jpg"]
    for original, copy in zip((first, second), copies, strict=True):
        shutil.copy(original, copy)
    run(capsys, "index", str(scenes), "--library", library,
        "--model", str(tiny_model_path), "--json")  # fmt: skip
    trash = send2trash.send2trash

    def refuse_b(path):
        if path.endswith("copy-b.jpg"):
            raise PermissionError(13, "Permission denied")
        trash(path)

    monkeypatch.setattr(send2trash, "send2trash", refuse_b)
    status, out, _ = run(capsys, "duplicates", "--library", library, "--threshold", "0.999",
                         "--trash-extras")  # fmt: skip
    assert status == 1  # some could not be moved
    assert "  trashed       96x72" in out and f"  {copies[0]}\n" in out
    assert f"  NOT MOVED     {copies[1]}: could not move it to the trash: Permission denied" in out
    assert out.rstrip().endswith(
        "Moved 1 photo to the trash, where it can be restored; 1 photo could not be moved."
    )
    assert not copies[0].exists() and copies[1].exists()
    status, found, _ = run(capsys, "duplicates", "--library", library, "--threshold", "0.999",
                           "--json")  # fmt: skip
    assert [[p["path"] for p in g] for g in found["groups"]] == [[str(second), str(copies[1])]]
