"""A labelled folder: one sub-folder per label, the label's photos anywhere below it.

This is the layout a user hands to `desktop-trainer finetune`. Every photo is decoded once
(in JPEG draft mode, so it is cheap) when the folder is scanned, so a damaged file is
skipped and listed there instead of stopping a training run hours later.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.core.images import ImageLoadError, open_image
from desktop.core.labels import held_out_labels
from desktop.core.scanner import supported_extensions

CHECK_DRAFT_SIZE = 64
"""Shorter side a JPEG is decoded at when checking it is readable."""


@dataclass
class ImageList:
    """Photos with integer labels (indices into `class_names`)."""

    paths: list[Path]
    labels: np.ndarray
    class_names: list[str]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    """(path, reason) for every file left out because it could not be read."""

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.paths) != len(self.labels):
            raise ValueError(f"{len(self.paths)} paths but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def select_classes(self, classes: list[int]) -> ImageList:
        """The photos of `classes`, relabelled 0..len(classes)-1 in the order given."""
        new_label = {old: new for new, old in enumerate(classes)}
        keep = [i for i, label in enumerate(self.labels) if label in new_label]
        return ImageList(
            paths=[self.paths[i] for i in keep],
            labels=np.array([new_label[self.labels[i]] for i in keep], dtype=np.int64),
            class_names=[self.class_names[c] for c in classes],
            skipped=list(self.skipped),
        )


def scan_labelled_folder(
    root: str | os.PathLike, *, check: bool = True, threads: int = 8
) -> ImageList:
    """Every photo under `root`, labelled by the name of its top-level sub-folder.

    Hidden files and folders are ignored, as are files whose extension is not a photo's.
    Photos directly in `root` (no label) and, with `check`, photos that cannot be decoded
    are listed in `skipped`. Labels are numbered in sorted folder-name order.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder not found: {root}")
    extensions = supported_extensions()
    loose = [
        (path, "not inside a label folder")
        for path in sorted(root.iterdir())
        if path.is_file() and _is_photo(path, extensions)
    ]
    candidates: list[tuple[Path, str]] = []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p)):
        candidates.extend((path, label_dir.name) for path in _photos_below(label_dir, extensions))
    images = readable_images(candidates, check=check, threads=threads)
    if not images.class_names:
        raise ValueError(f"{root} has no label sub-folders with readable photos")
    images.skipped[:0] = loose
    return images


def readable_images(
    candidates: list[tuple[Path, str]], *, check: bool = True, threads: int = 8
) -> ImageList:
    """The (path, label) `candidates` that decode, in the order given, with labels numbered in
    sorted name order; with `check`, the others are listed in `skipped` with the reason.

    Shared by the folder scan and the labels manifest, so both skip the same photos for the
    same reasons.
    """
    if check:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            problems = list(pool.map(_check_readable, [path for path, _ in candidates]))
    else:
        problems = [None] * len(candidates)
    readable, skipped = [], []
    for (path, label), problem in zip(candidates, problems, strict=True):
        if problem is None:
            readable.append((path, label))
        else:
            skipped.append((path, problem))
    class_names = sorted({label for _, label in readable})
    index = {name: i for i, name in enumerate(class_names)}
    return ImageList(
        paths=[path for path, _ in readable],
        labels=np.array([index[label] for _, label in readable], dtype=np.int64),
        class_names=class_names,
        skipped=skipped,
    )


def split_classes(images: ImageList, val_fraction: float) -> tuple[ImageList, ImageList]:
    """Class-disjoint split, as in the CUB-200 protocol: the last `val_fraction` of the labels
    (in sorted order) are held out of training; the others are trained on."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"the held-out share of labels must be in (0, 1), got {val_fraction}")
    num_val = held_out_labels(val_fraction, images.num_classes)
    if num_val < 1 or num_val > images.num_classes - 1:
        raise ValueError(
            f"holding out {val_fraction:.0%} of {images.num_classes} labels leaves "
            f"{images.num_classes - num_val} to train on and {num_val} to evaluate; "
            "both need at least one"
        )
    num_train = images.num_classes - num_val
    train = images.select_classes(list(range(num_train)))
    val = images.select_classes(list(range(num_train, images.num_classes)))
    return train, val


def _hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _is_photo(path: Path, extensions: frozenset[str]) -> bool:
    return not _hidden(path) and path.suffix.lower() in extensions


def _photos_below(folder: Path, extensions: frozenset[str]) -> list[Path]:
    photos = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        photos.extend(Path(dirpath) / f for f in sorted(filenames))
    return [p for p in photos if _is_photo(p, extensions)]


def _check_readable(path: Path) -> str | None:
    try:
        open_image(path, draft_size=CHECK_DRAFT_SIZE)
    except ImageLoadError as exc:
        return str(exc)
    return None
