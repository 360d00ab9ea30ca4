"""The headless `photo-search` commands, end to end on real photos, with --json output."""

from __future__ import annotations

import json
import shutil

import pytest

from desktop.main import main


def run(capsys, *args: str) -> tuple[int, object, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    try:
        output = json.loads(captured.out) if "--json" in args else captured.out
    except json.JSONDecodeError:
        output = captured.out
    return status, output, captured.err


def test_index_all_flowers_then_nothing_then_search(capsys, tmp_path, flowers_dir, tiny_model_path):
    library = str(tmp_path / "lib")
    status, summary, _ = run(
        capsys, "index", str(flowers_dir), "--library", library,
        "--model", str(tiny_model_path), "--json",
    )  # fmt: skip
    assert status == 0
    assert (summary["added"], summary["embedded"], summary["skipped"]) == (1200, 1200, [])

    status, again, _ = run(capsys, "index", "--library", library, "--json")
    assert (again["added"], again["embedded"], again["deleted"]) == (0, 0, 0)

    query = sorted(flowers_dir.glob("*/*.jpg"))[100]
    status, results, _ = run(
        capsys, "search", str(query), "--library", library, "--top-k", "5", "--json"
    )
    assert status == 0 and len(results) == 5
    assert results[0]["path"] == str(query) and results[0]["score"] == pytest.approx(1, abs=1e-4)

    status, similar, _ = run(capsys, "similar", str(query), "--library", library, "--json")
    assert status == 0 and len(similar) == 20 and str(query) not in {r["path"] for r in similar}

    status, report, _ = run(capsys, "status", "--library", library, "--json")
    assert report["photos"] == 1200 and report["models"][0]["indexed"] == 1200
    assert report["models"][0]["serving"] and report["folders"][0]["online"]


def test_human_readable_output(capsys, tmp_path, photo_folder, tiny_model_path):
    library = str(tmp_path / "lib")
    assert main(["models", "add", str(tiny_model_path), "--library", library]) == 0
    assert "added model 1" in capsys.readouterr().out
    assert main(["index", str(photo_folder), "--library", library]) == 0
    captured = capsys.readouterr()
    assert "20 added" in captured.out and "20 embedded" in captured.out
    assert "embedding [" in captured.err  # progress on stderr
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
    run(capsys, "index", str(photo_folder), "--library", library,
        "--model", str(tiny_model_path), "--json")  # fmt: skip
    second = sorted(photo_folder.iterdir())[1]
    status, results, _ = run(
        capsys, "search", str(original), "--library", library, "--folder", str(second),
        "--top-k", "3", "--json",
    )  # fmt: skip
    assert status == 0 and all(r["path"].startswith(str(second)) for r in results)
    status, results, _ = run(
        capsys, "search", str(original), "--library", library, "--min-score", "0.999", "--json"
    )
    assert {r["path"] for r in results} == {str(original), str(photo_folder / "copy.jpg")}
    status, groups, _ = run(capsys, "duplicates", "--library", library, "--json")
    assert status == 0
    assert {str(original), str(photo_folder / "copy.jpg")} in [
        {p["path"] for p in g} for g in groups
    ]


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


def test_bad_query_image_is_reported(capsys, tmp_path, tiny_model_path):
    library = str(tmp_path / "lib")
    main(["models", "add", str(tiny_model_path), "--library", library])
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    assert main(["search", str(bad), "--library", library]) == 2
    assert "not an image" in capsys.readouterr().err


def test_check_model(capsys, tiny_model_path):
    status, info, _ = run(capsys, "check-model", str(tiny_model_path), "--json")
    assert status == 0
    assert info["descriptor_dim"] == 192 and info["architecture"] == "vit_tiny_patch16_224"
