"""The vector index: a real IVF (many lists, a query searching few of them) against exact
search, additions and removals after training, saving, and the switch between the kinds as
a library grows and shrinks."""

from __future__ import annotations

import numpy as np

from desktop.core.catalog import Catalog
from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.core.vector_index import VectorIndex, _vectors_view
from tests.photos import make_photo

DIM, CLUSTERS, VECTORS = 32, 400, 20_000


def clustered(count: int, seed: int) -> np.ndarray:
    """Unit vectors around CLUSTERS centres, as descriptors of many photo subjects are."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(size=(CLUSTERS, DIM))
    vectors = centres[rng.integers(0, CLUSTERS, count)] + rng.normal(size=(count, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :k]]


def recall_at(found: np.ndarray, expected: np.ndarray) -> float:
    return np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, expected, strict=True)])


def test_ivf_searches_few_lists_and_recalls_what_exact_search_finds(tmp_path):
    vectors, ids = clustered(VECTORS, 1), np.arange(VECTORS, dtype=np.int64) * 3 + 7
    index = VectorIndex.build(1, DIM, ids, vectors, seq=5, approx_threshold=10_000)
    assert index.approximate and index.size == VECTORS
    assert index.lists >= 64 and 0 < index.probes < index.lists / 2
    queries = clustered(200, 2)
    _, found = index.search(queries, 10)
    assert recall_at(found, exact_top(vectors, ids, queries, 10)) >= 0.95

    added = clustered(1_000, 3)  # after training: they go to the lists trained before
    added_ids = np.arange(1_000, dtype=np.int64) + 10**6
    removed_ids = ids[:5_000]
    index.add(added_ids, added)
    index.remove(removed_ids)
    assert index.size == VECTORS + 1_000 - 5_000
    _, own = index.search(added[:100], 1)
    assert (own[:, 0] == added_ids[:100]).mean() >= 0.97
    _, found = index.search(queries, 10)
    assert not set(found.ravel()) & set(removed_ids.tolist())
    kept_vectors = np.concatenate([vectors[5_000:], added])
    kept_ids = np.concatenate([ids[5_000:], added_ids])
    assert recall_at(found, exact_top(kept_vectors, kept_ids, queries, 10)) >= 0.95

    index.save(tmp_path / "ivf.faiss")
    loaded = VectorIndex.load(tmp_path / "ivf.faiss", 1)
    assert loaded.approximate and loaded.seq == 5 and loaded.probes == index.probes
    assert np.array_equal(loaded.search(queries, 10)[1], found)


def test_index_kind_suits_its_size():
    vectors, ids = clustered(2_000, 4), np.arange(2_000, dtype=np.int64)
    exact = VectorIndex.build(1, DIM, ids[:999], vectors[:999], 0, approx_threshold=1_000)
    assert not exact.approximate and exact.suits(1_000)
    exact.add(ids[999:1_000], vectors[999:1_000])
    assert not exact.suits(1_000)  # grown to the threshold: rebuild as IVF
    ivf = VectorIndex.build(1, DIM, ids, vectors, 0, approx_threshold=1_000)
    assert ivf.approximate and ivf.suits(1_000)
    ivf.remove(ids[:1_600])
    assert not ivf.suits(1_000)  # shrunk below half the threshold: rebuild as exact


def test_library_switches_to_ivf_as_it_grows_and_back_as_it_shrinks(tiny_model_path, tmp_path):
    """Indexing (in the background) rebuilds the index; a search only picks it up."""
    folder = tmp_path / "photos"
    for number in range(90):
        make_photo(folder / f"early-{number:03d}.jpg", number % 30, number // 30)
    with Library(app_paths(), approx_threshold=120) as library:
        library.add_model(tiny_model_path)
        library.add_folder(folder)
        library.sync()
        model = library.serving_model()
        assert not library.vector_index(model).approximate
        for number in range(60):
            make_photo(folder / f"later-{number:03d}.jpg", 30 + number % 20, number // 20)
        library.sync()
        grown = library.vector_index(model)
        assert grown.approximate and grown.size == 150 and grown.lists > 1
        query = folder / "later-050.jpg"
        assert library.search_images([query], top=1)[0].photo.path == str(query)

        for photo in sorted(folder.glob("*.jpg"))[:100]:
            photo.unlink()
        library.sync()
        shrunk = library.vector_index(model)
        assert not shrunk.approximate and shrunk.size == 50
        assert library.search_images([query], top=1)[0].photo.path == str(query)


def catalog_with(tmp_path, vectors: np.ndarray) -> tuple[Catalog, list[int]]:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    folder = catalog.add_folder("/p")
    catalog.add_model("h", "m", "/m.onnx", DIM, {})
    with catalog.transaction():
        ids = [
            catalog.add_photo(folder.id, f"/p/{n}.jpg", 1, 1, f"f{n}") for n in range(len(vectors))
        ]
        catalog.store_descriptors(1, ids, vectors)
    return catalog, ids


def test_an_index_loaded_and_caught_up_equals_one_rebuilt(tmp_path):
    vectors = clustered(3_000, 5)
    catalog, ids = catalog_with(tmp_path, vectors[:2_000])
    VectorIndex.from_catalog(catalog, 1).save(tmp_path / "index")
    with catalog.transaction():  # what indexing and a rescan do meanwhile
        added = [catalog.add_photo(1, f"/p/new-{n}.jpg", 1, 1, "new") for n in range(1_000)]
        catalog.store_descriptors(1, added, vectors[2_000:])
        catalog.store_descriptors(1, ids[:50], vectors[2_950:])
        catalog.remove_photos(ids[50:100])

    loaded = VectorIndex.load(tmp_path / "index", 1)
    assert loaded.catch_up(catalog) == 1_100
    rebuilt = VectorIndex.from_catalog(catalog, 1)
    assert loaded.size == rebuilt.size == 2_950 and loaded.seq == rebuilt.seq
    queries = clustered(50, 6)
    found_scores, found = loaded.search(queries, 10)
    expected_scores, expected = rebuilt.search(queries, 10)
    assert np.array_equal(found, expected) and np.allclose(found_scores, expected_scores)
    catalog.close()


def test_adding_within_the_room_of_a_loaded_index_moves_no_vector(tmp_path):
    """Growing an exact index copies all of it (0.3 s at 100k): a loaded index keeps room,
    so the first additions while indexing do not wait for that."""
    vectors, ids = clustered(4_000, 7), np.arange(4_000, dtype=np.int64)
    VectorIndex.build(1, DIM, ids[:3_000], vectors[:3_000], 0).save(tmp_path / "index")
    loaded = VectorIndex.load(tmp_path / "index", 1)
    address = _vectors_view(loaded._index).ctypes.data
    for start in range(3_000, 4_000, 32):  # batches of an indexing run
        loaded.add(ids[start : start + 32], vectors[start : start + 32])
    assert _vectors_view(loaded._index).ctypes.data == address
    assert loaded.search(vectors[3_999:], 1)[1][0, 0] == 3_999


def test_a_saved_index_cut_short_is_not_taken_for_current(tmp_path):
    vectors, ids = clustered(100, 8), np.arange(100, dtype=np.int64)
    VectorIndex.build(1, DIM, ids, vectors, 7).save(tmp_path / "index")
    assert VectorIndex.read_header(tmp_path / "index").seq == 7
    data = (tmp_path / "index").read_bytes()
    (tmp_path / "index").write_bytes(data[:-100])
    assert VectorIndex.read_header(tmp_path / "index") is None
    assert VectorIndex.load(tmp_path / "index", 1) is None
