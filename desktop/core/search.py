"""Search by example over a vector index: top-k with filters."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from desktop.core.catalog import Catalog, Photo
from desktop.core.vector_index import VectorIndex


@dataclass(frozen=True)
class SearchResult:
    photo: Photo
    score: float
    """Cosine similarity between the query and the photo's descriptor, in [-1, 1]."""


@dataclass(frozen=True)
class SearchFilter:
    """Which results to keep. Dates are ISO 8601 prefixes, compared with the EXIF date."""

    min_score: float = -1.0
    folder: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def accepts(self, photo: Photo) -> bool:
        if self.folder is not None:
            folder = self.folder.rstrip(os.sep)
            if not photo.path.startswith(folder + os.sep):
                return False
        if self.date_from or self.date_to:
            if photo.taken_at is None:
                return False
            if self.date_from and photo.taken_at < self.date_from:
                return False
            if self.date_to and photo.taken_at[: len(self.date_to)] > self.date_to:
                return False
        return True


NO_FILTER = SearchFilter()


def combine(descriptors: np.ndarray) -> np.ndarray:
    """One query from several descriptors: their mean, L2-normalised."""
    mean = np.asarray(descriptors, np.float32).reshape(-1, descriptors.shape[-1]).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


def top_k(
    index: VectorIndex,
    catalog: Catalog,
    query: np.ndarray,
    k: int,
    filters: SearchFilter = NO_FILTER,
    exclude: Iterable[int] = (),
) -> list[SearchResult]:
    """The `k` best photos for `query` that pass `filters`, best first.

    Filters are applied after the vector search; when they reject many candidates the search
    is repeated with a larger k until enough pass or the whole index has been ranked.
    """
    excluded = set(exclude)
    fetch = k + len(excluded)
    while True:
        scores, ids = index.search(query, fetch)
        hits = [(float(s), int(i)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]
        ranked = [(s, i) for s, i in hits if s >= filters.min_score and i not in excluded]
        photos = catalog.photos_by_ids([i for _, i in ranked])
        results: list[SearchResult] = []
        for score, photo_id in ranked:
            photo = photos.get(photo_id)
            if photo is not None and filters.accepts(photo):
                results.append(SearchResult(photo, score))
                if len(results) == k:
                    return results
        below_cutoff = any(s < filters.min_score for s, _ in hits)
        if below_cutoff or len(hits) < fetch or fetch >= index.size:
            return results
        fetch *= 4
