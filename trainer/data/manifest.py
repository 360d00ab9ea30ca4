"""A labels manifest: a CSV file of `path,label` rows naming the photos to train on.

The app writes one from the labels a user gives photos in its window, wherever in the
library they lie; a user can write one too. It trains exactly as a labelled folder does:
the photos are checked the same way (`readable_images`), and a photo that is missing or
cannot be decoded is skipped and listed, since a library changes between labelling and
training. Everything else that is wrong with the file is an error naming its line.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from trainer.data.folder import ImageList, readable_images

HEADER = ["path", "label"]


def read_labels_manifest(
    path: str | os.PathLike, *, check: bool = True, threads: int = 8
) -> ImageList:
    """The photos `path` lists, labels numbered in sorted name order as a folder's are.

    Rows are taken in (label, path) order, so the order the file lists them in does not
    change the training. Blank lines and the spaces around a label are ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file not found: {path}")
    candidates = sorted(_read_rows(path), key=lambda row: (row[1], row[0]))
    labels = {label for _, label in candidates}
    if len(labels) < 2:
        raise ValueError(
            f"{path} lists {len(labels)} label(s): training needs photos of at least 2 labels"
        )
    images = readable_images(candidates, check=check, threads=threads)
    if not images.class_names:
        raise ValueError(f"none of the {len(candidates)} photos {path} lists could be read")
    return images


def _read_rows(path: Path) -> list[tuple[Path, str]]:
    """Every listed (photo, label), after checking each row and that no photo repeats."""
    seen: dict[Path, tuple[str, int]] = {}  # photo: (label, line)
    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header != HEADER:
                found = "nothing" if header is None else repr(",".join(header))
                raise ValueError(f"{path} line 1: expected the header path,label, found {found}")
            for fields in reader:
                if not fields:
                    continue
                where = f"{path} line {reader.line_num}"
                photo, label = _check_row(fields, where)
                if photo in seen:
                    _refuse_repeat(photo, label, *seen[photo], where)
                seen[photo] = (label, reader.line_num)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text: {exc}") from exc
    except csv.Error as exc:
        raise ValueError(f"{path} is not a valid CSV file: {exc}") from exc
    return [(photo, label) for photo, (label, _) in seen.items()]


def _check_row(fields: list[str], where: str) -> tuple[Path, str]:
    if len(fields) != 2:
        raise ValueError(
            f"{where}: expected 2 fields (path,label), found {len(fields)}; "
            'put a label that holds a comma in double quotes: "my dog, Rex"'
        )
    photo, label = fields[0], fields[1].strip()
    if not photo.strip():
        raise ValueError(f"{where}: the photo's path is empty")
    if not label:
        raise ValueError(f"{where}: the label of {photo} is empty")
    if not Path(photo).is_absolute():
        raise ValueError(f"{where}: {photo} is not an absolute path")
    return Path(photo), label


def _refuse_repeat(photo: Path, label: str, earlier: str, earlier_line: int, where: str) -> None:
    if label == earlier:
        raise ValueError(f"{where}: {photo} is listed again (first on line {earlier_line})")
    raise ValueError(
        f"{where}: photo {photo} is under both {earlier!r} (line {earlier_line}) and "
        f"{label!r}: a photo can have one label to train on"
    )
