"""The SQLite catalog: schema migrations, the descriptor change log, atomic transactions."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from desktop.core.catalog import SCHEMA_VERSION, Catalog, CatalogError


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite3") as opened:
        yield opened


def add_photo(catalog: Catalog, folder_id: int, path: str) -> int:
    with catalog.transaction() as db:
        cursor = db.execute(
            "INSERT INTO photos (folder_id, path, size, mtime_ns, fingerprint) VALUES (?,?,?,?,?)",
            (folder_id, path, 10, 1, "f-" + path),
        )
        return cursor.lastrowid


def test_new_catalog_is_at_current_schema_in_wal_mode(catalog):
    db = sqlite3.connect(catalog.path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "c.sqlite3"
    with Catalog(path) as first:
        first.add_folder("/photos")
    with Catalog(path) as second:
        assert [f.path for f in second.folders()] == ["/photos"]


def test_catalog_from_a_newer_app_is_refused(tmp_path):
    path = tmp_path / "c.sqlite3"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(CatalogError, match="newer photo-search"):
        Catalog(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"definitely not a database" * 100)
    with pytest.raises(CatalogError, match="cannot open the catalog"):
        Catalog(path)


def test_descriptor_round_trip_and_change_log(catalog):
    folder = catalog.add_folder("/p")
    model_id = catalog.add_model("hash", "m", "/m.onnx", 3, {})
    a, b = add_photo(catalog, folder.id, "/p/a.jpg"), add_photo(catalog, folder.id, "/p/b.jpg")
    vectors = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    with catalog.transaction() as db:
        catalog.store_descriptors(db, model_id, [a, b], vectors)
    ids, stored = catalog.descriptors(model_id)
    assert list(ids) == [a, b] and np.array_equal(stored, vectors)
    seq, changed = catalog.changes_since(model_id, 0)
    assert changed == [a, b]

    with catalog.transaction() as db:  # replacing a descriptor is a change
        catalog.store_descriptors(db, model_id, [a], np.array([[0, 0, 1]], np.float32))
    seq2, changed = catalog.changes_since(model_id, seq)
    assert changed == [a] and seq2 > seq

    with catalog.transaction() as db:  # deleting the photo cascades and is logged
        db.execute("DELETE FROM photos WHERE id = ?", (b,))
    _, changed = catalog.changes_since(model_id, seq2)
    assert changed == [b]
    assert list(catalog.descriptors(model_id)[0]) == [a]


def test_failed_transaction_leaves_nothing(catalog):
    folder = catalog.add_folder("/p")
    with pytest.raises(RuntimeError), catalog.transaction() as db:
        db.execute(
            "INSERT INTO photos (folder_id, path, size, mtime_ns, fingerprint) VALUES (?,?,?,?,?)",
            (folder.id, "/p/x.jpg", 1, 1, "f"),
        )
        raise RuntimeError("crash in the middle")
    assert catalog.photos() == []


def test_add_model_is_idempotent_by_content_hash(catalog):
    first = catalog.add_model("same", "m", "/a.onnx", 8, {"k": "v"})
    second = catalog.add_model("same", "m", "/b.onnx", 8, {"k": "v"})
    assert first == second
    assert catalog.model(first).path == "/b.onnx"


def test_pruned_change_log_sets_the_floor(catalog):
    folder = catalog.add_folder("/p")
    model_id = catalog.add_model("h", "m", "/m.onnx", 2, {})
    photo = add_photo(catalog, folder.id, "/p/a.jpg")
    with catalog.transaction() as db:
        catalog.store_descriptors(db, model_id, [photo], np.ones((1, 2), np.float32))
    latest = catalog.latest_change_for(model_id)
    catalog.prune_changes(model_id, latest)
    assert catalog.changes_floor(model_id) == latest
    assert catalog.changes_since(model_id, 0) == (0, [])
    assert catalog.latest_change_for(model_id) == latest


def test_a_full_disk_is_a_clear_error_and_loses_nothing(catalog):
    folder = catalog.add_folder("/p")
    add_photo(catalog, folder.id, "/p/kept.jpg")
    pages = catalog._db.execute("PRAGMA page_count").fetchone()[0]
    catalog._db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: full
    with pytest.raises(CatalogError, match="full"), catalog.transaction() as db:
        db.executemany(
            "INSERT INTO photos (folder_id, path, size, mtime_ns, fingerprint) VALUES (?,?,?,?,?)",
            [(folder.id, f"/p/{n}-{'x' * 200}.jpg", 1, 1, "f") for n in range(2000)],
        )
    assert [p.path for p in catalog.photos()] == ["/p/kept.jpg"]
