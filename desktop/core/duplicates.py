"""Which copy of a near-duplicate group to keep, and which photos the user's choice sends away.

Pure functions over catalog photos: no file is touched here (`Library.trash_photos` does
that). `best_copy_key` is the one definition of "the best copy": the CLI keeps it and the
window checks it, and both list a group in its order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from desktop.core.catalog import Photo


class KeepError(ValueError):
    """A choice that would send every photo of a group to the trash."""


def best_copy_key(photo: Photo) -> tuple:
    """Sorts a group best copy first: the most pixels, then the largest file (the least
    compressed of equal sizes), then a copy with a date taken before one without, the
    oldest date taken first, then the oldest file, then by path, so the choice never
    depends on the order the photos were found in.

    Oldest, not newest: the date taken is EXIF DateTimeOriginal, else DateTime, which
    editors and exporters rewrite when they save, and a copy stripped of its EXIF has none,
    so among copies of one size the earliest date is the likeliest original. Copies that
    tie on pixels and bytes are nearly always the same file, with the same EXIF; then the
    older file is the original and the newer one the copy (a plain copy gets a new time).
    """
    pixels = (photo.width or 0) * (photo.height or 0)
    taken = (photo.taken_at is None, photo.taken_at or "")
    return (-pixels, -photo.size, *taken, photo.mtime_ns, photo.path)


def choose_keep(group: Sequence[Photo]) -> tuple[Photo, list[Photo]]:
    """(the copy to keep, the others best first) of a group of two or more photos."""
    if not group:
        raise ValueError("an empty group has nothing to keep")
    ordered = sorted(group, key=best_copy_key)
    return ordered[0], ordered[1:]


def photos_to_trash(groups: Sequence[Sequence[Photo]], keep: Collection[int]) -> list[Photo]:
    """The photos of `groups` whose ids are not in `keep`, group by group.

    Raises KeepError, naming the groups (numbered from 1), when a group would lose every
    photo: at least one copy of each must stay.
    """
    emptied = [n for n, group in enumerate(groups, 1) if not any(p.id in keep for p in group)]
    if emptied:
        named = ", ".join(map(str, emptied))
        which = f"group {named} has" if len(emptied) == 1 else f"groups {named} have"
        raise KeepError(
            f"{which} no photo checked to keep: check at least one photo in every group "
            "(nothing was moved)"
        )
    return [photo for group in groups for photo in group if photo.id not in keep]
