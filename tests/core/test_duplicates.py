"""Near-duplicates: the perceptual hash beside the descriptor, levels fitted to the model,
groups that never chain. Through real files, a real catalog and the Library."""

from __future__ import annotations

import shutil
import sqlite3

import faiss
import imagehash
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from desktop.core import duplicates
from desktop.core import model_contract as contract
from desktop.core.duplicates import (
    FALLBACK_SURE,
    HASH_CONFIRM,
    DuplicateThreshold,
    duplicate_pairs,
    estimate_levels,
    group_pairs,
    pair_index,
)
from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.core.perceptual_hash import hamming, photo_hashes
from tests.models import write_model
from tests.photos import make_labelled_folder


def _bits(value: int) -> int:
    return int(hamming(np.array([value]), np.array([0]))[0])


def test_photo_hashes_are_imagehash_phash_of_the_photo_and_of_its_mirror(made_photos):
    with Image.open(made_photos[0]) as photo:
        image = photo.convert("RGB")
    hashed, mirrored = photo_hashes(image)
    assert format(hashed & (2**64 - 1), "016x") == str(imagehash.phash(image))
    assert photo_hashes(ImageOps.mirror(image)) == (mirrored, hashed)


def test_a_chain_a_b_c_is_not_one_group_around_its_best_copy(library, photo_folder):
    """A~B and B~C, not A~C: A (the best copy) takes B; C is left alone, not chained in."""
    library.add_folder(photo_folder)
    library.sync()
    a, b, c = (library.photo(p) for p in sorted(photo_folder.rglob("*.jpg"))[:3])
    library.catalog.set_photo_info(
        [(a.id, 400, 300, None, None), (b.id, 200, 150, None, None), (c.id, 100, 75, None, None)]
    )
    groups = group_pairs({(a.id, b.id), (b.id, c.id)}, library.catalog)
    assert [[p.id for p in group] for group in groups] == [[a.id, b.id]]
    # With B the best copy, A and C are each a near-duplicate of it: one group, B first.
    library.catalog.set_photo_info([(b.id, 800, 600, None, None)])
    groups = group_pairs({(a.id, b.id), (b.id, c.id)}, library.catalog)
    assert [[p.id for p in group] for group in groups] == [[b.id, a.id, c.id]]


def test_best_copy_key_is_pixels_then_bytes_then_the_earliest_date(library, photo_folder):
    library.add_folder(photo_folder)
    library.sync()
    a, b, c = (library.photo(p) for p in sorted(photo_folder.rglob("*.jpg"))[:3])
    same = (a.width, a.height)
    library.catalog.set_photo_info(
        [
            (a.id, *same, "2021-05-01T10:00:00", None),
            (b.id, *same, "2019-05-01T10:00:00", None),
            (c.id, *same, None, None),
        ]
    )
    with sqlite3.connect(library.catalog.path) as db:
        db.execute("UPDATE photos SET size = 5000 WHERE id IN (?, ?, ?)", (a.id, b.id, c.id))
    group = group_pairs({(a.id, b.id), (a.id, c.id), (b.id, c.id)}, library.catalog)[0]
    assert [p.id for p in group] == [b.id, a.id, c.id]


def test_the_mirror_of_a_photo_is_its_duplicate(library, scenes):
    """The tiny pixel model sees a mirrored photo as another photo; the hash does not."""
    original = sorted(scenes.rglob("*.jpg"))[0]
    with Image.open(original) as image:
        ImageOps.mirror(image).save(scenes / "mirrored.jpg", quality=95)
    library.add_folder(scenes)
    library.sync()
    groups = library.duplicates()
    assert [{p.path for p in g} for g in groups] == [{str(original), str(scenes / "mirrored.jpg")}]
    model = library.serving_model()
    ids, vectors = library.catalog.descriptors(model.id)
    rows = {int(i): r for r, i in enumerate(ids)}
    first, second = (library.photo(p).id for p in (original, scenes / "mirrored.jpg"))
    assert (
        vectors[rows[first]] @ vectors[rows[second]] < FALLBACK_SURE
    )  # the descriptor alone misses it


