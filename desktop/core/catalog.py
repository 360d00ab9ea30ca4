"""The catalog: one SQLite file that is the source of truth for folders, photos and models.

Descriptors are stored per (photo, model) as float32 blobs, one row each in a rowid table on
8 KiB pages so a 384-d vector stays inside its page. Every change to them is logged by
triggers in `descriptor_changes`, so a vector index (a cache of the descriptors) can catch up
with exactly what changed since it was saved, in this process or another one. The schema is
versioned with `PRAGMA user_version` and migrated forward on open; WAL mode lets the GUI read
while the indexer writes. A catalog that cannot be written (read-only media or permissions) is
opened read-only: it can be searched, and every write raises `CatalogError`.

Paths are stored as TEXT, except a path that is not valid UTF-8 (a file name with bytes
that do not decode, which Python carries as lone surrogates): that one is stored as a BLOB
that `_path_from_db` turns back into exactly the same str. Every path bound or read goes
through `_path_to_db` / `_path_from_db`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.paths import display_path

log = logging.getLogger(__name__)

_TAKEN = "COALESCE(taken_at, strftime('%Y-%m-%dT%H:%M:%S', mtime_ns / 1000000000, 'unixepoch'))"
"""SQL for when a photo was taken: its EXIF date, else its file's modification time in UTC
(an index cannot hold local time)."""


def _directory_sql(path: str) -> str:
    """SQL for the folder of the path `path` (SQL): the path up to its last separator, each
    separator made char(1), so a folder sorts before its subfolders and both before a
    sibling with a longer name ("a", "a/sub", "a-b")."""
    return f"replace(rtrim({path}, replace({path}, '{os.sep}', '')), '{os.sep}', char(1))"


_DIRECTORY = _directory_sql("path")

_CHANGE_LOG_TRIGGERS = """
    CREATE TRIGGER descriptors_insert AFTER INSERT ON descriptors BEGIN
        INSERT INTO descriptor_changes (model_id, photo_id) VALUES (NEW.model_id, NEW.photo_id);
    END;
    CREATE TRIGGER descriptors_update AFTER UPDATE ON descriptors BEGIN
        INSERT INTO descriptor_changes (model_id, photo_id) VALUES (NEW.model_id, NEW.photo_id);
    END;
    CREATE TRIGGER descriptors_delete AFTER DELETE ON descriptors BEGIN
        INSERT INTO descriptor_changes (model_id, photo_id) VALUES (OLD.model_id, OLD.photo_id);
    END;
"""
"""Every change to a descriptor is logged; a migration that rebuilds the table makes them
again (dropping a table drops its triggers)."""

MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE folders (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at REAL NOT NULL,
        last_scan REAL,
        online INTEGER NOT NULL DEFAULT 1,
        scan_error TEXT
    );
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        taken_at TEXT,
        error TEXT
    );
    CREATE INDEX photos_folder ON photos(folder_id);
    CREATE INDEX photos_fingerprint ON photos(fingerprint);
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        dim INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        added_at REAL NOT NULL
    );
    CREATE TABLE descriptors (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        vector BLOB NOT NULL,
        PRIMARY KEY (photo_id, model_id)
    ) WITHOUT ROWID;
    CREATE INDEX descriptors_model ON descriptors(model_id);
    CREATE TABLE descriptor_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id INTEGER NOT NULL,
        photo_id INTEGER NOT NULL
    );
    CREATE INDEX descriptor_changes_model ON descriptor_changes(model_id, seq);
    {_CHANGE_LOG_TRIGGERS}
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # Browsing: one index per order, so a page is a range read, never a scan and a sort.
    # A query uses them only when it repeats the expression and `error IS NULL` exactly.
    # The path rides along in the date index: a folder filter is checked in the index.
    f"""
    CREATE INDEX photos_browse_taken ON photos({_TAKEN}, id, path) WHERE error IS NULL;
    CREATE INDEX photos_browse_folder ON photos({_DIRECTORY}, path) WHERE error IS NULL;
    """,
    # Descriptors move to a rowid table: in the WITHOUT ROWID one a 1.5 KB vector spilled
    # into overflow pages (5 KB on disk per photo, and slow counting queries). The change
    # log and its numbers are kept, so a saved vector index still catches up. Skipped
    # photos get a partial index for the counts; no query reads photos by fingerprint.
    f"""
    CREATE TABLE descriptor_rows (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        vector BLOB NOT NULL
    );
    INSERT INTO descriptor_rows (photo_id, model_id, vector)
        SELECT d.photo_id, d.model_id, d.vector FROM descriptors d
        JOIN photos p ON p.id = d.photo_id JOIN models m ON m.id = d.model_id
        ORDER BY d.model_id, d.photo_id;
    DROP TABLE descriptors;
    ALTER TABLE descriptor_rows RENAME TO descriptors;
    CREATE UNIQUE INDEX descriptors_model_photo ON descriptors(model_id, photo_id);
    CREATE INDEX descriptors_photo ON descriptors(photo_id);
    CREATE INDEX photos_skipped ON photos(error) WHERE error IS NOT NULL;
    DROP INDEX photos_fingerprint;
    {_CHANGE_LOG_TRIGGERS}
    """,
    # Labels the user gives photos ("my dog"): they hang on the photo's row, which a move or
    # a rename keeps and re-indexing never touches, so they follow the photo.
    """
    CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at REAL NOT NULL
    );
    CREATE TABLE photo_labels (
        label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        PRIMARY KEY (label_id, photo_id)
    ) WITHOUT ROWID;
    CREATE INDEX photo_labels_photo ON photo_labels(photo_id);
    """,
    # Perceptual hashes of each photo and of its mirror image (perceptual_hash.py), for
    # near-duplicates: NULL until the indexer decodes the photo (photos indexed before this
    # migration get theirs on the next sync).
    """
    ALTER TABLE photos ADD COLUMN phash INTEGER;
    ALTER TABLE photos ADD COLUMN phash_mirror INTEGER;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
