"""What the user's labels become: a labelled folder tree read in, a training set written out.

Labels live in the catalog (`Catalog.create_label` and friends). This module holds what
is built from them: which photos of a folder tree (one sub-folder per label) the library
knows, and the manifest `desktop-trainer finetune --labels FILE` trains on, with the labels
and photos left out of it and why.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.atomic import atomic_write
from desktop.core.scanner import scan_folder

MIN_TRAINING_PHOTOS = 4
"""Photos a label needs to be trained on: a batch draws two, and a label held out to measure
the model needs a photo to find for each query."""

MANIFEST_HEADER = ("path", "label")


def held_out_labels(share: float, labels: int) -> int:
    """How many of `labels` labels a held-out `share` sets aside: the trainer's class split
    and the window's training plan both count with this, so the plan says what training does."""
    return round(share * labels)


def labelled_files(root: str | os.PathLike) -> dict[str, list[str]]:
    """{label: photo files} of a labelled folder tree: each top-level sub-folder of `root`
    is a label, its photos anywhere below it."""
    root = Path(root).expanduser().resolve()
    problems: list[tuple[str, str]] = []
    tree: dict[str, list[str]] = {}
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            files = [file.path for file in scan_folder(child, problems)]
            if files:
                tree[child.name] = files
    return tree


@dataclass(frozen=True)
class LabelImport:
    """What importing a labelled folder tree did."""

    added: dict[str, int]
    """Photos newly given each label."""
    not_in_library: int
    """Photo files under the tree that the library does not know (yet)."""


@dataclass(frozen=True)
class TrainingSet:
    """The photos to train on, one label each, and what was left out."""

    rows: list[tuple[str, str]]
    """(photo path, label name), by label then path."""
    too_few: dict[str, int] = field(default_factory=dict)
    """Labels left out for having fewer than MIN_TRAINING_PHOTOS photos: their counts."""
    ambiguous: list[str] = field(default_factory=list)
    """Photos left out for carrying several of the labels trained on."""

    def counts(self) -> dict[str, int]:
        return dict(Counter(label for _, label in self.rows))

    def write_manifest(self, path: str | os.PathLike) -> Path:
        """The CSV `desktop-trainer finetune --labels` reads: a `path,label` header, then
        one row per photo."""

        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(MANIFEST_HEADER)
        writer.writerows(self.rows)
        data = text.getvalue().encode("utf-8", "surrogateescape")  # odd file names as on disk
        return atomic_write(path, lambda stream: stream.write(data))


def training_set(labelled: Iterable[tuple[str, str, str]]) -> TrainingSet:
    """The training set of (photo path, photo key, label) rows: photos under one label only,
    labels with enough photos."""
    labels_of: dict[str, list[str]] = {}
    path_of: dict[str, str] = {}
    for path, key, label in labelled:
        labels_of.setdefault(key, []).append(label)
        path_of[key] = path
    ambiguous = sorted(path_of[key] for key, names in labels_of.items() if len(names) > 1)
    single = [(path_of[key], names[0]) for key, names in labels_of.items() if len(names) == 1]
    counts = Counter(label for _, label in single)
    too_few = {label: n for label, n in counts.items() if n < MIN_TRAINING_PHOTOS}
    rows = sorted(
        ((path, label) for path, label in single if label not in too_few),
        key=lambda row: (row[1].casefold(), row[0]),
    )
    return TrainingSet(rows, dict(sorted(too_few.items())), ambiguous)
