"""Near-duplicates: which copy to keep, and the others moved to a real (temporary) system
trash by send2trash, leaving the catalog, the vector index and their labels at once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
import send2trash

from desktop.core.catalog import Photo
from desktop.core.duplicates import KeepError, best_copy_key, choose_keep, photos_to_trash
from desktop.core.library import Library, LibraryError
from desktop.core.paths import app_paths


def photo(photo_id, path, *, pixels=(100, 100), size=1000, taken=None, mtime_ns=0) -> Photo:
    width, height = pixels
    return Photo(photo_id, 1, path, size, mtime_ns, "f", width, height, taken, None)


def test_the_best_copy_has_most_pixels_then_bytes_then_the_oldest_date():
    small = photo(1, "/a/small.jpg", pixels=(50, 50), size=9000)
    big = photo(2, "/z/big.jpg", pixels=(100, 100), size=1000)
    bigger_file = photo(3, "/z/bigger-file.jpg", pixels=(100, 100), size=2000)
    assert choose_keep([small, big, bigger_file]) == (bigger_file, [big, small])

    undated = photo(4, "/a/undated.jpg")
    newer = photo(5, "/b/newer.jpg", taken="2024-06-01T12:00:00")
    older = photo(6, "/c/older.jpg", taken="2021-06-01T12:00:00")
    assert choose_keep([undated, newer, older]) == (older, [newer, undated])

    copied_later = photo(7, "/a/copy.jpg", mtime_ns=2)
    original = photo(8, "/b/original.jpg", mtime_ns=1)
    assert choose_keep([copied_later, original])[0] == original
    same = [photo(9, "/b/two.jpg"), photo(10, "/a/one.jpg")]
    assert choose_keep(same)[0].path == "/a/one.jpg"  # ties: by path, never by order found
    assert sorted([small, big], key=best_copy_key)[0] == big


def test_a_group_with_nothing_kept_is_refused():
    one, two, three, four = (photo(i, f"/p/{i}.jpg") for i in range(1, 5))
    groups = [[one, two], [three, four]]
    assert photos_to_trash(groups, {one.id, three.id}) == [two, four]
    assert photos_to_trash(groups, {one.id, two.id, four.id}) == [three]
    with pytest.raises(KeepError, match="group 2 has no photo checked to keep"):
        photos_to_trash(groups, {one.id})
    with pytest.raises(KeepError, match="groups 1, 2 have no photo"):
        photos_to_trash(groups, set())


@pytest.fixture
def with_copy(library, scenes) -> tuple[Library, Path, Path]:
    """The library with `scenes` and an exact copy of its first photo indexed: the
    original (older) and the copy, the one near-duplicate group."""
    original = sorted(scenes.rglob("*.jpg"))[0]
    copy = scenes / "label-002" / "copy of it.jpg"
    shutil.copy(original, copy)
    library.add_folder(scenes)
    library.sync()
    return library, original, copy


def the_group(library: Library, path: Path) -> list[Photo]:
    return next(g for g in library.duplicates(0.999) if str(path) in {p.path for p in g})


def search_ids(library: Library, query: Path) -> set[int]:
    return {r.photo.id for r in library.search_images([query], top=25)}


def test_extras_go_to_the_trash_and_leave_the_library(with_copy, system_trash):
    library, original, copy = with_copy
    keep, extras = choose_keep(the_group(library, copy))
    assert keep.path == str(original) and [p.path for p in extras] == [str(copy)]
    extra = extras[0]
    library.add_to_label(library.create_label("kept and copy"), [keep, extra])
    model = library.serving_model()
    assert extra.id in search_ids(library, original)

    report = library.trash_photos(extras)

    assert report.trashed == (extra,) and report.already_gone == report.failed == ()
    assert not copy.exists() and original.exists()
    assert (system_trash / "files" / copy.name).read_bytes() == original.read_bytes()
    info = (system_trash / "info" / f"{copy.name}.trashinfo").read_text()
    assert f"Path={copy}" in unquote(info) and "DeletionDate=" in info  # restorable
    with pytest.raises(LibraryError, match="not in the library"):
        library.photo(copy)
    assert len(library.catalog.descriptors(model.id, [extra.id])[0]) == 0
    assert extra.id not in search_ids(library, original)
    assert library.label("kept and copy").count == 1
    assert library.status().photos == 8
    assert not any(str(original) in {p.path for p in g} for g in library.duplicates(0.999))
    with Library(app_paths()) as reopened:  # the saved index catches up from the change log
        assert extra.id not in search_ids(reopened, original)
        assert reopened.sync().deleted == 0  # nothing left for indexing to find


def test_a_file_already_gone_is_only_forgotten(with_copy, system_trash):
    library, original, copy = with_copy
    extra = library.photo(copy)
    copy.unlink()  # deleted outside the app before the user chose
    report = library.trash_photos([extra])
    assert report.already_gone == (extra,) and report.trashed == report.failed == ()
    assert not system_trash.exists()  # nothing was moved
    assert extra.id not in search_ids(library, original)


def test_a_failing_trash_leaves_the_photo_and_says_why(with_copy, system_trash, monkeypatch):
    library, original, copy = with_copy
    extra = library.photo(copy)

    def refuse(path):
        raise send2trash.TrashPermissionError(b"/media/usb/.Trash-1000")

    monkeypatch.setattr(send2trash, "send2trash", refuse)
    report = library.trash_photos([extra])
    assert report.trashed == report.already_gone == ()
    assert [(f.photo, f.reason) for f in report.failed] == [
        (extra, "no trash folder that may be written on its drive (/media/usb/.Trash-1000)")
    ]
    assert copy.exists() and library.photo(copy) == extra
    assert extra.id in search_ids(library, original)


def test_a_trash_that_cannot_be_made_leaves_the_photo(with_copy, system_trash):
    """A real send2trash failure, which root meets too: the trash folder cannot be made."""
    library, original, copy = with_copy
    system_trash.parent.mkdir(parents=True)
    system_trash.write_text("a file where the trash folder should be")
    extra = library.photo(copy)
    report = library.trash_photos([extra])
    (failure,) = report.failed
    assert failure.photo == extra and "could not move it to the trash" in failure.reason
    assert "Not a directory" in failure.reason and str(system_trash) in failure.reason
    assert copy.exists() and extra.id in search_ids(library, original)


def test_a_photo_of_an_offline_folder_or_changed_is_not_touched(with_copy, system_trash):
    library, original, copy = with_copy
    extra, other = library.photo(copy), library.photo(original)
    with copy.open("ab") as grown:
        grown.write(b"edited since")
    report = library.trash_photos([extra])
    assert "changed since it was indexed" in report.failed[0].reason and copy.exists()

    folder = Path(library.folders()[0].path)
    unplugged = folder.with_name("unplugged")
    folder.rename(unplugged)  # the drive is gone: its photos are kept, not "already gone"
    report = library.trash_photos([other])
    assert "cannot be reached" in report.failed[0].reason
    assert library.photo(other.id) == other and not system_trash.exists()
    unplugged.rename(folder)


def test_each_photo_is_trashed_once_and_nothing_is_unlinked(with_copy, system_trash, monkeypatch):
    library, original, copy = with_copy
    extra = library.photo(copy)
    monkeypatch.setattr(os, "unlink", lambda *a, **k: pytest.fail("a file was unlinked"))
    monkeypatch.setattr(os, "remove", lambda *a, **k: pytest.fail("a file was removed"))
    report = library.trash_photos([extra, extra.id, str(copy)])
    assert report.trashed == (extra,) and report.already_gone == report.failed == ()
    assert sorted((system_trash / "files").iterdir()) == [system_trash / "files" / copy.name]
