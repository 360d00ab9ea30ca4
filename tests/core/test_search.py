"""Search by example through a real library: files, bytes, images, stored photos, filters,
near-duplicates, the approximate index, a rebuilt index file, and a model switch."""

from __future__ import annotations

import io
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from desktop.core.indexer import Phase
from desktop.core.library import Library, LibraryError
from desktop.core.paths import app_paths
from desktop.core.search import SearchFilter
from desktop.core.vector_index import VectorIndex
from tests.models import write_model


@pytest.fixture
def indexed(library, photo_folder):
    library.add_folder(photo_folder)
    library.sync()
    return library


def test_a_library_photo_finds_itself_first(indexed, photo_folder):
    query = sorted(photo_folder.rglob("*.jpg"))[7]
    results = indexed.search_images([query], top=5)
    assert results[0].photo.path == str(query)
    assert results[0].score == pytest.approx(1.0, abs=1e-4)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert len(results) == 5


def test_bytes_decoded_image_and_file_give_the_same_answer(indexed, photo_folder):
    query = sorted(photo_folder.rglob("*.jpg"))[3]
    by_file = indexed.search_images([query], top=5)
    by_bytes = indexed.search_images([query.read_bytes()], top=5)
    with Image.open(io.BytesIO(query.read_bytes())) as image:
        image.load()
        by_image = indexed.search_images([image], top=5)
    assert [r.photo.id for r in by_file] == [r.photo.id for r in by_bytes]
    assert by_image[0].photo.path == str(query) and by_image[0].score > 0.99


def test_several_images_search_with_their_mean(indexed, photo_folder):
    a, b = sorted(photo_folder.rglob("*.jpg"))[:2]
    model = indexed.serving_model()
    vectors = indexed.session(model).embed_images([a, b])
    mean = vectors.mean(axis=0)
    mean /= np.linalg.norm(mean)
    expected = indexed.search_vector(mean, top=4)
    combined = indexed.search_images([a, b], top=4)
    assert [r.photo.id for r in combined] == [r.photo.id for r in expected]
    assert {r.photo.path for r in combined[:2]} == {str(a), str(b)}


def test_similar_uses_stored_descriptors_and_excludes_the_photo(indexed):
    photo = indexed.catalog.photos()[0]
    results = indexed.similar_to([photo.path], top=19)
    assert photo.id not in [r.photo.id for r in results]
    assert len(results) == 19
    by_file = indexed.search_images([photo.path], top=20)
    assert [r.photo.id for r in results] == [r.photo.id for r in by_file[1:]]


def test_min_score_and_folder_filters(indexed, photo_folder):
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    everything = indexed.search_images([query], top=20)
    cut = everything[5].score
    assert all(
        r.score >= cut
        for r in indexed.search_images([query], top=20, filters=SearchFilter(min_score=cut))
    )
    assert len(indexed.search_images([query], top=20, filters=SearchFilter(min_score=cut))) == 6
    second_class = sorted(photo_folder.iterdir())[1]
    inside = [r for r in everything if r.photo.path.startswith(str(second_class) + "/")]
    assert not any(r in inside for r in everything[:5])  # the query's own label ranks first
    only = indexed.search_images([query], top=3, filters=SearchFilter(folder=str(second_class)))
    assert [r.photo.id for r in only] == [r.photo.id for r in inside[:3]]


def test_date_filter_uses_exif_capture_time(library, tmp_path, made_photos):
    folder = tmp_path / "dated"
    folder.mkdir()
    for number, source in enumerate(made_photos[:6]):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = f"202{number}:06:01 12:00:00"
        with Image.open(source) as image:
            image.save(folder / f"{number}.jpg", exif=exif)
    library.add_folder(folder)
    library.sync()
    results = library.search_images(
        [made_photos[0]], top=10, filters=SearchFilter(date_from="2022-01-01", date_to="2024")
    )
    assert sorted(r.photo.taken_at[:4] for r in results) == ["2022", "2023", "2024"]


def test_near_duplicates_are_grouped_best_copy_first(library, photo_folder, made_photos):
    original = sorted(photo_folder.rglob("*.jpg"))[0]
    with Image.open(original) as image:
        image.resize((image.width // 2, image.height // 2)).save(photo_folder / "small-copy.jpg")
    shutil.copy(original, photo_folder / "exact-copy.jpg")
    library.add_folder(photo_folder)
    library.sync()
    groups = library.duplicates(threshold=0.97)
    group = next(g for g in groups if str(original) in {p.path for p in g})
    assert {p.path for p in group} >= {str(original), str(photo_folder / "small-copy.jpg")}
    assert group[-1].path == str(photo_folder / "small-copy.jpg")  # lowest resolution last
    assert group[0].width * group[0].height >= group[-1].width * group[-1].height


@pytest.mark.parametrize("damage", ["corrupt", "delete", "truncate"])
def test_damaged_index_file_is_rebuilt_from_the_catalog(indexed, photo_folder, damage):
    query = sorted(photo_folder.rglob("*.jpg"))[2]
    before = [r.photo.id for r in indexed.search_images([query], top=8)]
    index_file = next((indexed.paths.data / "indexes").iterdir())
    if damage == "corrupt":
        index_file.write_bytes(b"PSIDX1\n" + b"\x13" * 5000)
    elif damage == "truncate":
        index_file.write_bytes(index_file.read_bytes()[:300])
    else:
        index_file.unlink()
    with Library(app_paths()) as reopened:
        assert [r.photo.id for r in reopened.search_images([query], top=8)] == before
        reopened.sync()
    model_id = indexed.serving_model().id
    assert VectorIndex.load(index_file, model_id).size == 20


def test_open_index_catches_up_with_another_process(indexed, photo_folder, made_photos):
    """A window keeps its index in memory while the CLI indexes more photos."""
    query = made_photos[-1]
    assert indexed.search_images([query], top=1)[0].score < 0.999
    shutil.copy(query, photo_folder / "added-elsewhere.jpg")
    with Library(app_paths()) as cli:
        cli.sync()  # prunes the change log after saving the index
    hit = indexed.search_images([query], top=1)[0]
    assert hit.photo.path == str(photo_folder / "added-elsewhere.jpg")


def test_model_switch_keeps_searching_with_the_old_model_until_complete(
    indexed, photo_folder, tmp_path
):
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    old = indexed.serving_model()
    before = indexed.search_images([query], top=20)
    second = write_model(tmp_path / "second.onnx", seed=123, size=32, dim=48, name="second")
    new = indexed.add_model(second, activate=True)
    assert indexed.active_model().id == new.id
    assert indexed.serving_model().id == old.id  # new index empty: old one answers

    cancel = threading.Event()

    def cancel_once_embedding(update):
        if update.phase is Phase.EMBEDDING and update.done > 0:
            cancel.set()

    report = indexed.sync(cancel_once_embedding, cancel, batch_size=4)
    assert report.cancelled and 0 < indexed.catalog.descriptor_count(new.id) < 20
    assert indexed.serving_model().id == old.id  # partly indexed: still the old model
    assert indexed.search_images([query], top=20) == before

    indexed.sync()
    assert indexed.serving_model().id == new.id
    after = indexed.search_images([query], top=20)
    assert after[0].photo.path == str(query)
    assert [r.score for r in after] != pytest.approx([r.score for r in before], abs=1e-3)
    assert indexed.vector_index(new).size == 20


def test_searching_without_a_model_says_what_to_do(tmp_path):
    with (
        Library(app_paths(tmp_path / "empty")) as library,
        pytest.raises(LibraryError, match="models add"),
    ):
        library.search_images([tmp_path / "x.jpg"])
