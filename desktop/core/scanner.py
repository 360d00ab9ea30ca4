"""Walking library folders: which photo files exist, their size, mtime and fingerprint.

Hidden files and folders are skipped, symlinked folders are followed once (a loop is cut
where it closes), and a folder that cannot be read is reported, never fatal. A walk checks
its cancel event at every folder and every few hundred files: a window that closes during
a rescan of 100,000 photos must not wait for the rest of the disk.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from desktop.core.images import HEIC_SUPPORTED

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
)
HEIC_EXTENSIONS = frozenset({".heic", ".heif"})
FINGERPRINT_BLOCK = 16 * 1024


def supported_extensions() -> frozenset[str]:
    return IMAGE_EXTENSIONS | HEIC_EXTENSIONS if HEIC_SUPPORTED else IMAGE_EXTENSIONS


CANCEL_CHECK_FILES = 256
"""Files looked at between two checks of the cancel event inside one folder."""


class FolderOfflineError(Exception):
    """A library folder is missing: an unplugged drive or an unmounted share."""


class ScanCancelled(Exception):
    """The walk stopped because its cancel event was set; what it found is incomplete."""


@dataclass(frozen=True, slots=True)
class ScannedFile:
    path: str
    size: int
    mtime_ns: int


def scan_folder(
    root: str | os.PathLike,
    problems: list[tuple[str, str]],
    extensions: frozenset[str] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[ScannedFile]:
    """Every photo file under `root`, depth first, sorted within each folder, as it is found
    (a library of 100,000 photos is never held as a list of files).

    Sub-folders and files that cannot be read go to `problems` as (path, reason). A missing
    `root` raises FolderOfflineError here, before any file; a set `cancel` raises
    ScanCancelled during the walk, so no caller can take a partial walk for the whole.
    """
    extensions = extensions or supported_extensions()
    root = Path(root)
    if not root.is_dir():
        raise FolderOfflineError(f"{root} is not available (missing or not a folder)")
    return _walk(str(root), problems, extensions, cancel)


def _walk(
    root: str,
    problems: list[tuple[str, str]],
    extensions: frozenset[str],
    cancel: threading.Event | None,
) -> Iterator[ScannedFile]:
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        check_cancel(cancel)
        folder = stack.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in visited:
                continue  # a symlink loop, or a folder reachable twice
            visited.add((info.st_dev, info.st_ino))
            # names, not DirEntry objects: a folder's thousand entries held across garbage
            # collections would each be promoted to the oldest generation, and the full
            # collection that follows stops every thread, the GUI's too (~70 ms at 100k)
            with os.scandir(folder) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as exc:
            problems.append((folder, f"cannot read folder: {exc.strerror or exc}"))
            continue
        subfolders = []
        for number, name in enumerate(names, 1):
            if number % CANCEL_CHECK_FILES == 0:
                check_cancel(cancel)
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)  # follows symlinks
            except OSError as exc:
                problems.append((path, f"cannot read: {exc.strerror or exc}"))
                continue
            if stat.S_ISDIR(info.st_mode):
                subfolders.append(path)
            elif stat.S_ISREG(info.st_mode) and _extension(name) in extensions:
                yield ScannedFile(path, info.st_size, info.st_mtime_ns)
        stack.extend(reversed(subfolders))


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise ScanCancelled when `cancel` is set."""
    if cancel is not None and cancel.is_set():
        raise ScanCancelled


def fingerprint(path: str | os.PathLike, size: int) -> str:
    """A content fingerprint: BLAKE2b of the size and the first and last 16 KiB.

    Cheap enough to compute for every new file, and stable across moves and renames.
    """
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_BLOCK))
        if size > 2 * FINGERPRINT_BLOCK:
            handle.seek(size - FINGERPRINT_BLOCK)
            digest.update(handle.read(FINGERPRINT_BLOCK))
        elif size > FINGERPRINT_BLOCK:
            digest.update(handle.read())
    return digest.hexdigest()


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()
