"""Relevance feedback, played by a user on labelled photos: how much one round of marks helps.

The library holds flowers60 (60 labels x 20 real photos), indexed with a model. Every photo
queries the others through `Library.run_query` (the window's and the CLI's path); the user
looks at the first 10 results once and marks the ones of the query's label good (and, in
the second variant, the others bad); the query runs again with those marks. Before and
after, in the same run:

- precision@20 and mAP over the whole ranking (the marked photos included, as the user sees
  the list), and
- the same over the residual ranking: the 10 photos the user judged are left out, so only
  what the marks brought up from further down counts (the fair figure: marking a photo
  good cannot by itself make it relevant).

    .venv/bin/python bench/feedback.py [--model FILE.onnx] [--queries N]

Without --model it uses the seeded random-weight DeiT-Small of the other benchmarks (a weak
model: what feedback gives on top of it is the point). The library is kept under the work
dir and reused. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_ARCH, DEFAULT_WORK_DIR, ensure_model, print_result, shared_photos

from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.core.queries import Query

SEEN = 10
"""Results the user looks at and marks."""
PRECISION_AT = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="an ONNX model (default: random DeiT-S)")
    parser.add_argument("--queries", type=int, default=0, help="queries (default: every photo)")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    return parser.parse_args()


def indexed_library(work_dir: Path, model_path: Path) -> tuple[Library, dict[int, str]]:
    """The flowers60 library indexed with the model, and each photo's label by id."""
    home = work_dir / "feedback" / model_path.stem
    folder = work_dir / "feedback" / "flowers60"
    if not folder.exists():
        for photo in shared_photos():
            target = folder / photo.parent.name / photo.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(photo, target)
            except OSError:
                shutil.copyfile(photo, target)
    library = Library(app_paths(home))
    library.add_folder(folder)
    library.add_model(model_path, activate=True)
    started = time.perf_counter()
    report = library.sync()
    if report.embedded:
        print(f"indexed {report.embedded} photos in {time.perf_counter() - started:.0f} s")
    label_of = {p.id: Path(p.path).parent.name for p in library.catalog.photos()}
    return library, label_of


def scores(ranking: list[int], relevant: set[int]) -> tuple[float, float]:
    """(precision@20, average precision) of a ranking of photo ids."""
    hits = np.array([photo in relevant for photo in ranking], dtype=np.float64)
    precision_at = hits[:PRECISION_AT].mean() if len(hits) else 0.0
    if not relevant:
        return float(precision_at), 0.0
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at), float((precisions * hits).sum() / len(relevant))


def main() -> None:
    args = parse_args()
    model_path = args.model or ensure_model(args.work_dir, DEFAULT_ARCH)
    library, label_of = indexed_library(args.work_dir, model_path)
    photos = sorted(label_of)
    if args.queries:
        photos = photos[:: max(1, len(photos) // args.queries)][: args.queries]
    variants = ("good", "good+bad")
    figures = {
        name: {key: [] for key in ("p20", "ap", "p20_residual", "ap_residual")}
        for name in ("before", *variants)
    }
    started = time.perf_counter()
    rerank_seconds = []
    with library:
        for query_id in photos:
            label = label_of[query_id]
            relevant = {i for i, name in label_of.items() if name == label and i != query_id}
            first = library.run_query(Query(photos=[query_id]), top=len(label_of))
            ranking = [r.photo.id for r in first.results]
            seen = ranking[:SEEN]
            good = [i for i in seen if i in relevant]
            bad = [i for i in seen if i not in relevant]
            rankings = {"before": ranking}
            for name, marks in (("good", (good, [])), ("good+bad", (good, bad))):
                tick = time.perf_counter()
                outcome = library.run_query(first.query.with_marks(*marks), top=len(label_of))
                rerank_seconds.append(time.perf_counter() - tick)
                rankings[name] = [r.photo.id for r in outcome.results]
            residual_relevant = relevant - set(seen)
            for name, order in rankings.items():
                p20, ap = scores(order, relevant)
                residual = [i for i in order if i not in set(seen)]
                p20_r, ap_r = scores(residual, residual_relevant)
                for key, value in zip(figures[name], (p20, ap, p20_r, ap_r), strict=True):
                    figures[name][key].append(value)
    means = {
        name: {key: round(float(np.mean(values)), 4) for key, values in by_key.items()}
        for name, by_key in figures.items()
    }
    print(
        f"{len(photos)} queries on {len(label_of)} photos ({model_path.name}), marks on the "
        f"first {SEEN} results, in {time.perf_counter() - started:.0f} s; a re-rank took "
        f"{1000 * float(np.median(rerank_seconds)):.1f} ms (median)"
    )
    print(f"{'':10} {'P@20':>8} {'mAP':>8} {'P@20 residual':>14} {'mAP residual':>13}")
    for name, row in means.items():
        print(
            f"{name:10} {row['p20']:8.4f} {row['ap']:8.4f} {row['p20_residual']:14.4f} "
            f"{row['ap_residual']:13.4f}"
        )
    print_result(
        {
            "queries": len(photos),
            "photos": len(label_of),
            "model": model_path.name,
            "seen": SEEN,
            "rerank_ms_median": round(1000 * float(np.median(rerank_seconds)), 2),
            **means,
        }
    )


if __name__ == "__main__":
    main()
