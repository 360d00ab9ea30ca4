"""A query by example and its outcome: the one search flow the CLI and the window run.

A query names what it is like: images (files, encoded bytes or decoded images), photos
already in the library, or both forgotten and only a vector kept. Photos the user marked
good or bad in its results refine it (`desktop.core.feedback`) each time it runs; the vector
it carries stays the unrefined one, so marks can change without drifting. `Library.run_query` turns
it into a vector with the serving model, ranks the library and returns the outcome, whose
`query` carries that vector: running it again (a filter changed, more results wanted) ranks
without embedding anything, as long as the same model still serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from desktop.core.catalog import Photo
from desktop.core.images import ImageSource
from desktop.core.search import SearchResult


@dataclass(frozen=True)
class Query:
    images: Sequence[ImageSource] = ()
    """Query images; several are searched as their combined look."""
    photos: Sequence[Photo | int | str] = ()
    """Library photos (objects, ids or paths), searched from their stored descriptors and
    left out of the results."""
    vector: np.ndarray | None = field(default=None, compare=False)
    """The query's descriptor, once computed, for `model_id`."""
    model_id: int | None = None
    exclude: tuple[int, ...] = ()
    """Photo ids never returned (the query's own photos)."""
    good: tuple[int, ...] = ()
    """Photo ids marked as what the user means."""
    bad: tuple[int, ...] = ()
    """Photo ids marked as not what the user means."""

    @property
    def empty(self) -> bool:
        return not self.images and not self.photos and self.vector is None

    def embedded_with(self, model_id: int) -> bool:
        """Whether the vector this query carries belongs to `model_id`."""
        return self.vector is not None and self.model_id == model_id

    def with_vector(self, vector: np.ndarray, model_id: int, exclude: Sequence[int]) -> Query:
        return replace(self, vector=vector, model_id=model_id, exclude=tuple(exclude))

    def with_marks(self, good: Sequence[int], bad: Sequence[int]) -> Query:
        """The same query with these photos marked (a photo is good or bad, not both)."""
        good_ids = tuple(dict.fromkeys(int(i) for i in good))
        bad_ids = tuple(i for i in dict.fromkeys(int(i) for i in bad) if i not in good_ids)
        return replace(self, good=good_ids, bad=bad_ids)


@dataclass(frozen=True)
class QueryOutcome:
    query: Query
    """The query that was run, carrying its vector for the model that answered it."""
    results: list[SearchResult]
    seconds: float
    """Time from the query to ranked results (embedding included)."""
