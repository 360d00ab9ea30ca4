"""The commands on hostile files: names that are not UTF-8, special files as queries, a
library on read-only storage, and skipped files counted apart from photos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from desktop.main import main
from tests.conftest import REPO_ROOT
from tests.core.test_hostile_files import (
    folder_of_photos,
    indexed_library,
    not_utf8_folder,
    read_only_view,
    release_fifo,
    write_not_a_photo,
)


def cli(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """`photo-search ARGS` in a subprocess, its output as bytes.

    stdout is strict UTF-8, as a UTF-8 locale gives it: a name that is not UTF-8 must come
    out as its bytes, not as a UnicodeEncodeError.
    """
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    command = [sys.executable, "-m", "desktop", *map(str, args)]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, timeout=timeout)


def run(capsys, *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_names_that_are_not_utf8_through_every_command(tmp_path, tiny_model_path):
    folder, odd = not_utf8_folder(tmp_path)
    broken = write_not_a_photo(os.fsencode(folder) + b"/broken-\xfe.jpg")
    library = tmp_path / "library"

    first = cli("index", folder, "--library", library, "--model", tiny_model_path)
    assert first.returncode == 0, first.stderr
    assert b"4 added" in first.stdout and b"3 embedded" in first.stdout
    assert b"  skipped " + os.fsencode(broken) + b": " in first.stdout
    again = cli("index", "--library", library)  # every run, not only the first, must work
    assert again.returncode == 0, again.stderr
    assert b"0 added" in again.stdout and b"0 embedded" in again.stdout

    found = cli("search", odd, "--library", library, "--top-k", "2")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[0].endswith(b"  " + os.fsencode(odd))  # the name's bytes
    as_json = cli("search", odd, "--library", library, "--json")
    assert json.loads(as_json.stdout)[0]["path"] == odd  # \udce9 escapes: valid, exact JSON

    similar = cli("similar", odd, "--library", library, "--folder", folder, "--json")
    assert similar.returncode == 0, similar.stderr
    paths = [r["path"] for r in json.loads(similar.stdout)]
    assert len(paths) == 2 and all(p.startswith(folder + "/") for p in paths)

    status = cli("status", "--library", library)
    assert status.returncode == 0, status.stderr
    assert b"folder: " + os.fsencode(folder) + b" [online]" in status.stdout
    assert b"skipped: " + os.fsencode(broken) in status.stdout


def test_a_fifo_or_a_device_as_query_fails_at_once(capsys, tmp_path, tiny_model_path):
    library = tmp_path / "library"
    assert run(capsys, "models", "add", tiny_model_path, "--library", library)[0] == 0
    fifo = tmp_path / "query.jpg"
    os.mkfifo(fifo)
    specials = [fifo]
    if Path("/dev/zero").exists():
        specials.append(Path("/dev/zero"))
    try:
        for special in specials:  # timeout: a regression fails instead of hanging the suite
            result = cli("search", special, "--library", library, timeout=20)
            assert result.returncode == 2
            assert f"{special} is not a regular file".encode() in result.stderr
            assert b"Traceback" not in result.stderr
    finally:
        release_fifo(fifo)


def test_a_read_only_library_answers_and_refuses_changes(capsys, tmp_path, tiny_model_path):
    photos = folder_of_photos(tmp_path / "photos", good=5, bad=2)
    home = tmp_path / "library"
    indexed_library(home, tiny_model_path, photos)
    with read_only_view(home) as view:
        code, out, _ = run(capsys, "status", "--library", view, "--json")
        status = json.loads(out)
        assert code == 0 and status["read_only"] is True
        assert status["photos"] == 5 and len(status["skipped"]) == 2
        code, out, _ = run(capsys, "status", "--library", view)
        assert code == 0 and "read-only" in out.splitlines()[0]

        code, out, _ = run(capsys, "search", photos / "photo-1.jpg", "--library", view, "--json")
        assert code == 0 and json.loads(out)[0]["path"] == str(photos / "photo-1.jpg")
        for reading in (
            ["similar", photos / "photo-1.jpg"],
            ["duplicates"],
            ["models", "list"],
        ):
            assert run(capsys, *reading, "--library", view)[0] == 0, reading

        for change in (
            ["index"],
            ["index", tmp_path],
            ["models", "add", tiny_model_path],
            ["models", "activate", "1"],
            ["remove-folder", photos],
        ):
            code, _, err = run(capsys, *change, "--library", view)
            assert code == 2 and "read-only" in err and "Traceback" not in err, change


def test_status_counts_skipped_files_apart_from_photos(capsys, tmp_path, tiny_model_path):
    home = tmp_path / "library"
    indexed_library(home, tiny_model_path, folder_of_photos(tmp_path / "photos", good=5, bad=2))
    code, out, _ = run(capsys, "status", "--library", home)
    assert code == 0
    assert "photos: 5\n" in out and "skipped files (not readable as photos): 2\n" in out
    status = json.loads(run(capsys, "status", "--library", home, "--json")[1])
    assert status["photos"] == 5 and len(status["skipped"]) == 2 and not status["read_only"]
