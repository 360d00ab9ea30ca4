"""Bad input never crashes indexing and never costs a photo already indexed.

More than 30 kinds of awkward files and folders go into one library next to real photos;
each is either indexed or skipped with a reason, and a second sync loses nothing.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from desktop.core.indexer import Phase
from tests.conftest import REPO_ROOT
from tests.core.test_images import png_header_only


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def photo(source: Path, size=(320, 240)) -> Image.Image:
    with Image.open(source) as image:
        return image.convert("RGB").resize(size)


def make_bad_inputs(root: Path, source: Path) -> tuple[set[str], set[str]]:
    """Write the awkward files; returns (names that must be skipped, names that must index)."""
    real = source.read_bytes()
    must_skip = {
        "zero-bytes.jpg": b"",
        "truncated-half.jpg": real[: len(real) // 2],
        "truncated-header.jpg": real[:200],
        "text.jpg": b"just some text, not a photo\n",
        "page.png": b"<html><body>not an image</body></html>",
        "noise.webp": np.random.default_rng(0).bytes(5000),
        "bomb.png": png_header_only(100_000, 100_000),
        "over-cap.png": png_header_only(12_000, 10_000),
        "truncated.bmp": (lambda b: b[: len(b) // 3])(_saved(photo(source), "BMP")),
        "jpeg-magic-then-garbage.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 300,
    }
    for name, data in must_skip.items():
        (root / name).write_bytes(data)

    must_index = {
        "one-pixel.jpg": _saved(Image.new("RGB", (1, 1), (200, 10, 10)), "JPEG"),
        "wide-30000x10.png": _saved(Image.new("RGB", (30_000, 10), (10, 200, 10)), "PNG"),
        "tall-10x30000.png": _saved(Image.new("RGB", (10, 30_000), (10, 10, 200)), "PNG"),
        "deep-16bit.png": _saved(
            Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)), "PNG"
        ),
        "cmyk.jpg": _saved(photo(source).convert("CMYK"), "JPEG"),
        "palette.gif": _saved(photo(source).convert("P"), "GIF"),
        "alpha.png": _saved(photo(source).convert("RGBA"), "PNG"),
        "gray-alpha.png": _saved(photo(source).convert("LA"), "PNG"),
        "one-bit.bmp": _saved(photo(source).convert("1"), "BMP"),
        "deep.tiff": _saved(
            Image.fromarray((np.arange(32 * 32).reshape(32, 32) * 60).astype(np.uint16)), "TIFF"
        ),
        "bad-exif.jpg": jpeg_bytes(photo(source), exif=b"Exif\x00\x00not-a-tiff-header"),
        "rotated-8.jpg": jpeg_bytes(photo(source), exif=_orientation(8)),
        "фото 写真.jpg": real,
        "name with spaces.jpg": real,
        "line\nbreak.jpg": real,
        "UPPER.JPG": real,
        "png-named.jpg": _saved(photo(source), "PNG"),
        "trailing-garbage.jpg": real + b"\x00garbage after the end marker" * 10,
        "photo.webp": _saved(photo(source), "WEBP"),
        "grayscale.jpg": _saved(photo(source).convert("L"), "JPEG"),
    }
    frames = [photo(source), photo(source).transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    must_index["animated.gif"] = _saved(frames[0], "GIF", save_all=True, append_images=frames[1:])
    for name, data in must_index.items():
        (root / name).write_bytes(data)

    # things the scanner must step over without indexing them
    (root / ".hidden.jpg").write_bytes(real)
    (root / ".thumbnails").mkdir()
    (root / ".thumbnails" / "cached.jpg").write_bytes(real)
    (root / "notes.txt").write_text("not a photo extension")
    (root / "raw.cr2").write_bytes(b"unsupported raw")
    (root / "folder.jpg").mkdir()  # a folder named like a photo is walked, not decoded
    (root / "folder.jpg" / "inside.jpg").write_bytes(real)
    (root / "loop").mkdir()
    os.symlink("..", root / "loop" / "back-to-root")  # a symlink loop
    os.symlink(root / "does-not-exist.jpg", root / "dangling.jpg")
    os.mkfifo(root / "pipe.jpg")
    return set(must_skip), set(must_index) | {"folder.jpg/inside.jpg"}


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif


def test_thirty_bad_inputs_are_skipped_or_indexed(library, photo_folder, made_photos):
    bad = photo_folder / "bad"
    bad.mkdir()
    must_skip, must_index = make_bad_inputs(bad, made_photos[0])
    assert len(must_skip) + len(must_index) >= 30
    library.add_folder(photo_folder)
    report = library.sync(batch_size=7)

    skipped = {Path(path).relative_to(bad).as_posix(): reason for path, reason in report.skipped}
    assert set(skipped) == must_skip
    assert all(reason for reason in skipped.values())
    assert "megapixels" in skipped["over-cap.png"] or "too large" in skipped["over-cap.png"]
    assert "not an image" in skipped["text.jpg"]
    indexed = {
        Path(p.path).relative_to(bad).as_posix()
        for p in library.catalog.photos()
        if p.error is None and p.path.startswith(str(bad))
    }
    assert indexed == must_index
    model_id = library.active_model().id
    real_photos = 20
    assert library.catalog.descriptor_count(model_id) == real_photos + len(must_index)
    assert any("dangling.jpg" in path for path, _ in report.folder_problems)
    status = library.status()
    assert {Path(s.path).name for s in status.skipped} == must_skip

    again = library.sync()
    assert (again.added, again.deleted, again.embedded, again.skipped) == (0, 0, 0, [])
    assert library.catalog.descriptor_count(model_id) == real_photos + len(must_index)


def test_a_skipped_file_that_is_fixed_gets_indexed(library, photo_folder, made_photos):
    broken = photo_folder / "later.jpg"
    broken.write_bytes(made_photos[0].read_bytes()[:500])
    library.add_folder(photo_folder)
    assert [Path(p).name for p, _ in library.sync().skipped] == ["later.jpg"]
    shutil.copyfile(made_photos[0], broken)
    report = library.sync()
    assert (report.changed, report.embedded, report.skipped) == (1, 1, [])
    assert library.catalog.photo_by_path(str(broken)).error is None


def test_files_deleted_or_replaced_between_scan_and_decode(library, photo_folder, made_photos):
    """The embed phase finds some files gone or different from what the scan saw."""
    library.add_folder(photo_folder)
    later = sorted(photo_folder.rglob("*.jpg"))[-6:]
    deleted, replaced = later[:3], later[3:]

    def progress(update):
        # the first batch is done, the last one not read yet
        if update.phase is Phase.EMBEDDING and deleted[0].exists():
            for path in deleted:
                path.unlink()
            for path in replaced:
                shutil.copyfile(made_photos[-1], path)

    report = library.sync(progress, batch_size=4)
    assert {Path(p) for p, _ in report.skipped} == set(deleted)
    assert all("does not exist" in reason for _, reason in report.skipped)

    healed = library.sync()
    assert healed.deleted == 3 and healed.skipped == []
    model_id = library.active_model().id
    assert library.catalog.descriptor_count(model_id) == 20 - 3
    ids, vectors = library.catalog.descriptors(model_id)
    by_path = {library.catalog.photo(int(i)).path: v for i, v in zip(ids, vectors, strict=True)}
    reference = library.session(library.active_model()).embed_images([made_photos[-1]])[0]
    for path in replaced:
        assert np.allclose(by_path[str(path)], reference, atol=1e-5)


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    """`photo-search ARGS` in a subprocess that file permissions apply to.

    Root reads every file, so as root the command runs without the capabilities that
    bypass permission checks (setpriv), the way an ordinary user's process would.
    """
    drop = "-dac_override,-dac_read_search"
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "desktop", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_unreadable_files_and_folders(tmp_path, tiny_model_path, made_photos):
    photos, home = tmp_path / "photos", tmp_path / "home"
    (photos / "open").mkdir(parents=True)
    (photos / "locked").mkdir()
    for source in made_photos[:3]:
        shutil.copy(source, photos / "open" / source.name)
        shutil.copy(source, photos / "locked" / source.name)
    shutil.copy(made_photos[5], photos / "open" / "secret.jpg")
    model_args = ["--model", str(tiny_model_path)]
    first = run_cli(["index", str(photos), "--library", str(home), *model_args, "--json"])
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["embedded"] == 7

    (photos / "locked").chmod(0)
    (photos / "open" / "secret.jpg").chmod(0)
    os.utime(photos / "open" / "secret.jpg")  # changed, so it must be read again
    shutil.copy(made_photos[9], photos / "open" / "new.jpg")
    (photos / "open" / "newer-but-locked.jpg").write_bytes(made_photos[10].read_bytes())
    (photos / "open" / "newer-but-locked.jpg").chmod(0)
    try:
        second = run_cli(["index", "--library", str(home), "--json"])
        status = run_cli(["status", "--library", str(home), "--json"])
    finally:
        (photos / "locked").chmod(stat.S_IRWXU)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert (summary["added"], summary["deleted"], summary["embedded"]) == (1, 0, 1)
    problems = {Path(p["path"]).name: p["reason"] for p in summary["folder_problems"]}
    assert set(problems) == {"locked", "secret.jpg", "newer-but-locked.jpg"}
    assert all("ermission denied" in reason for reason in problems.values())
    report = json.loads(status.stdout)
    assert report["photos"] == 8  # 3 open + secret (kept) + 3 locked (kept) + new
    assert report["folders"][0]["problems"]
    assert report["models"][0]["indexed"] == 8


def test_closing_the_library_waits_for_the_read_in_progress(library):
    """The window may close while a worker is still in a catalog read; closing the
    connection under it would crash the process."""
    reading, finish = threading.Event(), threading.Event()
    counted = []

    def long_read() -> None:
        with library._lock:  # what every Library read holds
            reading.set()
            finish.wait(5)
            counted.append(library.catalog.counts()["photos"])

    reader = threading.Thread(target=long_read)
    reader.start()
    assert reading.wait(5)
    closer = threading.Thread(target=library.close)
    closer.start()
    closer.join(0.3)
    assert closer.is_alive()  # waiting for the read
    finish.set()
    reader.join(5)
    closer.join(5)
    assert counted == [0] and not closer.is_alive()
