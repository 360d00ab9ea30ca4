"""Files and storage that break naive code: names that are not UTF-8, special files given as
queries, a library on read-only storage, and files that are not photos in the counts.

The helpers here (photos made with numpy and PIL, non-UTF-8 names, a read-only view of a
folder) are shared with the CLI and GUI tests of the same name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.core.catalog import Catalog, CatalogError
from desktop.core.images import UnreadableFileError, load_input
from desktop.core.library import Library, LibraryError
from desktop.core.paths import app_paths, display_path
from desktop.core.search import SearchFilter
from desktop.core.thumbnails import load_thumbnail, thumbnail_path

NOT_UTF8_NAME = b"caf\xe9.jpg"
"""Latin-1 'café.jpg': the byte 0xE9 does not decode as UTF-8."""
NOT_UTF8_FOLDER = b"fotos-\xff"


def write_photo(path: str | Path, seed: int) -> str:
    """A 64x48 JPEG of random noise: every one looks unlike every other."""
    pixels = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG")
    return os.fsdecode(path)


def write_not_a_photo(path: str | Path) -> str:
    Path(os.fsdecode(path)).write_bytes(b"a .jpg name, but text inside\n")
    return os.fsdecode(path)


def not_utf8_folder(parent: Path) -> tuple[str, str]:
    """A folder whose own name is not UTF-8, holding a photo whose name is not UTF-8 either
    and two ordinary photos. Returns (folder, the photo with the undecodable name)."""
    folder = os.fsencode(parent) + b"/" + NOT_UTF8_FOLDER
    try:
        os.mkdir(folder)
    except OSError as exc:  # e.g. APFS accepts only UTF-8 names
        pytest.skip(f"this file system refuses names that are not UTF-8: {exc}")
    odd = write_photo(folder + b"/" + NOT_UTF8_NAME, seed=1)
    write_photo(folder + b"/plain-1.jpg", seed=2)
    write_photo(folder + b"/plain-2.jpg", seed=3)
    return os.fsdecode(folder), odd


@contextmanager
def read_only_view(folder: Path) -> Iterator[Path]:
    """`folder` as read-only storage shows it.

    Root writes through file permissions, so as root the folder is seen through a read-only
    bind mount (which root cannot write either); as another user its permissions are
    removed. Skips, with the reason, where neither can make it read-only.
    """
    if os.geteuid() == 0:
        if shutil.which("mount") is None:
            pytest.skip("as root, read-only needs a bind mount, and `mount` is not installed")
        view = folder.with_name(folder.name + "-read-only")
        view.mkdir()
        bound = subprocess.run(
            ["mount", "--bind", str(folder), str(view)], capture_output=True, text=True
        )
        if bound.returncode != 0:
            pytest.skip(f"as root, read-only needs a bind mount, refused: {bound.stderr}")
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
            yield view
        finally:
            if subprocess.run(["umount", str(view)]).returncode != 0:
                subprocess.run(["umount", "--lazy", str(view)], check=True)
        return
    entries = [folder, *folder.rglob("*")]
    modes = {entry: entry.stat().st_mode for entry in entries}
    for entry in reversed(entries):
        entry.chmod(modes[entry] & ~0o222)
    try:
        probe = folder / "probe"
        try:
            probe.touch()
        except PermissionError:
            yield folder
        else:
            probe.unlink()
            pytest.skip("removing write permissions does not make files read-only here")
    finally:
        for entry in entries:
            entry.chmod(modes[entry])


def indexed_library(home: Path, model: Path, photos: Path) -> None:
    """Make a library at `home` with `photos` indexed, and close it."""
    with Library(app_paths(home)) as library:
        library.add_model(model)
        library.add_folder(photos)
        library.sync()


def folder_of_photos(root: Path, good: int, bad: int) -> Path:
    """`good` noise photos and `bad` files named .jpg that are not images."""
    root.mkdir(parents=True)
    for number in range(good):
        write_photo(root / f"photo-{number}.jpg", seed=100 + number)
    for number in range(bad):
        write_not_a_photo(root / f"not-a-photo-{number}.jpg")
    return root.resolve()


def in_thread(work, timeout: float = 20.0):
    """Run `work` in a thread and return what it raised (None if nothing); fail instead of
    hanging when it does not finish in time."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert outcome, f"still running after {timeout} s: it hangs"
    return outcome[0]


