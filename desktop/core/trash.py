"""Moving photo files to the system trash, where the user can restore them.

Files go through send2trash (the freedesktop trash on Linux, the Recycle Bin on Windows,
the Finder's trash on macOS) and nothing here ever unlinks a file: a file that cannot be
moved to a trash stays where it is, with the reason. `Library.trash_photos` decides what
the catalog forgets; this module only moves files and says what happened.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import send2trash

from desktop.core.catalog import Photo
from desktop.core.paths import display_path


@dataclass(frozen=True)
class TrashFailure:
    photo: Photo
    reason: str
    """Why the file was not moved; it and its photo stay where they were."""


@dataclass(frozen=True)
class TrashReport:
    """What `Library.trash_photos` did, photo by photo."""

    trashed: tuple[Photo, ...] = ()
    """Moved to the trash and removed from the library."""
    already_gone: tuple[Photo, ...] = ()
    """Their files had already gone from their (reachable) folders: removed from the
    library, as the next index run would."""
    failed: tuple[TrashFailure, ...] = ()
    """Not moved, still in the library."""

    @property
    def removed(self) -> tuple[Photo, ...]:
        """The photos that left the library."""
        return self.trashed + self.already_gone

    @staticmethod
    def joined(reports: Iterable[TrashReport]) -> TrashReport:
        """One report of several runs."""
        reports = list(reports)
        return TrashReport(
            tuple(p for r in reports for p in r.trashed),
            tuple(p for r in reports for p in r.already_gone),
            tuple(f for r in reports for f in r.failed),
        )


class Outcome(Enum):
    TRASHED = "trashed"
    GONE = "gone"


def trash_file(photo: Photo, folder: str) -> Outcome | str:
    """Move a photo's file to the trash: TRASHED, GONE when it was no longer there, or why
    it was not moved.

    `folder` is the library folder the photo belongs to: when it cannot be reached (a drive
    that is not plugged in) a missing file is not "gone", and nothing is done. A file whose
    size or time differs from the catalog's changed since it was indexed: what the user saw
    and chose is not what is there, so it is not moved either.
    """
    path = photo.path
    if not os.path.lexists(path):
        if not os.path.isdir(folder):
            return f"its folder {display_path(folder)} cannot be reached (a drive not plugged in?)"
        return Outcome.GONE
    try:
        found = os.stat(path)
    except OSError as exc:
        return _reason(exc, path)
    if (found.st_size, found.st_mtime_ns) != (photo.size, photo.mtime_ns):
        return "the file changed since it was indexed: index the library again and look first"
    try:
        send2trash.send2trash(path)
    except send2trash.TrashPermissionError as exc:
        where = f" ({display_path(os.fsdecode(exc.filename))})" if exc.filename else ""
        return f"no trash folder that may be written on its drive{where}"
    except Exception as exc:  # each platform's send2trash raises kinds of its own
        return _reason(exc, path)
    return Outcome.TRASHED


def _reason(exc: Exception, path: str) -> str:
    """A send2trash or file error in words, without repeating the photo's own path."""
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
        filename = os.fsdecode(exc.filename) if exc.filename is not None else None
        if filename and filename != path:
            reason += f": {filename}"
        return display_path(f"could not move it to the trash: {reason}")
    return display_path(f"could not move it to the trash: {exc or type(exc).__name__}")
