"""Loaders for the official layouts of the retrieval benchmarks the paper reports on.

Users bring the data; each loader reads the dataset's own list files and checks that the
photos they name exist, so a wrong root fails at once with a message that says so.

- CUB-200-2011 (`images.txt`, `image_class_labels.txt`, `images/`): classes 1-100 train,
  101-200 test, every test photo queries all the others.
- Stanford Online Products (`Ebay_train.txt`, `Ebay_test.txt`): same protocol.
- In-Shop Clothes (`list_eval_partition.txt`, `img/`): train items; test queries against
  the gallery.
- Revisited Oxford / Paris (`gnd_roxford5k.pkl` / `gnd_rparis6k.pkl`, `jpg/`): queries
  cropped to their bounding box, Medium and Hard ground truth with junk (Radenovic et al.,
  "Revisiting Oxford and Paris", CVPR 2018).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.images import InputSpec
from trainer.data.folder import ImageList, scan_labelled_folder
from trainer.data.transforms import EvalView, recipe_spec

TRAIN, TEST = "train", "test"
REVISITED = ("roxford5k", "rparis6k")
EVAL_DATASETS = ("folder", "cub", "sop", "inshop", *REVISITED)
MAX_MISSING_SHOWN = 3


@dataclass
class QueryGallery:
    """A query set searched against a separate gallery (In-Shop); labels are shared."""

    query: ImageList
    gallery: ImageList


@dataclass
class RevisitedSet:
    """Revisited Oxford or Paris: cropped queries against the database, per-query truth.

    `ground_truth[i]` has index arrays `easy`, `hard` and `junk` into `database`.
    """

    name: str
    queries: list[Path]
    boxes: list[tuple[float, float, float, float]]
    database: list[Path]
    ground_truth: list[dict[str, np.ndarray]]


def find_root(root: str | os.PathLike, marker: str, subfolder: str) -> Path:
    """The folder holding `marker`: `root` itself or `root/subfolder`."""
    root = Path(root)
    for candidate in (root, root / subfolder):
        if (candidate / marker).is_file():
            return candidate
    raise FileNotFoundError(f"{marker} not found in {root} or {root / subfolder}")


def load_cub(root: str | os.PathLike, split: str) -> ImageList:
    """CUB-200-2011: `split` "train" is classes 1-100, "test" is classes 101-200."""
    _check_split(split)
    root = find_root(root, "images.txt", "CUB_200_2011")
    paths = dict(_split_lines(root / "images.txt", 2))
    classes = dict(_split_lines(root / "image_class_labels.txt", 2))
    wanted = range(1, 101) if split == TRAIN else range(101, 201)
    rows = [
        (root / "images" / paths[image_id], int(classes[image_id]))
        for image_id in sorted(paths, key=int)
        if int(classes[image_id]) in wanted
    ]
    return _labelled(rows)


def load_sop(root: str | os.PathLike, split: str) -> ImageList:
    """Stanford Online Products: `Ebay_train.txt` (11,318 products) or `Ebay_test.txt`."""
    _check_split(split)
    list_file = "Ebay_train.txt" if split == TRAIN else "Ebay_test.txt"
    root = find_root(root, list_file, "Stanford_Online_Products")
    rows = [
        (root / fields[3], int(fields[1]))
        for fields in _split_lines(root / list_file, 4, header=True)
    ]
    return _labelled(rows)


def load_inshop(root: str | os.PathLike, split: str) -> ImageList | QueryGallery:
    """In-Shop Clothes: the train items, or the test query set against the gallery."""
    _check_split(split)
    root = find_root(root, "list_eval_partition.txt", "Eval")
    lines = (root / "list_eval_partition.txt").read_text(encoding="utf-8").splitlines()
    rows = [line.split() for line in lines[2:] if line.strip()]
    image_root = next(
        (c for c in (root, root / "Img", root.parent, root.parent / "Img") if (c / "img").is_dir()),
        root,
    )

    def part(status: str) -> list[tuple[Path, str]]:
        return [(image_root / name, item) for name, item, s in rows if s == status]

    if split == TRAIN:
        return _labelled(part("train"))
    query, gallery = part("query"), part("gallery")
    items = sorted({item for _, item in query + gallery})
    return QueryGallery(query=_labelled(query, items), gallery=_labelled(gallery, items))


def load_revisited(root: str | os.PathLike, name: str) -> RevisitedSet:
    """Revisited Oxford (`roxford5k`) or Paris (`rparis6k`) from revisitop's layout.

    The ground truth is the dataset's own pickle: only load files from a source you trust.
    """
    if name not in REVISITED:
        raise ValueError(f"unknown revisited dataset {name!r}; expected one of {REVISITED}")
    root = find_root(root, f"gnd_{name}.pkl", name)
    with open(root / f"gnd_{name}.pkl", "rb") as stream:
        config: dict[str, Any] = pickle.load(stream)
    database = [root / "jpg" / f"{image}.jpg" for image in config["imlist"]]
    queries = [root / "jpg" / f"{image}.jpg" for image in config["qimlist"]]
    _check_exist(database + queries)
    ground_truth = [
        {key: np.asarray(entry.get(key, []), dtype=np.int64) for key in ("easy", "hard", "junk")}
        for entry in config["gnd"]
    ]
    boxes = [tuple(float(v) for v in entry["bbx"]) for entry in config["gnd"]]
    return RevisitedSet(name, queries, boxes, database, ground_truth)


def load_eval_dataset(
    name: str, root: str | os.PathLike
) -> ImageList | QueryGallery | RevisitedSet:
    """The evaluation set of a benchmark (its test split), or a whole labelled folder."""
    if name == "folder":
        return scan_labelled_folder(root)
    if name in REVISITED:
        return load_revisited(root, name)
    loaders = {"cub": load_cub, "sop": load_sop, "inshop": load_inshop}
    if name not in loaders:
        raise ValueError(f"unknown dataset {name!r}; expected one of {EVAL_DATASETS}")
    return loaders[name](root, TEST)


def protocol_view(name: str, model_spec: InputSpec) -> EvalView:
    """How dataset `name`'s photos become input for a model whose own spec is `model_spec`.

    - a labelled folder: the model's own spec, exactly what the app does with it;
    - CUB, SOP, In-Shop: the paper's resize (256 for a 224 input) and centre crop, whatever
      resize the model's metadata gives, so every model is measured on the same input;
    - Revisited Oxford / Paris: the paper's square resize of photos and query boxes.
    """
    if name == "folder":
        return EvalView(model_spec)
    if name in REVISITED:
        return EvalView(model_spec, square=True)
    if name in ("cub", "sop", "inshop"):
        return EvalView(recipe_spec(model_spec))
    raise ValueError(f"unknown dataset {name!r}; expected one of {EVAL_DATASETS}")


def _check_split(split: str) -> None:
    if split not in (TRAIN, TEST):
        raise ValueError(f"split must be {TRAIN!r} or {TEST!r}, got {split!r}")


def _split_lines(path: Path, fields: int, *, header: bool = False) -> list[list[str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    lines = path.read_text(encoding="utf-8").splitlines()[1 if header else 0 :]
    rows = [line.split(maxsplit=fields - 1) for line in lines if line.strip()]
    bad = [row for row in rows if len(row) != fields]
    if bad:
        raise ValueError(f"{path}: expected {fields} fields per line, got {bad[0]}")
    return rows


def _labelled(rows: list[tuple[Path, Any]], class_names: list | None = None) -> ImageList:
    """An ImageList from (path, dataset label) rows; labels are numbered by their position in
    `class_names` (default: every label of `rows`, sorted)."""
    _check_exist([path for path, _ in rows])
    class_names = class_names if class_names is not None else sorted({label for _, label in rows})
    number = {label: i for i, label in enumerate(class_names)}
    return ImageList(
        paths=[path for path, _ in rows],
        labels=np.array([number[label] for _, label in rows], dtype=np.int64),
        class_names=[str(name) for name in class_names],
    )


def _check_exist(paths: list[Path]) -> None:
    missing = [path for path in paths if not path.is_file()]
    if missing:
        shown = ", ".join(str(p) for p in missing[:MAX_MISSING_SHOWN])
        raise FileNotFoundError(
            f"{len(missing)} of {len(paths)} listed photos are missing: {shown}"
        )