PAGE_SIZE = 8192
"""Bytes per page. A row of a 384-d float32 descriptor (~1.55 KB) must fit a page: five fit
in 8 KiB, where 4 KiB pages (SQLite's default) hold two and waste a quarter of the file."""

ACTIVE_MODEL = "active_model"
SERVING_MODEL = "serving_model"


class CatalogError(Exception):
    """The catalog file cannot be opened, is newer than this app, or cannot be written."""


def _path_to_db(path: str) -> str | bytes:
    """TEXT for a valid UTF-8 path; otherwise a BLOB that keeps its lone surrogates.

    `surrogatepass` (not `surrogateescape`) encodes every lone surrogate, so the mapping is
    total and exactly reversible, Windows names with unpaired UTF-16 halves included. A BLOB
    never equals a TEXT in SQLite, and only paths that are not valid UTF-8 become BLOBs, so
    each path has one stored form and lookups by path stay exact.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogatepass")
    return path


def _path_from_db(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class Folder:
    id: int
    path: str
    online: bool
    last_scan: float | None
    """When a scan last changed the folder's state (online, problems); None while offline."""
    scan_error: str | None


@dataclass(frozen=True, slots=True)
class Photo:
    id: int
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    fingerprint: str
    width: int | None
    height: int | None
    taken_at: str | None
    error: str | None


def _folder(row: Sequence[Any]) -> Folder:
    return Folder(row[0], _path_from_db(row[1]), bool(row[2]), row[3], row[4])


def _photo(row: Sequence[Any]) -> Photo:
    return Photo(row[0], row[1], _path_from_db(row[2]), *row[3:])


class BrowseOrder(Enum):
    """How the library is looked through without a query."""

    NEWEST = "newest"
    """Newest first by the date taken (the file's time when it has none); ties by id."""
    FOLDER = "folder"
    """By the folder a photo is in, then by path."""


@dataclass(frozen=True)
class BrowseCursor:
    """Where a page ended: its last photo's place in the order, as the catalog compares it."""

    order: BrowseOrder
    filters: tuple[str | None, str | None, str | None]
    """The folder, date_from and date_to of the pages it continues."""
    key: str | bytes
    """NEWEST: the date the photo is sorted by; FOLDER: its path as stored."""
    photo_id: int


@dataclass(frozen=True)
class BrowsedPhoto:
    photo: Photo
    group: str
    """What the photo is shown under: its month ("2024-05") or its folder."""


@dataclass(frozen=True)
class BrowsePage:
    photos: list[BrowsedPhoto]
    next_cursor: BrowseCursor | None
    """Where the next page starts; None on the last page."""


@dataclass(frozen=True)
class Label:
    id: int
    name: str
    count: int
    """Photos carrying it."""


MAX_LABEL_LENGTH = 100


