"""The int8 variant of a model against the float32 original: indexing speed and agreement.

Measured in one run, on the same photos (flowers60 by default) and DeiT-Small with random
weights, its int8 variant made by `desktop.core.quantize.quantize_int8`:
- indexing photos/s: `Library.sync` into a fresh library, one per model, scan included;
- model only photos/s: each model on the same pre-decoded batch (best of two, interleaved);
- agreement: mean cosine between a photo's int8 and float32 descriptors, and recall@10 of
  the int8 neighbours (every photo as a query, itself left out) against the float32 ones.
With random weights the agreement is only indicative: a trained model's descriptors are
spread differently, and quantisation error may move its neighbours more or less.

    .venv/bin/python bench/int8_vs_fp32.py [--photos 200] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from common import (
    DEFAULT_ARCH,
    DEFAULT_WORK_DIR,
    ensure_model,
    machine_load,
    print_result,
    shared_photos,
    timed_sync,
)

from desktop.core.descriptor_model import DescriptorSession
from desktop.core.images import load_input
from desktop.core.quantize import quantize_int8

K = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--arch", default=DEFAULT_ARCH, help="timm architecture to export")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()

    fp32_path = ensure_model(args.work_dir, args.arch)
    int8_path = fp32_path.with_name(fp32_path.stem + "-int8.onnx")
    if not int8_path.exists():
        started = time.perf_counter()
        quantize_int8(fp32_path, int8_path)
        print(f"quantised to {int8_path} in {time.perf_counter() - started:.1f} s")
    sizes = {p: p.stat().st_size / 2**20 for p in (fp32_path, int8_path)}
    every = shared_photos()  # spread over the classes, so photos have true neighbours
    photos = every[:: max(1, len(every) // args.photos)][: args.photos]
    print(
        f"{os.cpu_count()} CPUs (load average {machine_load()}), {args.arch}, "
        f"{len(photos)} flowers60 photos, files {sizes[fp32_path]:.0f} / {sizes[int8_path]:.0f} MB"
    )

    fp32_only, int8_only = measure_model_only(fp32_path, int8_path, photos, args.batch_size)
    print(f"model only (batch {args.batch_size}): fp32 {fp32_only:.2f}, int8 {int8_only:.2f}")
    fp32_rate, fp32_vectors = timed_sync(fp32_path, photos, args.work_dir, args.batch_size, None)
    int8_rate, int8_vectors = timed_sync(int8_path, photos, args.work_dir, args.batch_size, None)
    print(f"indexing, Library.sync: fp32 {fp32_rate:.2f}, int8 {int8_rate:.2f} photos/s")
    cosine = float((fp32_vectors * int8_vectors).sum(axis=1).mean())
    recall = neighbour_recall(fp32_vectors, int8_vectors, K)
    print(f"agreement: mean cosine {cosine:.4f}, recall@{K} {recall:.3f} (random weights)")
    print_result(
        {
            "ours": round(int8_rate, 2),
            "baseline": round(fp32_rate, 2),
            "ratio": round(int8_rate / fp32_rate, 2),
            "unit": "photos/s",
            "model_only_int8": round(int8_only, 2),
            "model_only_fp32": round(fp32_only, 2),
            "mean_cosine": round(cosine, 4),
            f"recall_at_{K}": round(recall, 3),
            "file_mb_fp32": round(sizes[fp32_path], 1),
            "file_mb_int8": round(sizes[int8_path], 1),
            "photos": len(photos),
            "batch_size": args.batch_size,
            "cpus": os.cpu_count(),
            "load_average_at_end": machine_load(),
        }
    )


def measure_model_only(
    fp32_path: Path, int8_path: Path, photos: list[Path], batch_size: int
) -> tuple[float, float]:
    """Photos/s of each model on one pre-decoded batch, interleaved so load drift hits both."""
    models = [DescriptorSession(fp32_path), DescriptorSession(int8_path)]
    batch = np.stack([load_input(p, models[0].input_spec) for p in photos[:batch_size]])
    best = [0.0, 0.0]
    for model in models:
        model.embed(batch)  # warm-up
    for _ in range(2):
        for i, model in enumerate(models):
            started = time.perf_counter()
            model.embed(batch)
            best[i] = max(best[i], len(batch) / (time.perf_counter() - started))
    return best[0], best[1]


def neighbour_recall(reference: np.ndarray, other: np.ndarray, k: int) -> float:
    """Mean share of each photo's k nearest reference neighbours that `other` also finds."""

    def neighbours(vectors: np.ndarray) -> np.ndarray:
        scores = vectors @ vectors.T
        np.fill_diagonal(scores, -np.inf)  # a photo is not its own neighbour
        return np.argsort(-scores, axis=1)[:, :k]

    expected, found = neighbours(reference), neighbours(other)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(expected, found, strict=True)]))


if __name__ == "__main__":
    main()
