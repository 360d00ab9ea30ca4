"""Browsing a 100,000-photo library without a query: what a page costs, and what it would
cost without the browse indexes.

The library is made through the Catalog API: photo rows only (no files, no descriptors),
spread over 500 folders of one library folder and a small second library folder (1% of the
photos); 85% carry an EXIF date (bursts share one), the rest sort by their file's time, 1%
are skipped files. It measures:
- writing the rows with the browse indexes in place and without them;
- the upgrade of a catalog of the previous schema (building the indexes) and their size;
- every page of `Library.browse` in both orders, whole library and filtered (the small
  folder; one year): median, p95 and worst page in ms;
- the baseline: the same page from a catalog without the indexes (a scan and a sort);
- in the grid (offscreen Qt, the window's view and delegate), loading page after page up to
  1k, 10k and 100k rows: the longest the event loop is kept from running, with rows laid
  out in batches as the window does, against laid out at once (Qt's default).

    .venv/bin/python bench/browse_scale.py [--photos 100000] [--page 200]

Target (issue 10): a page in a few ms at 100k, on a worker thread, whatever its place.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from common import machine_load, median_p95, print_result

from desktop.core.catalog import MIGRATIONS, BrowseOrder, Catalog
from desktop.core.library import CATALOG_FILE, Library
from desktop.core.paths import app_paths
from desktop.core.search import NO_FILTER, SearchFilter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QModelIndex, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QListView  # noqa: E402

from desktop.ui.library_browser import LibraryBrowserModel  # noqa: E402
from desktop.ui.photo_grid import LAYOUT_BATCH  # noqa: E402
from desktop.ui.result_delegate import ResultDelegate  # noqa: E402
from desktop.ui.thumbnails import ThumbnailProvider  # noqa: E402
from desktop.ui.workers import WorkerPool  # noqa: E402

BROWSE_INDEXES = ("photos_browse_taken", "photos_browse_folder")
BROWSE_MIGRATION = next(m for m in MIGRATIONS if BROWSE_INDEXES[0] in m)
BIG, SMALL = "/bench/library", "/bench/small"


def fill(catalog: Catalog, photos: int, seed: int = 0) -> float:
    """Write the photo rows; the seconds it took."""
    rng = random.Random(seed)
    start = datetime(2015, 1, 1)
    big, small = catalog.add_folder(BIG), catalog.add_folder(SMALL)
    started = time.perf_counter()
    with catalog.transaction() as db:
        taken = start
        for number in range(photos):
            if number % 100 == 0:
                folder, path = small, f"{SMALL}/IMG_{number:06d}.jpg"
            else:
                folder, path = big, f"{BIG}/{number % 500:03d}/IMG_{number:06d}.jpg"
            mtime_ns = int((start + timedelta(days=rng.uniform(0, 3650))).timestamp()) * 10**9
            catalog.add_photo(folder.id, path, 3_000_000, mtime_ns, f"fp{number}")
            if rng.random() > 0.3:  # a burst of photos shares one EXIF second otherwise
                taken = start + timedelta(seconds=rng.randrange(3650 * 86400))
            exif = taken.isoformat() if rng.random() < 0.85 else None
            error = "not an image" if rng.random() < 0.01 else None
            db.execute(
                "UPDATE photos SET taken_at = ?, error = ?, width = 4000, height = 3000 "
                "WHERE id = last_insert_rowid()",
                (exif, error),
            )
    return time.perf_counter() - started


def size_mb(path: Path) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("VACUUM")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    return pages * page_size / 2**20


def drop_indexes(path: Path) -> None:
    """The catalog as it would be without the browse migration (its version unchanged, so
    opening it does not build them again)."""
    db = sqlite3.connect(path, isolation_level=None)
    for name in BROWSE_INDEXES:
        db.execute(f"DROP INDEX {name}")
    db.close()


def walk(library: Library, order: BrowseOrder, page: int, filters: SearchFilter) -> list[float]:
    """Every page of the library in `order`: ms per page."""
    times, after = [], None
    while True:
        started = time.perf_counter()
        result = library.browse(order, after, page, filters)
        times.append((time.perf_counter() - started) * 1000)
        if (after := result.next_cursor) is None:
            return times


def grid_stalls(
    library: Library, cache: Path, counts: list[int], batch: int | None
) -> dict[int, float]:
    """Load the library into the grid page by page, as a user scrolling to the end would;
    at each count of rows, the longest the event loop was kept from running (ms).

    The view is set up as the window's results area sets it up; `batch` None lays every
    row out at once (Qt's default), else `batch` rows per event-loop turn as the window does.
    """
    app = QApplication.instance() or QApplication([])
    workers = WorkerPool()
    model = LibraryBrowserModel(library, workers, ThumbnailProvider(cache, 128))
    view = QListView()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)
    view.setSpacing(4)
    if batch is not None:
        view.setLayoutMode(QListView.LayoutMode.Batched)
        view.setBatchSize(batch)
    view.setItemDelegate(ResultDelegate(128, view))
    view.setModel(model)
    view.resize(1000, 700)
    view.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(5)

    def run_events(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()

    stalls: dict[int, float] = {}
    model.browse(BrowseOrder.NEWEST)
    run_events(0.5)
    for count in counts:
        ticks.clear()
        while model.rowCount() < count and (model.fetching or model.canFetchMore(QModelIndex())):
            if not model.fetching:
                model.fetchMore(QModelIndex())
            run_events(0.3)
        run_events(2.0)  # a batched layout finishes meanwhile
        stalls[count] = max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) * 1000
    timer.stop()
    view.close()
    workers.wait()
    return stalls


def grid_costs(library: Library, cache: Path, counts: list[int]) -> dict[str, float]:
    """The longest stall while the grid loads pages: rows laid out at once (the baseline)
    against laid out in batches, as the window does."""
    at_once = grid_stalls(library, cache, counts, None)
    batched = grid_stalls(library, cache, counts, LAYOUT_BATCH)
    figures: dict[str, float] = {}
    for count in counts:
        print(
            f"grid up to {count:,} rows: longest event-loop stall {batched[count]:.0f} ms "
            f"({LAYOUT_BATCH} rows laid out a turn), {at_once[count]:.0f} ms (all at once)"
        )
        figures[f"grid_stall_ms_{count}"] = round(batched[count], 1)
        figures[f"grid_stall_at_once_ms_{count}"] = round(at_once[count], 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=200)
    args = parser.parse_args()
    print(f"{args.photos:,} photos, pages of {args.page} (load average {machine_load()})")

    with tempfile.TemporaryDirectory(prefix="browse-") as tmp:
        work = Path(tmp)
        without = work / "without.sqlite3"
        with Catalog(without) as catalog:  # the schema before browsing, then the rows
            drop_indexes(without)
            write_without = fill(catalog, args.photos)
        home = app_paths(work / "home").create()
        ours = home.data / CATALOG_FILE
        with Catalog(ours) as catalog:
            write_with = fill(catalog, args.photos)
        print(f"writing the rows: {write_with:.2f} s with the browse indexes, "
              f"{write_without:.2f} s without")  # fmt: skip

        upgraded = work / "upgraded.sqlite3"
        shutil.copyfile(without, upgraded)
        before = size_mb(upgraded)
        db = sqlite3.connect(upgraded, isolation_level=None)
        started = time.perf_counter()
        db.executescript(f"BEGIN IMMEDIATE; {BROWSE_MIGRATION}; COMMIT;")
        upgrade_s = time.perf_counter() - started
        db.close()
        after = size_mb(upgraded)
        print(f"upgrade: building the browse indexes takes {upgrade_s:.2f} s; catalog "
              f"{before:.1f} MB -> {after:.1f} MB "
              f"({(after - before) * 2**20 / args.photos:.0f} bytes per photo)")  # fmt: skip

        figures: dict[str, float] = {}
        small = SearchFilter(folder=SMALL)
        year = SearchFilter(date_from="2020-01-01", date_to="2020-12-31")
        with Library(home) as library:
            for order in BrowseOrder:
                for name, filters in (("all", NO_FILTER), ("small folder", small), ("2020", year)):
                    times = walk(library, order, args.page, filters)
                    median, p95 = median_p95(times)
                    print(f"{order.value:>6} {name:>12}: {len(times):>4} pages, median "
                          f"{median:.2f} ms, p95 {p95:.2f}, worst {max(times):.2f}, "
                          f"all {sum(times) / 1000:.2f} s")  # fmt: skip
                    figures[f"{order.value}_{name.replace(' ', '_')}_median_ms"] = round(median, 2)
                    figures[f"{order.value}_{name.replace(' ', '_')}_p95_ms"] = round(p95, 2)
            counts = [c for c in (1_000, 10_000, 100_000) if c <= args.photos]
            figures.update(grid_costs(library, work / "thumbnails", counts))

        baseline_home = app_paths(work / "baseline").create()
        shutil.copyfile(without, baseline_home.data / CATALOG_FILE)
        with Library(baseline_home) as library:
            for order in BrowseOrder:
                first = library.browse(order, None, args.page)
                started = time.perf_counter()
                for _ in range(5):
                    library.browse(order, first.next_cursor, args.page)
                baseline = (time.perf_counter() - started) / 5 * 1000
                print(f"baseline {order.value}: {baseline:.1f} ms a page (no index: scan + sort)")
                figures[f"baseline_{order.value}_ms"] = round(baseline, 1)

    ours_ms = figures["newest_all_median_ms"]
    print_result(
        {
            "ours": ours_ms,
            "baseline": figures["baseline_newest_ms"],
            "ratio": round(figures["baseline_newest_ms"] / ours_ms, 1),
            "unit": "ms per page",
            **figures,
            "upgrade_s": round(upgrade_s, 2),
            "index_mb": round(after - before, 1),
            "write_s_with_indexes": round(write_with, 2),
            "write_s_without": round(write_without, 2),
        }
    )


if __name__ == "__main__":
    main()
