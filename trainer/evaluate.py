"""Retrieval metrics: Recall@K and MAP@R (all-vs-all or query/gallery), revisited mAP.

Neighbours come from an exact faiss `IndexFlatIP` searched in batches of queries, and each
batch is scored as soon as it is found, so memory stays at (batch x K) however large the
dataset: 60k SOP photos fit easily.

- Recall@K: a query is a hit when one of its K nearest neighbours (itself excluded) shares
  its label.
- MAP@R (Musgrave et al., "A Metric Learning Reality Check", 2020): with R the number of
  photos sharing the query's label, the mean over the first R neighbours of precision@i at
  each relevant position, divided by R.
Queries whose label has no other photo to find are left out of both, as
pytorch-metric-learning's AccuracyCalculator does; their number is reported.
- Revisited Oxford / Paris (Radenovic et al. 2018): mAP in the Medium protocol (easy and
  hard photos are positives) and the Hard one (hard photos only, easy ones count as junk);
  junk photos are removed from the ranking before the average precision, exactly as the
  authors' `compute_map`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import faiss
import numpy as np

from trainer.data.benchmarks import QueryGallery, RevisitedSet
from trainer.data.folder import ImageList

DEFAULT_KS = {
    "folder": (1, 2, 4, 8),
    "cub": (1, 2, 4, 8),
    "sop": (1, 10, 100, 1000),
    "inshop": (1, 10, 20, 30, 40, 50),
}
"""The K of Recall@K each benchmark is usually reported at."""

SEARCH_BUDGET = 1 << 23
"""Neighbour entries (queries x K) held at once."""

Embed = Callable[[list[Path], list[tuple[float, float, float, float]] | None], np.ndarray]
"""Descriptors [N, D] of photos (optionally cropped to boxes), in order."""


def retrieval_metrics(
    descriptors: np.ndarray,
    labels: np.ndarray,
    ks: Sequence[int] = (1, 2, 4, 8),
    *,
    gallery: np.ndarray | None = None,
    gallery_labels: np.ndarray | None = None,
) -> dict[str, float]:
    """`recall@K` for each K and `map@r` of every query against the others (or the gallery).

    Also returns `queries`: how many queries had at least one photo of their label to find.
    """
    queries, query_labels = _as_float32(descriptors), np.asarray(labels)
    all_vs_all = gallery is None
    if all_vs_all:
        gallery, gallery_labels = queries, query_labels
    gallery, gallery_labels = _as_float32(gallery), np.asarray(gallery_labels)
    classes, counts = np.unique(gallery_labels, return_counts=True)
    relevant = np.zeros(len(query_labels), dtype=np.int64)
    known = np.isin(query_labels, classes)
    relevant[known] = counts[np.searchsorted(classes, query_labels[known])]
    if all_vs_all:
        relevant -= 1
    if relevant.max(initial=0) == 0:
        raise ValueError("no query has another photo of its label to find")
    num_results = min(max(max(ks), int(relevant.max())), len(gallery) - all_vs_all)
    hits = {k: 0 for k in ks}
    ap_sum, scored = 0.0, 0
    for start, neighbours in _search(queries, gallery, num_results, exclude_self=all_vs_all):
        stop = start + len(neighbours)
        r = relevant[start:stop]
        keep = r > 0
        match = gallery_labels[neighbours] == query_labels[start:stop, None]
        match, r = match[keep], r[keep]
        for k in ks:
            hits[k] += int(match[:, :k].any(axis=1).sum())
        ranks = np.arange(1, match.shape[1] + 1)
        precision = np.cumsum(match, axis=1) / ranks
        within_r = ranks[None, :] <= r[:, None]
        ap_sum += float(((precision * match * within_r).sum(axis=1) / r).sum())
        scored += int(keep.sum())
    metrics = {f"recall@{k}": hits[k] / scored for k in ks}
    metrics["map@r"] = ap_sum / scored
    metrics["queries"] = scored
    return metrics


def recall_at_k(
    descriptors: np.ndarray,
    labels: np.ndarray,
    ks: Sequence[int] = (1, 2, 4, 8),
    *,
    gallery: np.ndarray | None = None,
    gallery_labels: np.ndarray | None = None,
) -> dict[int, float]:
    """{K: fraction of queries with a same-label photo among their K nearest neighbours}."""
    metrics = retrieval_metrics(
        descriptors, labels, ks, gallery=gallery, gallery_labels=gallery_labels
    )
    return {k: metrics[f"recall@{k}"] for k in ks}


def map_at_r(
    descriptors: np.ndarray,
    labels: np.ndarray,
    *,
    gallery: np.ndarray | None = None,
    gallery_labels: np.ndarray | None = None,
) -> float:
    """Mean average precision at R (Musgrave et al. 2020)."""
    metrics = retrieval_metrics(
        descriptors, labels, (1,), gallery=gallery, gallery_labels=gallery_labels
    )
    return metrics["map@r"]


def revisited_average_precision(
    ranking: np.ndarray, positives: np.ndarray, junk: np.ndarray
) -> float:
    """Average precision of a full ranking (database indices, best first), junk ignored.

    The precision at each positive is interpolated between the ranks just before and at
    it, as in revisitop's `compute_ap`.
    """
    position = np.empty(len(ranking), dtype=np.int64)
    position[ranking] = np.arange(len(ranking))
    positive_ranks = np.sort(position[positives])
    junk_ranks = np.sort(position[junk])
    ranks = positive_ranks - np.searchsorted(junk_ranks, positive_ranks)
    found = np.arange(len(ranks))
    before = np.where(ranks == 0, 1.0, found / np.maximum(ranks, 1))
    at = (found + 1) / (ranks + 1)
    return float(((before + at) / 2).sum() / len(positives))


def revisited_map(
    query_descriptors: np.ndarray,
    database_descriptors: np.ndarray,
    ground_truth: list[dict[str, np.ndarray]],
) -> dict[str, float]:
    """`map_medium` and `map_hard` of the revisited Oxford / Paris protocol."""
    if len(ground_truth) != len(query_descriptors):
        raise ValueError(f"{len(query_descriptors)} queries but {len(ground_truth)} truths")
    database = _as_float32(database_descriptors)
    aps: dict[str, list[float]] = {"medium": [], "hard": []}
    for start, rankings in _search(
        _as_float32(query_descriptors), database, len(database), exclude_self=False
    ):
        for offset, ranking in enumerate(rankings):
            truth = ground_truth[start + offset]
            protocols = {
                "medium": (np.concatenate([truth["easy"], truth["hard"]]), truth["junk"]),
                "hard": (truth["hard"], np.concatenate([truth["junk"], truth["easy"]])),
            }
            for name, (positives, junk) in protocols.items():
                if len(positives):
                    aps[name].append(revisited_average_precision(ranking, positives, junk))
    return {f"map_{name}": float(np.mean(values)) for name, values in aps.items() if values}


def evaluate_dataset(
    dataset: ImageList | QueryGallery | RevisitedSet,
    embed: Embed,
    ks: Sequence[int] = (1, 2, 4, 8),
) -> dict[str, float]:
    """Embed a benchmark's photos with `embed` and score them with its protocol."""
    if isinstance(dataset, RevisitedSet):
        queries = embed(dataset.queries, dataset.boxes)
        return revisited_map(queries, embed(dataset.database, None), dataset.ground_truth)
    if isinstance(dataset, QueryGallery):
        return retrieval_metrics(
            embed(dataset.query.paths, None),
            dataset.query.labels,
            ks,
            gallery=embed(dataset.gallery.paths, None),
            gallery_labels=dataset.gallery.labels,
        )
    return retrieval_metrics(embed(dataset.paths, None), dataset.labels, ks)


def _search(
    queries: np.ndarray, gallery: np.ndarray, k: int, *, exclude_self: bool
) -> Iterator[tuple[int, np.ndarray]]:
    """(first query, neighbour ids [batch, k]) in batches; with `exclude_self`, the queries
    are the gallery and each query's own entry is dropped from its neighbours."""
    index = faiss.IndexFlatIP(gallery.shape[1])
    index.add(gallery)
    extra = 1 if exclude_self else 0
    batch = max(1, SEARCH_BUDGET // (k + extra))
    for start in range(0, len(queries), batch):
        _, ids = index.search(queries[start : start + batch], k + extra)
        if exclude_self:
            own = ids == np.arange(start, start + len(ids))[:, None]
            own[~own.any(axis=1), -1] = True  # not found among k + 1: drop the farthest
            ids = ids[~own].reshape(len(ids), k)
        yield start, ids


def _as_float32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)
