"""Near-duplicates against a known answer: ours and imagededup's PHash, at default settings.

Builds (once, cached under the work dir) a set of photos from ../shared/data/flowers60 with
its own seed: ORIGINALS photos, EDITED of them with COPIES edited copies each, the edits
drawn from EDITS (half size, JPEG quality 30, 85% centre crop, brightness +25%, mirror, 5°
rotation). The truth: an original and its copies are one group; every pair inside a group
is a duplicate pair, every other pair is not.

Ours: `photo-search duplicates` through the Library (a fresh library indexed with the
model, default threshold and settings). The baseline: imagededup's PHash
`find_duplicates` at its default `max_distance_threshold` (10). For each it prints the
pairwise precision, recall and F1 over all pairs of photos, and the recall per edit kind
(is each copy paired with its original?); the last line is JSON with `ours` and
`baseline` (F1) and the details.

    .venv/bin/python bench/duplicates.py [--arch deit_small_patch16_224] [--work-dir .bench]

The model is the seeded random-weight export of `--arch` (bench/common.py), so the figures
say what the method does without pretrained features; `--arch vit_tiny_patch16_224` gives
the tiny model's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import tempfile
from pathlib import Path

from common import DEFAULT_ARCH, DEFAULT_WORK_DIR, ensure_model, print_result, shared_photos
from PIL import Image, ImageEnhance, ImageOps

from desktop.core.library import Library
from desktop.core.paths import app_paths

SEED = 14
ORIGINALS, EDITED, COPIES = 300, 150, 3
SET_VERSION = 1


def half_size(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


def centre_crop(image: Image.Image) -> Image.Image:
    width, height = round(image.width * 0.85), round(image.height * 0.85)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


EDITS = {
    "half_size": (half_size, 92),
    "jpeg_30": (lambda image: image, 30),
    "crop_85": (centre_crop, 92),
    "brightness_25": (lambda image: ImageEnhance.Brightness(image).enhance(1.25), 92),
    "mirror": (ImageOps.mirror, 92),
    "rotate_5": (lambda image: image.rotate(5, Image.Resampling.BICUBIC), 92),
}
"""Each edit: (what it does to the image, the JPEG quality the copy is saved at)."""


def build_set(folder: Path) -> dict[str, dict]:
    """The photos and the truth: for each file, its group and what edit made it (None for an
    original). Written once, the truth beside the folder; a later run reads it."""
    truth_file = folder.with_name(folder.name + "-truth.json")
    if truth_file.exists():
        truth = json.loads(truth_file.read_text())
        if truth.get("version") == SET_VERSION:
            return truth["files"]
    rng = random.Random(SEED)
    originals = rng.sample(shared_photos(), ORIGINALS)
    edited = set(rng.sample(range(ORIGINALS), EDITED))
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict] = {}
    for group, source in enumerate(originals):
        name = f"{group:03d}-original.jpg"
        image = Image.open(source).convert("RGB")
        image.save(folder / name, quality=95)
        files[name] = {"group": group, "edit": None}
        if group in edited:
            for kind in rng.sample(sorted(EDITS), COPIES):
                change, quality = EDITS[kind]
                copy = f"{group:03d}-{kind}.jpg"
                change(image).save(folder / copy, quality=quality)
                files[copy] = {"group": group, "edit": kind}
    truth_file.write_text(json.dumps({"version": SET_VERSION, "files": files}, indent=1))
    return files


def true_pairs(files: dict[str, dict]) -> set[frozenset[str]]:
    groups: dict[int, list[str]] = {}
    for name, entry in files.items():
        groups.setdefault(entry["group"], []).append(name)
    return {frozenset(pair) for g in groups.values() for pair in itertools.combinations(g, 2)}


def scores(predicted: set[frozenset[str]], files: dict[str, dict]) -> dict:
    truth = true_pairs(files)
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    per_edit = {}
    for kind in EDITS:
        copies = [name for name, entry in files.items() if entry["edit"] == kind]
        found = sum(
            frozenset((name, f"{files[name]['group']:03d}-original.jpg")) in predicted
            for name in copies
        )
        per_edit[kind] = round(found / len(copies), 3) if copies else None
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "pairs": len(predicted),
        "recall_per_edit": per_edit,
    }


def ours(folder: Path, model: Path, work_dir: Path) -> set[frozenset[str]]:
    with (
        tempfile.TemporaryDirectory(dir=work_dir, prefix="duplicates-") as home,
        Library(app_paths(home)) as library,
    ):
        library.add_model(model, activate=True)
        library.add_folder(folder)
        library.sync()
        groups = library.duplicates()
    return {
        frozenset((Path(a.path).name, Path(b.path).name))
        for group in groups
        for a, b in itertools.combinations(group, 2)
    }


def baseline(folder: Path) -> set[frozenset[str]]:
    from imagededup.methods import PHash

    found = PHash(verbose=False).find_duplicates(image_dir=str(folder))
    return {frozenset((a, b)) for a, others in found.items() for b in others}


def show(name: str, result: dict) -> None:
    edits = "  ".join(f"{k} {v:.2f}" for k, v in result["recall_per_edit"].items())
    print(
        f"{name:9s} precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
        f"F1 {result['f1']:.3f}  ({result['pairs']} pairs)\n          recall per edit: {edits}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=DEFAULT_ARCH)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()
    folder = args.work_dir / "duplicates" / f"set-seed{SEED}"
    files = build_set(folder)
    photos = sum(1 for name in files)
    print(f"{photos} photos: {ORIGINALS} originals, {EDITED} with {COPIES} edited copies each")
    model = ensure_model(args.work_dir, args.arch)
    result = {
        "arch": args.arch,
        "ours_detail": scores(ours(folder, model, args.work_dir), files),
        "baseline_detail": scores(baseline(folder), files),
    }
    show("ours", result["ours_detail"])
    show("PHash", result["baseline_detail"])
    result["ours"] = result["ours_detail"]["f1"]
    result["baseline"] = result["baseline_detail"]["f1"]
    print_result(result)


if __name__ == "__main__":
    main()
