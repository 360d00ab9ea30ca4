"""Walking library folders: which photo files exist, their size, mtime and fingerprint.

Hidden files and folders are skipped, symlinked folders are followed once (a loop is cut
where it closes), and a folder that cannot be read is reported, never fatal.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.images import HEIC_SUPPORTED

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
)
HEIC_EXTENSIONS = frozenset({".heic", ".heif"})
FINGERPRINT_BLOCK = 16 * 1024


def supported_extensions() -> frozenset[str]:
    return IMAGE_EXTENSIONS | HEIC_EXTENSIONS if HEIC_SUPPORTED else IMAGE_EXTENSIONS


class FolderOfflineError(Exception):
    """A library folder is missing: an unplugged drive or an unmounted share."""


@dataclass(frozen=True)
class ScannedFile:
    path: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    files: list[ScannedFile] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) for sub-folders and files that could not be read."""


def scan_folder(root: str | os.PathLike, extensions: frozenset[str] | None = None) -> ScanResult:
    """Every photo file under `root`, depth first, sorted within each folder."""
    extensions = extensions or supported_extensions()
    root = Path(root)
    if not root.is_dir():
        raise FolderOfflineError(f"{root} is not available (missing or not a folder)")
    result = ScanResult()
    visited: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in visited:
                continue  # a symlink loop, or a folder reachable twice
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            result.problems.append((folder, f"cannot read folder: {exc.strerror or exc}"))
            continue
        subfolders = []
        for entry in children:
            if entry.name.startswith("."):
                continue
            try:
                entry_stat = entry.stat()  # follows symlinks
            except OSError as exc:
                result.problems.append((entry.path, f"cannot read: {exc.strerror or exc}"))
                continue
            if stat.S_ISDIR(entry_stat.st_mode):
                subfolders.append(entry.path)
            elif stat.S_ISREG(entry_stat.st_mode) and _extension(entry.name) in extensions:
                result.files.append(
                    ScannedFile(entry.path, entry_stat.st_size, entry_stat.st_mtime_ns)
                )
        stack.extend(reversed(subfolders))
    return result


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