def test_brightened_and_resized_copies_join_their_original(library, scenes):
    original = sorted(scenes.rglob("*.jpg"))[5]
    with Image.open(original) as image:
        ImageEnhance.Brightness(image).enhance(1.25).save(scenes / "brighter.jpg")
        image.resize((image.width // 2, image.height // 2)).save(scenes / "half.jpg")
    library.add_folder(scenes)
    library.sync()
    (group,) = library.duplicates()
    assert [p.path for p in group][0] == str(original)  # the most pixels first
    assert {p.path for p in group} == {
        str(original),
        *(str(scenes / n) for n in ("brighter.jpg", "half.jpg")),
    }


def test_a_threshold_stored_in_the_models_metadata_is_the_one_used(tmp_path, scenes):
    """A 4-d pixel model puts unrelated scenes anywhere from -1 to 1: at 0.2 many pair up."""
    plain = write_model(tmp_path / "plain.onnx", size=32, dim=4, name="plain")
    stated = write_model(
        tmp_path / "stated.onnx", size=32, dim=4, name="stated", seed=0,
        metadata={contract.KEY_DUPLICATE_SIMILARITY: "0.2"},
    )  # fmt: skip

    def found(model, threshold=None):
        with Library(app_paths(tmp_path / model.stem)) as library:
            library.add_folder(scenes)
            library.add_model(model, activate=True)
            library.sync()
            found = library.find_duplicates(threshold)
        return found.threshold, sorted(sorted(p.path for p in g) for g in found.groups)

    levels, by_metadata = found(stated)
    assert (levels.sure, levels.source) == (pytest.approx(0.2), "model")
    default_levels, by_default = found(plain)
    assert default_levels.source == "default"  # eight photos are too few to estimate from
    user_levels, by_user = found(plain, 0.2)
    assert user_levels.source == "user"
    assert by_metadata == by_user != by_default
    assert found(stated, 0.9999)[1] == []  # the user's threshold wins over the model's


def test_levels_are_estimated_from_the_library_leaving_its_duplicates_out(tmp_path):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    hashes = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 400)
    clean_sure, clean_confirm = estimate_levels(vectors, hashes)
    # Half the library made of exact copies: without the hashes they would pass as unrelated
    # pairs at similarity 1 and push `sure` to 1; the hashes say they are duplicates.
    copies = np.concatenate([vectors[:200], vectors[:200]])
    copy_hashes = np.concatenate([hashes[:200], hashes[:200]])
    assert estimate_levels(copies, copy_hashes)[0] < 0.999
    assert estimate_levels(copies, None)[0] > 0.999
    assert clean_confirm < clean_sure < 1
    unrelated = vectors @ vectors.T
    assert clean_confirm == pytest.approx(
        np.quantile(unrelated[np.triu_indices(400, 1)], 0.97), abs=0.02
    )


def test_a_library_indexed_before_hashes_gets_them_on_the_next_sync(library, photo_folder):
    library.add_folder(photo_folder)
    library.sync()
    ids, hashes, mirrors = library.catalog.perceptual_hashes()
    assert len(ids) == 20
    with sqlite3.connect(library.catalog.path) as db:  # as migration 5 leaves an old catalog
        db.execute("UPDATE photos SET phash = NULL, phash_mirror = NULL")
    assert len(library.catalog.photos_missing_hash()) == 20
    report = library.sync()
    assert report.embedded == 0  # nothing re-embedded for it
    again_ids, again, _ = library.catalog.perceptual_hashes()
    assert again_ids.tolist() == ids.tolist()
    assert hamming(again, hashes).max() <= 2  # a small decode, nearly the same hash


def test_hash_radius_constants_leave_unrelated_made_photos_apart(tmp_path):
    """The made photos of different scenes are unrelated; none is within HASH_CONFIRM bits of
    another scene's photo, or the confirm rule would be fed noise."""
    folder = make_labelled_folder(tmp_path / "scenes", 8, 2)
    hashes = {}
    for path in sorted(folder.rglob("*.jpg")):
        with Image.open(path) as image:
            hashes[path] = photo_hashes(image.convert("RGB"))[0]
    paths = list(hashes)
    for i, a in enumerate(paths):
        for b in paths[i + 1 :]:
            if a.parent != b.parent:
                distance = _bits(hashes[a] ^ hashes[b])
                assert distance > HASH_CONFIRM // 2, (a.name, b.name, distance)


def test_duplicates_survive_a_photo_removed_between_runs(library, scenes):
    original = sorted(scenes.rglob("*.jpg"))[0]
    shutil.copy(original, scenes / "copy.jpg")
    library.add_folder(scenes)
    library.sync()
    assert len(library.duplicates()) == 1
    (scenes / "copy.jpg").unlink()
    library.sync()
    assert library.duplicates() == []


def test_the_ivf_pair_index_of_a_large_library_finds_what_comparing_every_pair_does(
    monkeypatch,
):
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3000, 64)).astype(np.float32)
    copies = vectors[:150] + rng.normal(scale=0.15, size=(150, 64)).astype(np.float32)
    vectors = np.concatenate([vectors, copies])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(10, 10 + len(vectors), dtype=np.int64)
    no_hashes = (np.zeros(0, np.int64),) * 3
    levels = DuplicateThreshold(sure=0.95, confirm=0.95, source="user")
    exact = duplicate_pairs(pair_index(ids, vectors), ids, vectors, no_hashes, levels)
    monkeypatch.setattr(duplicates, "IVF_FROM", 1000)
    index = pair_index(ids, vectors)
    assert isinstance(faiss.downcast_index(index.index), faiss.IndexIVFFlat)
    assert duplicate_pairs(index, ids, vectors, no_hashes, levels) == exact
    assert len(exact) >= 140  # the planted copies, all but the noisiest
