"""The search flow the window runs: the active query, its worker, and re-ranking on filters.

Every way to ask (files, an image, a region, library photos) becomes a `Query` run by
`Library.run_query`, the path the CLI takes too. The outcome's query carries its vector, so
a filter change re-ranks without embedding again. Only the latest query is shown: a slower
earlier one that finishes last is dropped.

Results the user marks good or bad (relevance feedback) belong to the active query: each
mark ranks it again at once with `Query.with_marks`, from stored descriptors, keeping the
filters; a new query starts without marks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from desktop.core.catalog import Photo
from desktop.core.library import Library
from desktop.core.paths import display_path
from desktop.core.queries import Query, QueryOutcome
from desktop.core.search import NO_FILTER, SearchFilter
from desktop.ui.image_io import encode_png, read_preview
from desktop.ui.workers import WorkerPool, error_text


class Mark(Enum):
    """What the user says of a result: what they mean, not what they mean, or nothing."""

    GOOD = "good"
    BAD = "bad"
    NONE = "none"


@dataclass(frozen=True)
class QueryImage:
    """One image of the query as the query panel shows it."""

    label: str
    image: QImage


@dataclass(frozen=True)
class SearchOutcome:
    """What the results show once a query ran."""

    caption: str
    """The query in words ("Photos like image_0042.jpg")."""
    outcome: QueryOutcome
    images: list[QueryImage] | None
    """The query's images to show; None when the shown ones stay (a re-rank, a region)."""
    reranked: bool = False
    """The same query ranked again (filters, marks): the results' selection may stay."""


@dataclass(frozen=True)
class _Request:
    caption: str
    build: Callable[[], Query]
    """Makes the query, in the worker (encoding a pasted image takes time)."""
    images: Callable[[], list[QueryImage]] | None


class SearchController(QObject):
    searching = Signal(str)
    """A query started (its caption)."""
    shown = Signal(object)
    """The latest query's SearchOutcome."""
    failed = Signal(str)
    """The latest query failed: why, in words."""
    finished = Signal()
    """The latest query is over (after `shown` or `failed`)."""

    def __init__(self, library: Library, workers: WorkerPool, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.workers = workers
        self.filters: SearchFilter = NO_FILTER
        self.top = 20
        self._request: _Request | None = None
        """The active query: what a filter change runs again."""
        self.shown_query = Query()
        """The query the results show, carrying its vector."""
        self.good: tuple[int, ...] = ()
        """Photos the user marked as what they mean, for the active query."""
        self.bad: tuple[int, ...] = ()
        self._generation = 0

    @property
    def active(self) -> bool:
        return self._request is not None

    def search_files(self, paths: Sequence[str]) -> None:
        """Photos from disk (several: their combined look); none: nothing to do."""
        paths = list(paths)
        if not paths:
            return
        self._ask(
            _Request(
                f"Photos like {_names(paths)}",
                lambda: Query(images=paths),
                lambda: [QueryImage(os.path.basename(p), read_preview(p)) for p in paths],
            )
        )

    def search_image(self, image: QImage, label: str) -> None:
        """An image that is not a file (pasted or dropped image data)."""
        self._ask(
            _Request(
                f"Photos like the {label}",
                lambda: Query(images=[encode_png(image)]),
                lambda: [QueryImage(label, image)],
            )
        )

    def search_region(self, region: QImage) -> None:
        """The part of the query image the user selected; the whole image stays shown."""
        caption = f"Photos like the selected region ({region.width()} x {region.height()})"
        self._ask(_Request(caption, lambda: Query(images=[encode_png(region)]), None))

    def find_similar(self, photos: Sequence[Photo]) -> None:
        """Photos already in the library, from their stored descriptors."""
        paths = [p.path for p in photos]
        ids = [p.id for p in photos]
        self._ask(
            _Request(
                f"Photos similar to {_names(paths)}",
                lambda: Query(photos=ids),
                lambda: [QueryImage(os.path.basename(p), read_preview(p)) for p in paths],
            )
        )

    def set_filters(self, filters: SearchFilter, top: int) -> None:
        """New filters or result count: the active query is ranked again."""
        self.filters, self.top = filters, top
        self.rerun()

    def rerun(self) -> None:
        """Rank the active query again (the library changed, or the filters)."""
        if self._request is not None:
            self._start(self._request)

    def mark(self, photo_ids: Sequence[int], mark: Mark) -> None:
        """Mark results good or bad (or neither), then rank the active query again."""
        ids = {int(i) for i in photo_ids}
        good = tuple(i for i in self.good if i not in ids)
        bad = tuple(i for i in self.bad if i not in ids)
        if mark is Mark.GOOD:
            good += tuple(sorted(ids))
        elif mark is Mark.BAD:
            bad += tuple(sorted(ids))
        self._set_marks(good, bad)

    def clear_marks(self) -> None:
        self._set_marks((), ())

    def _set_marks(self, good: tuple[int, ...], bad: tuple[int, ...]) -> None:
        if self._request is not None and (good, bad) != (self.good, self.bad):
            self.good, self.bad = good, bad
            self._start(self._request)

    def clear(self) -> None:
        self._request, self.shown_query = None, Query()
        self.good, self.bad = (), ()
        self._generation += 1

    def prepare(self) -> None:
        """Get the serving model and its index ready in the background, before the first
        query; a failure here is the first query's to report."""
        library = self.library
        self.workers.start(lambda progress, cancel: library.prepare_queries())

    def _ask(self, request: _Request) -> None:
        """A new query: the marks were the last one's."""
        self.good, self.bad = (), ()
        self._start(request)

    def _start(self, request: _Request) -> None:
        reranked = request is self._request
        self._request = request
        self._generation += 1
        generation, top, filters, library = self._generation, self.top, self.filters, self.library
        good, bad = self.good, self.bad
        caption = _marked(request.caption, good, bad)
        self.searching.emit(caption)

        def task(progress, cancel) -> tuple[QueryOutcome, list[QueryImage] | None]:
            query = request.build().with_marks(good, bad)
            outcome = library.run_query(query, top=top, filters=filters)
            return outcome, request.images() if request.images else None

        def finished(result: tuple[QueryOutcome, list[QueryImage] | None]) -> None:
            if generation != self._generation:
                return  # a newer query replaced this one
            outcome, images = result
            # from now on the query is its vector: filter changes re-rank without embedding
            self._request = _Request(request.caption, lambda: outcome.query, None)
            self.shown_query = outcome.query
            self.shown.emit(SearchOutcome(caption, outcome, images, reranked))
            self.finished.emit()

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.failed.emit(error_text(exc))
                self.finished.emit()

        self.workers.start(task, on_finished=finished, on_error=failed)


def _marked(caption: str, good: Sequence[int], bad: Sequence[int]) -> str:
    """The caption, saying how the marks refine the query."""
    marks = [f"{len(ids)} {word}" for ids, word in ((good, "good"), (bad, "bad")) if ids]
    return f"{caption}, refined by {' and '.join(marks)}" if marks else caption


def _names(paths: Sequence[str]) -> str:
    return display_path(", ".join(os.path.basename(p) for p in paths))
