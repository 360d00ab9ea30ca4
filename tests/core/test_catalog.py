"""The SQLite catalog: schema migrations, the descriptor change log, atomic transactions."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from desktop.core.catalog import MIGRATIONS, PAGE_SIZE, SCHEMA_VERSION, Catalog, CatalogError
from desktop.core.vector_index import VectorIndex


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite3") as opened:
        yield opened


def add_photo(catalog: Catalog, folder_id: int, path: str) -> int:
    return catalog.add_photo(folder_id, path, 10, 1, "f-" + path)


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
    catalog.store_descriptors(model_id, [a, b], vectors)
    ids, stored = catalog.descriptors(model_id)
    assert list(ids) == [a, b] and np.array_equal(stored, vectors)
    seq, changed = catalog.changes_since(model_id, 0)
    assert changed == [a, b]

    catalog.store_descriptors(model_id, [a], np.array([[0, 0, 1]], np.float32))  # a change
    seq2, changed = catalog.changes_since(model_id, seq)
    assert changed == [a] and seq2 > seq

    catalog.remove_photos([b])  # deleting the photo cascades and is logged
    _, changed = catalog.changes_since(model_id, seq2)
    assert changed == [b]
    assert list(catalog.descriptors(model_id)[0]) == [a]


def test_failed_transaction_leaves_nothing(catalog):
    folder = catalog.add_folder("/p")
    with pytest.raises(RuntimeError), catalog.transaction():
        catalog.add_photo(folder.id, "/p/x.jpg", 1, 1, "f")
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
    catalog.store_descriptors(model_id, [photo], np.ones((1, 2), np.float32))
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
    with pytest.raises(CatalogError, match="full"), catalog.transaction():
        for n in range(2000):
            catalog.add_photo(folder.id, f"/p/{n}-{'x' * 200}.jpg", 1, 1, "f")
    assert [p.path for p in catalog.photos()] == ["/p/kept.jpg"]


def test_writes_inside_a_transaction_commit_together_or_not_at_all(catalog):
    folder = catalog.add_folder("/p")
    with pytest.raises(RuntimeError), catalog.transaction():
        photo = add_photo(catalog, folder.id, "/p/a.jpg")  # joins the open transaction
        catalog.mark_failed([(photo, "broken")])
        raise RuntimeError("crash after two writes")
    assert catalog.photos() == []
    with catalog.transaction():
        photo = add_photo(catalog, folder.id, "/p/a.jpg")
        catalog.mark_failed([(photo, "broken")])
    assert [p.error for p in catalog.photos()] == ["broken"]


def test_count_of_missing_descriptors_matches_the_photos_to_embed(catalog):
    online, offline = catalog.add_folder("/on"), catalog.add_folder("/off")
    model, other = (catalog.add_model(h, h, f"/{h}.onnx", 2, {}) for h in ("m", "o"))
    photos = {name: add_photo(catalog, online.id, f"/on/{name}.jpg") for name in "abcde"}
    photos |= {name: add_photo(catalog, offline.id, f"/off/{name}.jpg") for name in "xy"}
    vector = np.ones((1, 2), np.float32)
    for name in "abxd":  # d has a descriptor and is skipped, x is offline with one
        catalog.store_descriptors(model, [photos[name]], vector)
    catalog.store_descriptors(other, [photos["c"]], vector)
    catalog.mark_failed([(photos["d"], "broken"), (photos["e"], "broken")])
    catalog.set_folder_state(offline.id, False, None)

    expected = [photos["c"]]  # online, not skipped, no descriptor of `model`
    assert [p.id for p in catalog.photos_missing_descriptor(model)] == expected
    assert catalog.count_missing_descriptors(model) == 1
    assert catalog.count_missing_descriptors(other) == len(catalog.photos_missing_descriptor(other))


def v1_catalog(path) -> None:
    """A catalog as the first schema wrote it, with descriptors and a change log."""
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute("INSERT INTO folders (path, added_at) VALUES ('/p', 0)")
    db.execute(
        "INSERT INTO models (content_hash, name, path, dim, metadata, added_at) "
        "VALUES ('h', 'm', '/m.onnx', 384, '{}', 0)"
    )
    vectors = np.random.default_rng(0).normal(size=(30, 384)).astype(np.float32)
    for number, vector in enumerate(vectors, 1):
        db.execute(
            "INSERT INTO photos (folder_id, path, size, mtime_ns, fingerprint) "
            "VALUES (1, ?, 1, 1, ?)",
            (f"/p/{number}.jpg", f"f{number}"),
        )
        db.execute(
            "INSERT INTO descriptors (photo_id, model_id, vector) VALUES (?, 1, ?)",
            (number, vector.tobytes()),
        )
    db.commit()
    db.close()


def test_migration_keeps_descriptors_and_the_change_log_a_saved_index_needs(tmp_path):
    path = tmp_path / "old.sqlite3"
    v1_catalog(path)
    old = sqlite3.connect(path)
    old.execute("PRAGMA foreign_keys = ON")
    stored = dict(old.execute("SELECT photo_id, vector FROM descriptors").fetchall())
    saved_at = old.execute("SELECT MAX(seq) FROM descriptor_changes").fetchone()[0]
    ids = np.array(sorted(stored), np.int64)
    vectors = np.stack([np.frombuffer(stored[i], np.float32) for i in ids])
    VectorIndex.build(1, 384, ids, vectors, saved_at).save(tmp_path / "index")
    changed = np.random.default_rng(1).normal(size=384).astype(np.float32)
    old.execute("UPDATE descriptors SET vector = ? WHERE photo_id = 3", (changed.tobytes(),))
    old.execute("DELETE FROM photos WHERE id = 4")  # cascades to its descriptor
    old.commit()
    old.close()

    with Catalog(path) as catalog:  # migrates
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        migrated_ids, migrated = catalog.descriptors(1)
        assert migrated_ids.tolist() == [i for i in ids.tolist() if i != 4]
        assert np.array_equal(migrated[2], changed)
        assert np.array_equal(migrated[3:], vectors[4:])

        index = VectorIndex.load(tmp_path / "index", 1)
        assert index.catch_up(catalog) == 2  # photos 3 and 4 changed since it was saved
        rebuilt = VectorIndex.from_catalog(catalog, 1)
        queries = np.random.default_rng(2).normal(size=(5, 384)).astype(np.float32)
        assert np.array_equal(index.search(queries, 10)[1], rebuilt.search(queries, 10)[1])

        catalog.store_descriptors(1, [5], changed[None])  # the triggers still log changes
        assert catalog.changes_since(1, index.seq)[1] == [5]