def clean_label_name(name: str) -> str:
    """A label name as stored: trimmed, one line, not empty, not overlong."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("a label needs a name")
    if len(cleaned) > MAX_LABEL_LENGTH:
        raise ValueError(f"a label name has at most {MAX_LABEL_LENGTH} characters")
    return cleaned


@dataclass(frozen=True)
class ModelRecord:
    id: int
    content_hash: str
    name: str
    path: str
    dim: int
    metadata: dict[str, Any]


class Catalog:
    """A connection to the catalog file.

    Writing has one rule: every method that writes is atomic on its own, and writes made
    inside `with catalog.transaction():` commit together or not at all (a method called
    there joins that transaction). Nothing outside this class writes SQL.

    A connection may be used from several threads only one at a time (the Library holds a
    lock around it); concurrent work, such as indexing, opens a connection of its own.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"cannot create the folder of {self.path}: {exc}") from exc
        self.read_only = not _writable(self.path)
        """True when the catalog file or its folder cannot be written (read-only media,
        permissions): searching works, changes raise CatalogError."""
        self._depth = 0
        """How many `transaction()` blocks are open on this connection."""
        try:
            if self.read_only:
                self._db = self._connect_read_only()
            else:
                self._db = _connect(self.path)
                self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file's; else inert
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"cannot open the catalog {self.path}: {exc}") from exc

    def _connect_read_only(self) -> sqlite3.Connection:
        """Open with `mode=ro`; failing that, as immutable.

        A WAL database is read through its -shm file, which a reader must be able to create
        when it is missing (sqlite.org/wal.html, read-only databases). On read-only media
        after a clean close there is none and none can be made: `immutable=1` reads the
        file without it. It is only the fallback, because it would ignore a -wal file.
        """
        uri = self.path.resolve().as_uri() + "?mode=ro"
        db = _connect(uri, uri=True)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            db.close()
            return _connect(uri + "&immutable=1", uri=True)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all. Inside
        another transaction it joins that one, which commits or rolls back the whole."""
        if self.read_only:
            raise CatalogError(f"the catalog {self.path} is read-only: it cannot be changed")
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
        except sqlite3.OperationalError as exc:  # disk full, read-only disk, locked too long
            raise CatalogError(f"cannot write the catalog {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path} was written by a newer photo-search (schema {version}); "
                f"this version reads schema {SCHEMA_VERSION} and older"
            )
        if version < SCHEMA_VERSION and self.read_only:
            raise CatalogError(
                f"{self.path} is read-only and needs an upgrade (schema {version} to "
                f"{SCHEMA_VERSION}): open it once where it can be written"
            )
        for number in range(version, SCHEMA_VERSION):
            try:
                self._db.executescript(
                    f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; "
                    f"PRAGMA user_version = {number + 1}; COMMIT;"
                )
            except sqlite3.Error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        if version < SCHEMA_VERSION and self._page_size() < PAGE_SIZE:
            self._compact()

    def _page_size(self) -> int:
        return self._db.execute("PRAGMA page_size").fetchone()[0]

    def _compact(self) -> None:
        """Rewrite the file on PAGE_SIZE pages, which also returns the space a migration
        freed. The page size of a WAL database changes only out of WAL mode; when another
        connection keeps that from happening, the catalog works as it is and the next
        open tries again."""
        try:
            self._db.execute("PRAGMA journal_mode=DELETE")
            self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
            self._db.execute("VACUUM")
        except sqlite3.OperationalError as exc:
            log.warning("could not compact the catalog %s: %s", self.path, exc)
        finally:
            self._db.execute("PRAGMA journal_mode=WAL")

    # settings ------------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str | None) -> None:
        """Store a setting (None removes it); a value already stored writes nothing."""
        if self.get_setting(key) == value:
            return
        with self.transaction() as db:
            if value is None:
                db.execute("DELETE FROM settings WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value)
                )

    # folders -------------------------------------------------------------------------------

    def add_folder(self, path: str) -> Folder:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO folders (path, added_at) VALUES (?, ?)",
                (_path_to_db(path), time.time()),
            )
        return self.folder_by_path(path)

    def remove_folder(self, folder_id: int) -> None:
        """Forget a folder and its photos (the files on disk are not touched)."""
        with self.transaction() as db:
            db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))

    def folders(self) -> list[Folder]:
        rows = self._db.execute(
            "SELECT id, path, online, last_scan, scan_error FROM folders ORDER BY path"
        ).fetchall()
        return [_folder(row) for row in rows]

    def folder_by_path(self, path: str) -> Folder:
        row = self._db.execute(
            "SELECT id, path, online, last_scan, scan_error FROM folders WHERE path = ?",
            (_path_to_db(path),),
        ).fetchone()
        if row is None:
            raise KeyError(path)
        return _folder(row)

    def set_folder_state(self, folder_id: int, online: bool, scan_error: str | None) -> None:
        """Record whether a folder is online and what in it could not be read; the same
        state as stored writes nothing. `scan_error` is a message that names paths: it is
        stored as text, with names as `display_path` shows them."""
        stored = display_path(scan_error) if scan_error else None
        row = self._db.execute(
            "SELECT online, scan_error FROM folders WHERE id = ?", (folder_id,)
        ).fetchone()
        if row is not None and (bool(row[0]), row[1]) == (online, stored):
            return
        with self.transaction() as db:
            db.execute(
                "UPDATE folders SET online = ?, scan_error = ?, last_scan = ? WHERE id = ?",
                (int(online), stored, time.time() if online else None, folder_id),
            )

    # photos --------------------------------------------------------------------------------

    _PHOTO_COLUMNS = (
        "id, folder_id, path, size, mtime_ns, fingerprint, width, height, taken_at, error"
    )

    def photos(self, folder_id: int | None = None) -> list[Photo]:
        if folder_id is None:
            rows = self._db.execute(f"SELECT {self._PHOTO_COLUMNS} FROM photos ORDER BY id")
        else:
            rows = self._db.execute(
                f"SELECT {self._PHOTO_COLUMNS} FROM photos WHERE folder_id = ? ORDER BY id",
                (folder_id,),
            )
        return [_photo(row) for row in rows.fetchall()]

    def photo(self, photo_id: int) -> Photo | None:
        row = self._db.execute(
            f"SELECT {self._PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)
        ).fetchone()
        return _photo(row) if row else None

    def photo_by_path(self, path: str) -> Photo | None:
        row = self._db.execute(
            f"SELECT {self._PHOTO_COLUMNS} FROM photos WHERE path = ?", (_path_to_db(path),)
        ).fetchone()
        return _photo(row) if row else None

    def add_photo(
        self, folder_id: int, path: str, size: int, mtime_ns: int, fingerprint: str
    ) -> int:
        """A new photo file, not embedded yet; returns its id."""
        with self.transaction() as db:
            return db.execute(
                "INSERT INTO photos (folder_id, path, size, mtime_ns, fingerprint) "
                "VALUES (?, ?, ?, ?, ?)",
                (folder_id, _path_to_db(path), size, mtime_ns, fingerprint),
            ).lastrowid

    def move_photo(
        self, photo_id: int, folder_id: int, path: str, size: int, mtime_ns: int
    ) -> None:
        """A photo found under a new path with the same content keeps its descriptors."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET path = ?, folder_id = ?, size = ?, mtime_ns = ? WHERE id = ?",
                (_path_to_db(path), folder_id, size, mtime_ns, photo_id),
            )

    def touch_photo(self, photo_id: int, size: int, mtime_ns: int) -> None:
        """A file whose size or time changed but whose content did not: it keeps its
        descriptors."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET size = ?, mtime_ns = ? WHERE id = ?",
                (size, mtime_ns, photo_id),
            )

    def replace_content(self, photo_id: int, size: int, mtime_ns: int, fingerprint: str) -> None:
        """A file with new content under the same path: what was known of it (descriptors
        of every model, size, date, why it failed) goes, so it is embedded again."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET size = ?, mtime_ns = ?, fingerprint = ?, width = NULL, "
                "height = NULL, taken_at = NULL, error = NULL WHERE id = ?",
                (size, mtime_ns, fingerprint, photo_id),
            )
            db.execute("DELETE FROM descriptors WHERE photo_id = ?", (photo_id,))

    def remove_photos(self, photo_ids: Iterable[int]) -> None:
        """Forget photos whose files are gone, with their descriptors."""
        with self.transaction() as db:
            db.executemany("DELETE FROM photos WHERE id = ?", [(int(i),) for i in photo_ids])

    def set_photo_info(
        self, infos: Iterable[tuple[int, int, int, str | None, tuple[int, int] | None]]
    ) -> None:
        """(photo id, width, height, EXIF date, (hash, mirror hash) or None) of photos just
        decoded, which clears any earlier failure."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET width = ?, height = ?, taken_at = ?, error = NULL, "
                "phash = ?, phash_mirror = ? WHERE id = ?",
                [
                    (width, height, taken, *(hashes or (None, None)), photo_id)
                    for photo_id, width, height, taken, hashes in infos
                ],
            )

    def mark_failed(self, failures: Iterable[tuple[int, str]]) -> None:
        """Record why photos (by id) cannot be used. A reason is a message that may name
        the file: it is stored as text, with names as `display_path` shows them."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET error = ? WHERE id = ?",
                [(display_path(reason), photo_id) for photo_id, reason in failures],
            )

    def file_states(self) -> Iterator[tuple[int, int, str, int, int]]:
        """(id, folder id, path, size, mtime_ns) of every photo, as a sync compares them with
        the files it finds."""
        rows = self._db.execute("SELECT id, folder_id, path, size, mtime_ns FROM photos")
        for photo_id, folder_id, path, size, mtime_ns in rows:
            yield photo_id, folder_id, _path_from_db(path), size, mtime_ns

    def photos_by_ids(self, ids: Sequence[int]) -> dict[int, Photo]:
        found: dict[int, Photo] = {}
        for start in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {self._PHOTO_COLUMNS} FROM photos WHERE id IN ({marks})", chunk
            )
            found.update((row[0], _photo(row)) for row in rows)
        return found

    def perceptual_hashes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, hashes, mirror hashes), int64 [N] each, of the photos that have them."""
        rows = self._db.execute(
            "SELECT id, phash, phash_mirror FROM photos WHERE phash IS NOT NULL ORDER BY id"
        ).fetchall()
        table = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return table[:, 0], table[:, 1], table[:, 2]

    def skipped_photos(self) -> list[Photo]:
        rows = self._db.execute(  # the partial index, not a scan of every photo in path order
            f"SELECT {self._PHOTO_COLUMNS} FROM photos INDEXED BY photos_skipped "
            "WHERE error IS NOT NULL ORDER BY path"
        )
        return [_photo(row) for row in rows.fetchall()]

    def photos_missing_descriptor(self, model_id: int) -> list[Photo]:
        """Photos of online folders, not marked as failing, that have no descriptor yet."""
        rows = self._db.execute(
            f"""SELECT {", ".join("p." + c for c in self._PHOTO_COLUMNS.split(", "))}
                FROM photos p JOIN folders f ON f.id = p.folder_id
                WHERE f.online = 1 AND p.error IS NULL AND NOT EXISTS (
                    SELECT 1 FROM descriptors d WHERE d.photo_id = p.id AND d.model_id = ?)
                ORDER BY p.id""",
            (model_id,),
        )
        return [_photo(row) for row in rows.fetchall()]

    def photos_missing_hash(self) -> list[Photo]:
        """Photos of online folders, decoded before, that have no perceptual hash yet."""
        rows = self._db.execute(
            f"""SELECT {", ".join("p." + c for c in self._PHOTO_COLUMNS.split(", "))}
                FROM photos p JOIN folders f ON f.id = p.folder_id
                WHERE f.online = 1 AND p.error IS NULL AND p.width IS NOT NULL
                    AND p.phash IS NULL
                ORDER BY p.id"""
        )
        return [_photo(row) for row in rows.fetchall()]

    def set_hashes(self, hashes: Iterable[tuple[int, tuple[int, int]]]) -> None:
        """(photo id, (hash, mirror hash)) of photos hashed on their own."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET phash = ?, phash_mirror = ? WHERE id = ?",
                [(found[0], found[1], photo_id) for photo_id, found in hashes],
            )

    def count_missing_descriptors(self, model_id: int) -> int:
        """How many photos `photos_missing_descriptor` would return.

        Counted from index entries alone, never photo by photo (100 ms at 100k photos):
        all photos, less those with a descriptor, less the excluded ones (skipped, or in an
        offline folder), plus the excluded ones with a descriptor, counted twice otherwise.
        """
        return self._db.execute(
            """WITH excluded AS (
                   SELECT id FROM photos INDEXED BY photos_skipped WHERE error IS NOT NULL
                   UNION
                   SELECT id FROM photos
                   WHERE folder_id IN (SELECT id FROM folders WHERE online = 0))
               SELECT (SELECT COUNT(*) FROM photos)
                    - (SELECT COUNT(*) FROM descriptors WHERE model_id = :model)
                    - (SELECT COUNT(*) FROM excluded)
                    + (SELECT COUNT(*) FROM descriptors
                       WHERE model_id = :model AND photo_id IN excluded)""",
            {"model": model_id},
        ).fetchone()[0]

    def browse(
        self,
        order: BrowseOrder,
        after: BrowseCursor | None,
        limit: int,
        *,
        folder: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> BrowsePage:
        """Up to `limit` photos in `order`, from `after` (None: from the start), skipped
        files left out; `folder`, `date_from` and `date_to` keep what `SearchFilter` keeps.

        Pages are keyset ranges of the order's index: one costs the same on page 1 as on
        page 500, and photos added or removed between pages neither repeat nor shift others.
        """
        if limit < 1:
            raise ValueError(f"a page holds at least one photo, not {limit}")
        filters = (folder, date_from, date_to)
        if after is not None and (after.order, after.filters) != (order, filters):
            raise ValueError("a cursor continues only the browse it came from")
        conditions, params = _browse_conditions(order, after, folder, date_from, date_to)
        sort = f"{_TAKEN} DESC, id DESC" if order is BrowseOrder.NEWEST else f"{_DIRECTORY}, path"
        rows = self._db.execute(
            f"""SELECT {self._PHOTO_COLUMNS}, {_TAKEN} FROM photos
                WHERE {" AND ".join(conditions)} ORDER BY {sort} LIMIT :limit""",
            {**params, "limit": limit + 1},
        ).fetchall()
        photos = [BrowsedPhoto(_photo(row[:-1]), _group(order, row)) for row in rows[:limit]]
        if len(rows) <= limit:
            return BrowsePage(photos, None)
        last = rows[limit - 1]
        key = last[-1] if order is BrowseOrder.NEWEST else last[2]
        return BrowsePage(photos, BrowseCursor(order, filters, key, last[0]))

    def counts(self) -> dict[str, int]:
        """Photos (indexed or still to index), skipped files (recorded with the reason they
        cannot be used) and folders. A skipped file is not a photo."""
        files = self._db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        skipped = self._db.execute(  # both counts read an index, not the table
            "SELECT COUNT(*) FROM photos WHERE error IS NOT NULL"
        ).fetchone()[0]
        return {"photos": files - skipped, "skipped": skipped, "folders": len(self.folders())}

    # labels --------------------------------------------------------------------------------

    def create_label(self, name: str) -> Label:
        """A new label; the name is unique regardless of case."""
        name = clean_label_name(name)
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM labels WHERE name = ?", (name,)).fetchone():
                raise ValueError(f"there is already a label named {name!r}")
            label_id = db.execute(
                "INSERT INTO labels (name, created_at) VALUES (?, ?)", (name, time.time())
            ).lastrowid
        return Label(label_id, name, 0)

    def rename_label(self, label_id: int, name: str) -> None:
        name = clean_label_name(name)
        with self.transaction() as db:
            clash = db.execute(
                "SELECT 1 FROM labels WHERE name = ? AND id != ?", (name, label_id)
            ).fetchone()
            if clash:
                raise ValueError(f"there is already a label named {name!r}")
            db.execute("UPDATE labels SET name = ? WHERE id = ?", (name, label_id))

    def delete_label(self, label_id: int) -> None:
        """Forget a label; its photos stay."""
        with self.transaction() as db:
            db.execute("DELETE FROM labels WHERE id = ?", (label_id,))

    def labels(self) -> list[Label]:
        """Every label with its number of photos, by name."""
        rows = self._db.execute(
            """SELECT l.id, l.name, COUNT(pl.photo_id) FROM labels l
               LEFT JOIN photo_labels pl ON pl.label_id = l.id
               GROUP BY l.id ORDER BY l.name COLLATE NOCASE"""
        ).fetchall()
        return [Label(*row) for row in rows]

    def label(self, label_id: int) -> Label | None:
        return next((label for label in self.labels() if label.id == label_id), None)

    def label_by_name(self, name: str) -> Label | None:
        """The label `name` names once cleaned as `create_label` cleans it, any case."""
        try:
            name = clean_label_name(name)
        except ValueError:
            return None
        row = self._db.execute("SELECT id FROM labels WHERE name = ?", (name,)).fetchone()
        return self.label(row[0]) if row else None

    def add_to_label(self, label_id: int, photo_ids: Iterable[int]) -> int:
        """Give photos a label; returns how many did not have it yet."""
        with self.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO photo_labels (label_id, photo_id) VALUES (?, ?)",
                [(label_id, int(photo_id)) for photo_id in photo_ids],
            )
            return db.total_changes - before

    def remove_from_label(self, label_id: int, photo_ids: Iterable[int]) -> None:
        with self.transaction() as db:
            db.executemany(
                "DELETE FROM photo_labels WHERE label_id = ? AND photo_id = ?",
                [(label_id, int(photo_id)) for photo_id in photo_ids],
            )

    def label_photos(self, label_id: int) -> list[Photo]:
        """A label's photos, by path."""
        rows = self._db.execute(
            f"""SELECT {self._PHOTO_COLUMNS} FROM photos WHERE id IN
                (SELECT photo_id FROM photo_labels WHERE label_id = ?) ORDER BY path""",
            (label_id,),
        )
        return [_photo(row) for row in rows]

    def labels_of(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        """The label names of each photo that has any, by name."""
        found: dict[int, list[str]] = {}
        for start in range(0, len(photo_ids), 500):
            chunk = [int(i) for i in photo_ids[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"""SELECT pl.photo_id, l.name FROM photo_labels pl
                    JOIN labels l ON l.id = pl.label_id
                    WHERE pl.photo_id IN ({marks}) ORDER BY l.name COLLATE NOCASE""",
                chunk,
            )
            for photo_id, name in rows:
                found.setdefault(photo_id, []).append(name)
        return found

    # models --------------------------------------------------------------------------------

    def add_model(self, content_hash: str, name: str, path: str, dim: int, metadata: dict) -> int:
        """Register a model (idempotent by content hash; the path is updated) and return its id."""
        with self.transaction() as db:
            db.execute(
                """INSERT INTO models (content_hash, name, path, dim, metadata, added_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (content_hash) DO UPDATE SET path = excluded.path""",
                (content_hash, name, _path_to_db(path), dim, json.dumps(metadata), time.time()),
            )
            return db.execute(
                "SELECT id FROM models WHERE content_hash = ?", (content_hash,)
            ).fetchone()[0]

    def models(self) -> list[ModelRecord]:
        rows = self._db.execute(
            "SELECT id, content_hash, name, path, dim, metadata FROM models ORDER BY id"
        ).fetchall()
        return [
            ModelRecord(r[0], r[1], r[2], _path_from_db(r[3]), r[4], json.loads(r[5])) for r in rows
        ]

    def model(self, model_id: int) -> ModelRecord | None:
        return next((m for m in self.models() if m.id == model_id), None)

    def model_setting(self, key: str) -> int | None:
        value = self.get_setting(key)
        return int(value) if value is not None else None

    def descriptor_count(self, model_id: int) -> int:
        return self._db.execute(
            "SELECT COUNT(*) FROM descriptors WHERE model_id = ?", (model_id,)
        ).fetchone()[0]

    # descriptors ---------------------------------------------------------------------------

    def descriptors(
        self, model_id: int, photo_ids: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64 [N], vectors float32 [N, D]) for a model, all or the given photos."""
        if photo_ids is None:
            rows = self._db.execute(
                "SELECT photo_id, vector FROM descriptors WHERE model_id = ? ORDER BY photo_id",
                (model_id,),
            )
            return self._stack(model_id, rows)
        chunks = (
            [int(i) for i in photo_ids[start : start + 500]]
            for start in range(0, len(photo_ids), 500)
        )
        rows = (
            row
            for chunk in chunks
            for row in self._db.execute(
                f"""SELECT photo_id, vector FROM descriptors
                    WHERE model_id = ? AND photo_id IN ({",".join("?" * len(chunk))})""",
                [model_id, *chunk],
            )
        )
        return self._stack(model_id, rows)

    def iter_descriptors(
        self, model_id: int, chunk: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`descriptors(model_id)` a chunk at a time, for readers that need not hold them all."""
        rows = self._db.execute(
            "SELECT photo_id, vector FROM descriptors WHERE model_id = ? ORDER BY photo_id",
            (model_id,),
        )
        while batch := rows.fetchmany(chunk):
            yield self._stack(model_id, batch)

    def descriptor_ids(self, model_id: int) -> np.ndarray:
        """The ids of the photos a model has descriptors of, ascending."""
        rows = self._db.execute(
            "SELECT photo_id FROM descriptors WHERE model_id = ? ORDER BY photo_id", (model_id,)
        )
        return np.fromiter((row[0] for row in rows), dtype=np.int64)

    def _stack(
        self, model_id: int, rows: Iterable[tuple[int, bytes]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of (photo id, blob) rows, the blobs copied once into one buffer
        (a bytearray grows in place, where joining a list of blobs holds them twice)."""
        ids = array("q")
        data = bytearray()
        for photo_id, blob in rows:
            ids.append(photo_id)
            data += blob
        dim = len(data) // 4 // len(ids) if ids else self.model(model_id).dim
        vectors = np.frombuffer(data, dtype=np.float32).reshape(len(ids), dim)
        return np.frombuffer(ids, dtype=np.int64), vectors

    def store_descriptors(
        self, model_id: int, photo_ids: Iterable[int], vectors: np.ndarray
    ) -> None:
        """Store (or replace) the descriptors of photos for a model."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO descriptors (photo_id, model_id, vector) VALUES (?, ?, ?) "
                "ON CONFLICT (model_id, photo_id) DO UPDATE SET vector = excluded.vector",
                [
                    (int(pid), model_id, np.ascontiguousarray(v, np.float32).tobytes())
                    for pid, v in zip(photo_ids, vectors, strict=True)
                ],
            )

    def changes_since(self, model_id: int, seq: int) -> tuple[int, list[int]]:
        """(latest change number, photo ids whose descriptor changed after `seq`)."""
        rows = self._db.execute(
            "SELECT seq, photo_id FROM descriptor_changes WHERE model_id = ? AND seq > ? "
            "ORDER BY seq",
            (model_id, seq),
        ).fetchall()
        latest = rows[-1][0] if rows else seq
        return latest, sorted({r[1] for r in rows})

    def latest_change_for(self, model_id: int) -> int:
        """The newest change number that concerns `model_id` (0 when none)."""
        row = self._db.execute(
            "SELECT MAX(seq) FROM descriptor_changes WHERE model_id = ?", (model_id,)
        ).fetchone()
        return max(row[0] or 0, self.changes_floor(model_id))

    def changes_floor(self, model_id: int) -> int:
        """Changes up to this number were pruned: an index older than it must be reloaded."""
        return int(self.get_setting(f"changes_floor.{model_id}") or 0)

    def prune_changes(self, model_id: int, upto: int) -> None:
        """Drop the change log up to `upto`, once an index saved at that point exists.
        A log already pruned that far writes nothing."""
        if upto <= self.changes_floor(model_id):
            return
        with self.transaction() as db:
            db.execute(
                "DELETE FROM descriptor_changes WHERE model_id = ? AND seq <= ?", (model_id, upto)
            )
            self.set_setting(f"changes_floor.{model_id}", str(upto))


def _browse_conditions(
    order: BrowseOrder,
    after: BrowseCursor | None,
    folder: str | None,
    date_from: str | None,
    date_to: str | None,
) -> tuple[list[str], dict[str, object]]:
    """SQL conditions for a page: after the cursor, keeping what `SearchFilter.accepts`
    keeps, skipped files left out.

    What can be is a range of the order's index. SQLite reads one bound per side, so a
    filter's bound on the cursor's side is written on the first page only: the cursor came
    from the same filters and lies within it.
    """
    conditions = ["error IS NULL"]
    params: dict[str, object] = {}
    if folder is not None:
        folder = folder.rstrip(os.sep)
        prefix = (folder + os.sep).encode("utf-8", "surrogatepass")
        conditions.append("substr(CAST(path AS BLOB), 1, :prefix_size) = :prefix")
        params.update(prefix=prefix, prefix_size=len(prefix), folder=_path_to_db(folder))
    if date_from or date_to:  # an EXIF date is needed; with one, it is what _TAKEN is
        conditions.append("taken_at IS NOT NULL")
        params.update(date_from=date_from, date_to_end=date_to and _next_prefix(date_to))
    if order is BrowseOrder.NEWEST:
        if date_from:
            conditions.append(f"{_TAKEN} >= :date_from")
        if date_to and after is None:
            conditions.append(f"{_TAKEN} < :date_to_end")
        if after is not None:
            conditions.append(f"{_TAKEN} <= :key AND ({_TAKEN} < :key OR id < :id)")
    else:
        if date_from:
            conditions.append("taken_at >= :date_from")
        if date_to:
            conditions.append("taken_at < :date_to_end")
        if folder is not None:  # the folder's subtree, as a range of the folder index
            inside = f"replace(:folder, '{os.sep}', char(1))"
            conditions.append(f"{_DIRECTORY} < {inside} || char(2)")
            if after is None:
                conditions.append(f"{_DIRECTORY} >= {inside} || char(1)")
        if after is not None:  # the cursor's folder, computed as the index computes it
            last = _directory_sql(":key")
            conditions.append(f"{_DIRECTORY} >= {last} AND ({_DIRECTORY} > {last} OR path > :key)")
    if after is not None:
        params.update(key=after.key, id=after.photo_id)
    return conditions, params


def _next_prefix(text: str) -> str:
    """The first string after every string that starts with `text`: a date up to and
    including the day, month or year it names is before it."""
    return text[:-1] + chr(ord(text[-1]) + 1)


def _group(order: BrowseOrder, row: Sequence[Any]) -> str:
    """The group of a browse row (photo columns, then its date as sorted)."""
    if order is BrowseOrder.FOLDER:
        return os.path.dirname(_path_from_db(row[2]))
    return row[-1][:7]


def _connect(target: str | Path, *, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(
        target, timeout=30.0, isolation_level=None, check_same_thread=False, uri=uri
    )


def _writable(path: Path) -> bool:
    """Whether the catalog can be written: the file, and its folder (for the -wal and -shm
    files of WAL mode). access() sees read-only mounts as well as permissions."""
    folder_ok = os.access(path.parent, os.W_OK)
    return folder_ok and (not path.exists() or os.access(path, os.W_OK))