def release_fifo(fifo: Path) -> None:
    """Let a reader blocked opening `fifo` go (it then reads an empty file)."""
    with contextlib.suppress(OSError):  # no reader waiting
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


# names that are not valid UTF-8 ----------------------------------------------------------


def test_display_path_marks_undecodable_bytes():
    assert display_path("/photos/caf\udce9.jpg") == "/photos/caf\ufffd.jpg"
    assert display_path("/photos/café 写真.jpg") == "/photos/café 写真.jpg"
    assert display_path("\ud800x") == "\ufffdx"  # a lone UTF-16 half, as Windows may give


def test_catalog_stores_any_path_exactly(tmp_path):
    undecodable = "/photos/dir\udcff/caf\udce9.jpg"
    windows_half = "/photos/half-\ud800.jpg"
    with Catalog(tmp_path / "catalog.sqlite3") as catalog:
        folder = catalog.add_folder("/photos/dir\udcff")
        assert catalog.folder_by_path("/photos/dir\udcff") == folder
        assert [f.path for f in catalog.folders()] == ["/photos/dir\udcff"]
        with catalog.transaction():
            for number, path in enumerate((undecodable, windows_half, "/photos/é.jpg")):
                catalog.add_photo(folder.id, path, 10, 1, f"digest-{number}")
        assert {p.path for p in catalog.photos()} == {undecodable, windows_half, "/photos/é.jpg"}
        photo = catalog.photo_by_path(undecodable)
        assert photo.path == undecodable and catalog.photo(photo.id).path == undecodable
        with catalog.transaction():
            catalog.move_photo(photo.id, folder.id, undecodable + "-moved", 10, 2)
            catalog.mark_failed([(photo.id, f"{undecodable}-moved is not an image")])
        [skipped] = catalog.skipped_photos()
        assert skipped.path == undecodable + "-moved"
        assert skipped.error == "/photos/dir\ufffd/caf\ufffd.jpg-moved is not an image"
    raw = sqlite3.connect(tmp_path / "catalog.sqlite3")
    kinds = dict(raw.execute("SELECT fingerprint, typeof(path) FROM photos").fetchall())
    assert kinds == {"digest-0": "blob", "digest-1": "blob", "digest-2": "text"}


def test_names_that_are_not_utf8_are_indexed_found_and_kept(library, tmp_path):
    folder, odd = not_utf8_folder(tmp_path)
    write_not_a_photo(os.fsencode(folder) + b"/broken-\xfe.jpg")
    library.add_folder(folder)
    report = library.sync()
    assert (report.added, report.embedded) == (4, 3)
    assert [path for path, _ in report.skipped] == [folder + "/broken-\udcfe.jpg"]
    again = library.sync()  # the catalog holds the names: the next run finds them unchanged
    assert (again.added, again.changed, again.deleted, again.embedded) == (0, 0, 0, 0)

    results = library.search_images([odd], top=3)
    assert results[0].photo.path == odd and results[0].score > 0.999
    assert library.photo(odd).path == odd
    similar = library.similar_to([odd], top=5)
    assert odd not in {r.photo.path for r in similar} and len(similar) == 2
    in_folder = library.search_images([odd], filters=SearchFilter(folder=folder))
    assert len(in_folder) == 3
    assert library.status().folders[0].path == folder

    cache = tmp_path / "cache"
    assert load_thumbnail(cache, odd, 32).size == (32, 24)
    assert thumbnail_path(cache, odd, 32).exists()

    moved = os.fsencode(folder) + b"/moved-\xe8.jpg"
    os.rename(os.fsencode(odd), moved)
    assert library.sync().moved == 1
    assert library.search_images([os.fsdecode(moved)], top=1)[0].photo.path == os.fsdecode(moved)


