"""Browsing the library without a query: keyset pages in both orders, filters, skipped files."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from desktop.core.catalog import BrowseCursor, BrowseOrder, Catalog, Photo
from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.core.search import SearchFilter


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite3") as opened:
        yield opened


def add_photos(catalog: Catalog, rows: list[tuple[str, str | None, str | None]]) -> list[Photo]:
    """Photos by (path, EXIF date, error); each file's time is 2001-02-03 plus its number in
    seconds, in UTC."""
    folder = catalog.add_folder("/lib")
    base = int(datetime(2001, 2, 3, tzinfo=timezone.utc).timestamp())
    with catalog.transaction() as db:
        for number, (path, taken_at, error) in enumerate(rows):
            catalog.add_photo(folder.id, path, 1, (base + number) * 10**9, f"f{number}")
            db.execute(
                "UPDATE photos SET taken_at = ?, error = ? WHERE id = last_insert_rowid()",
                (taken_at, error),
            )
    return catalog.photos()


def browse_all(
    catalog: Catalog, order: BrowseOrder, limit: int, **filters
) -> list[tuple[Photo, str]]:
    """Every page, until the last one says there is no next."""
    shown, after = [], None
    while True:
        page = catalog.browse(order, after, limit, **filters)
        assert len(page.photos) <= limit
        shown += [(browsed.photo, browsed.group) for browsed in page.photos]
        if page.next_cursor is None:
            return shown
        after = page.next_cursor


def sort_date(photo: Photo) -> str:
    stamp = datetime.fromtimestamp(photo.mtime_ns // 10**9, timezone.utc)
    return photo.taken_at or stamp.strftime("%Y-%m-%dT%H:%M:%S")


def test_newest_first_pages_hold_every_photo_once_with_ties_by_id(catalog):
    dates = ["2024-05-01T10:00:00", "2023-12-31T23:59:59", None, "2024-05-01T10:00:00"]
    photos = add_photos(catalog, [(f"/lib/{n:02d}.jpg", dates[n % 4], None) for n in range(23)])
    expected = sorted(photos, key=lambda p: (sort_date(p), p.id), reverse=True)

    for limit in (1, 4, 7, 23, 100):
        shown = browse_all(catalog, BrowseOrder.NEWEST, limit)
        assert [photo for photo, _ in shown] == expected
    groups = [group for _, group in browse_all(catalog, BrowseOrder.NEWEST, 5)]
    assert groups == ["2024-05"] * 11 + ["2023-12"] * 6 + ["2001-02"] * 6  # files' time
    assert catalog.browse(BrowseOrder.NEWEST, None, 23).next_cursor is None


def test_folder_order_keeps_each_folder_together(catalog):
    paths = [
        "/lib/b/1.jpg",
        "/lib/a/sub/2.jpg",
        "/lib/a/z.jpg",
        "/lib/a/caf\udce9.jpg",  # a name that is not UTF-8: stored as a BLOB
        "/lib/a/x.jpg",
        "/lib/a-b/3.jpg",
    ]
    add_photos(catalog, [(path, None, None) for path in paths])

    for limit in (1, 2, 6):
        shown = browse_all(catalog, BrowseOrder.FOLDER, limit)
        assert [(photo.path, group) for photo, group in shown] == [
            ("/lib/a/x.jpg", "/lib/a"),
            ("/lib/a/z.jpg", "/lib/a"),
            ("/lib/a/caf\udce9.jpg", "/lib/a"),
            ("/lib/a/sub/2.jpg", "/lib/a/sub"),  # a folder, then its subfolders
            ("/lib/a-b/3.jpg", "/lib/a-b"),  # then a longer name, though "-" < "/"
            ("/lib/b/1.jpg", "/lib/b"),
        ]


def test_skipped_files_are_not_shown(catalog):
    add_photos(
        catalog,
        [
            ("/lib/a.jpg", None, None),
            ("/lib/b.jpg", None, "not an image"),
            ("/lib/c.jpg", None, None),
        ],
    )
    for order in BrowseOrder:
        shown = browse_all(catalog, order, 1)
        assert sorted(photo.path for photo, _ in shown) == ["/lib/a.jpg", "/lib/c.jpg"]


@pytest.mark.parametrize("order", list(BrowseOrder))
def test_a_photo_removed_between_pages_neither_repeats_nor_skips_others(catalog, order):
    photos = add_photos(catalog, [(f"/lib/{n}.jpg", None, None) for n in range(6)])
    first = catalog.browse(order, None, 3)
    assert first.next_cursor.photo_id == first.photos[-1].photo.id
    with catalog.transaction() as db:  # the photo the cursor points at goes
        db.execute("DELETE FROM photos WHERE id = ?", (first.next_cursor.photo_id,))
    rest = catalog.browse(order, first.next_cursor, 10)
    shown = [browsed.photo.id for browsed in first.photos + rest.photos]
    assert sorted(shown) == [photo.id for photo in photos]


def test_a_cursor_continues_only_the_browse_it_came_from(catalog):
    add_photos(catalog, [("/lib/a.jpg", None, None), ("/lib/b.jpg", None, None)])
    cursor = catalog.browse(BrowseOrder.NEWEST, None, 1).next_cursor
    assert isinstance(cursor, BrowseCursor)
    with pytest.raises(ValueError, match="came from"):
        catalog.browse(BrowseOrder.FOLDER, cursor, 1)
    with pytest.raises(ValueError, match="came from"):
        catalog.browse(BrowseOrder.NEWEST, cursor, 1, folder="/lib")


def test_filters_keep_what_search_filters_keep(tmp_path):
    with Library(app_paths(tmp_path / "home")) as library:
        photos = add_photos(
            library.catalog,
            [
                ("/lib/2023/a.jpg", "2023-06-01T08:00:00", None),
                ("/lib/2023/b.jpg", None, None),
                ("/lib/2024/c.jpg", "2024-01-31T23:00:00", None),
                ("/lib/2024/d.jpg", "2024-02-01T00:00:00", None),
                ("/lib/2024x/e.jpg", "2024-01-15T12:00:00", None),
                ("/lib/caf\udce9/f.jpg", "2024-01-02T00:00:00", None),
            ],
        )
        filters = [
            SearchFilter(folder="/lib/2024"),
            SearchFilter(folder="/lib/2024/"),
            SearchFilter(folder="/lib/caf\udce9"),
            SearchFilter(date_from="2024-01-01", date_to="2024-01-31"),
            SearchFilter(date_to="2023"),
            SearchFilter(folder="/lib", date_from="2024-02"),
            SearchFilter(min_score=0.9),  # a cutoff without a query keeps everything
        ]
        for kept in filters:
            for order in BrowseOrder:
                shown, after = [], None
                while True:
                    page = library.browse(order, after, 2, kept)
                    shown += [browsed.photo for browsed in page.photos]
                    if (after := page.next_cursor) is None:
                        break
                expected = [p.id for p in photos if kept.accepts(p)]
                assert sorted(p.id for p in shown) == expected, (kept, order)


@pytest.mark.parametrize("order", list(BrowseOrder))
@pytest.mark.parametrize(
    "filters", [{}, {"folder": "/lib/3"}, {"date_from": "2014-06", "date_to": "2016"}]
)
def test_a_page_is_an_index_range_not_a_scan_and_a_sort(catalog, order, filters):
    dates = [f"20{10 + n % 10}-01-01T00:00:00" for n in range(10)]
    add_photos(catalog, [(f"/lib/{n % 7}/{n}.jpg", dates[n % 10], None) for n in range(200)])
    cursor = catalog.browse(order, None, 5, **filters).next_cursor
    statements: list[str] = []
    catalog._db.set_trace_callback(statements.append)
    catalog.browse(order, cursor, 5, **filters)
    catalog._db.set_trace_callback(None)
    [query] = statements  # the trace shows it with its parameters filled in
    plan = " | ".join(
        row[3] for row in sqlite3.connect(catalog.path).execute(f"EXPLAIN QUERY PLAN {query}")
    )
    index = "photos_browse_taken" if order is BrowseOrder.NEWEST else "photos_browse_folder"
    assert plan.startswith(f"SEARCH photos USING INDEX {index} (<expr>"), plan
    assert "TEMP B-TREE" not in plan, plan