# special files given as queries ----------------------------------------------------------


def test_special_files_are_refused_at_once(tmp_path, library):
    spec = library.session(library.active_model()).input_spec
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(tmp_path / "socket.jpg"))
    specials = [fifo, tmp_path / "socket.jpg"]
    if Path("/dev/zero").exists():
        specials.append(Path("/dev/zero"))  # a device that never ends
    try:
        for special in specials:
            error = in_thread(lambda special=special: load_input(special, spec))
            assert isinstance(error, UnreadableFileError), special
            assert "is not a regular file" in str(error)
        error = in_thread(lambda: library.search_images([fifo]))
        assert "is not a regular file" in str(error)
    finally:
        release_fifo(fifo)
        listening.close()


# a library on read-only storage ----------------------------------------------------------


def test_a_read_only_library_is_searched_and_refuses_changes(tmp_path, tiny_model_path):
    photos = folder_of_photos(tmp_path / "photos", good=6, bad=1)
    home = tmp_path / "library"
    indexed_library(home, tiny_model_path, photos)
    with Library(app_paths(home)) as writable:
        expected = [r.photo.path for r in writable.search_images([photos / "photo-2.jpg"])]
    for saved_index in (home / "data" / "indexes").iterdir():
        saved_index.unlink()  # searching builds the index in memory, it cannot save one
    for folder in ("cache", "logs", "config"):
        shutil.rmtree(home / folder)  # nor create the folders a new library gets

    with read_only_view(home) as view, Library(app_paths(view)) as library:
        assert library.read_only and library.status().read_only
        query = photos / "photo-2.jpg"
        assert [r.photo.path for r in library.search_images([query])] == expected
        similar = [r.photo.path for r in library.similar_to([query], top=3)]
        assert len(similar) == 3 and str(query) not in similar
        assert library.duplicates(0.999) == []
        assert library.status().photos == 6 and library.models()[0].dim > 0
        for change in (
            library.sync,
            lambda: library.add_folder(tmp_path),
            lambda: library.remove_folder(photos),
            lambda: library.add_model(tiny_model_path),
            lambda: library.activate_model(1),
            lambda: library.trash_photos([query]),
        ):
            with pytest.raises(LibraryError, match="read-only"):
                change()
        assert query.exists()  # refused before any file was moved
        with pytest.raises(CatalogError, match="read-only"):
            library.catalog.set_setting("anything", "1")
    written = sorted(p.name for p in (home / "data").iterdir())
    assert written == ["catalog.sqlite3", "indexes", "models"]  # no -shm, no saved index


def test_a_read_only_library_sees_what_a_writer_has_not_checkpointed(tmp_path, tiny_model_path):
    """Mounted read-only while the app that indexes it still has it open: the -wal file
    holds the latest photos, and the read-only catalog must read it, not skip it."""
    if os.geteuid() != 0:
        pytest.skip("needs a read-only view beside a writable original: a bind mount (root)")
    photos = folder_of_photos(tmp_path / "photos", good=3, bad=0)
    home = tmp_path / "library"
    indexed_library(home, tiny_model_path, photos)
    # the writer closes before the view goes: SQLite keeps a reader's file open while
    # another connection of the process holds locks on the same file
    with read_only_view(home) as view, Library(app_paths(home)) as writer:
        write_photo(photos / "late.jpg", seed=7)
        writer.sync()
        assert (home / "data" / "catalog.sqlite3-wal").stat().st_size > 0
        with Library(app_paths(view)) as library:
            assert library.read_only and library.status().photos == 4
            late = str(photos / "late.jpg")
            assert library.search_images([late])[0].photo.path == late


# photos and skipped files are counted apart ----------------------------------------------


def test_status_counts_photos_and_skipped_files_apart(library, tmp_path):
    library.add_folder(folder_of_photos(tmp_path / "photos", good=5, bad=2))
    library.sync()
    assert library.catalog.counts() == {"photos": 5, "skipped": 2, "folders": 1}
    status = library.status()
    assert status.photos == 5 and len(status.skipped) == 2
    assert status.models[0].indexed == 5
