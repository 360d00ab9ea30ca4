"""Library.run_query, the one search flow of both front ends: what it embeds, what it
reuses, and what it answers once another model serves."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core import library as library_module
from desktop.core.feedback import refine
from desktop.core.library import Library, LibraryError
from desktop.core.queries import Query
from desktop.core.search import SearchFilter
from tests.models import write_model


@pytest.fixture
def indexed(library, photo_folder):
    library.add_folder(photo_folder)
    library.sync()
    return library


def count_embeds(library, monkeypatch) -> list[int]:
    """The batch sizes the serving model's session embeds from now on."""
    session = library.query_session(library.serving_model())
    calls, embed = [], session.embed

    def counting(pixels):
        calls.append(len(pixels))
        return embed(pixels)

    monkeypatch.setattr(session, "embed", counting)
    return calls


def test_an_image_query_is_embedded_once_then_re_ranked_from_its_vector(
    indexed, photo_folder, monkeypatch
):
    embeds = count_embeds(indexed, monkeypatch)
    image = sorted(photo_folder.rglob("*.jpg"))[4]
    first = indexed.run_query(Query(images=[image]), top=10)
    assert embeds == [1]
    assert first.results[0].photo.path == str(image)
    assert first.query.embedded_with(indexed.serving_model().id)

    cutoff = first.results[4].score
    again = indexed.run_query(first.query, top=10, filters=SearchFilter(min_score=cutoff))
    assert embeds == [1]  # nothing embedded: the outcome's query carried its vector
    assert [r.photo.id for r in again.results] == [r.photo.id for r in first.results[:5]]


def test_a_photo_query_uses_stored_descriptors_and_leaves_the_photos_out(
    indexed, photo_folder, monkeypatch
):
    embeds = count_embeds(indexed, monkeypatch)
    photo = indexed.photo(sorted(photo_folder.rglob("*.jpg"))[2])
    outcome = indexed.run_query(Query(photos=[photo.id]), top=20)
    assert embeds == []
    assert photo.id not in {r.photo.id for r in outcome.results}
    assert outcome.query.exclude == (photo.id,)
    by_image = indexed.run_query(Query(images=[photo.path]), top=21)
    assert by_image.results[0].photo.id == photo.id
    assert [r.photo.id for r in by_image.results[1:]] == [r.photo.id for r in outcome.results]


def test_the_same_query_answers_with_the_new_model_once_it_serves(indexed, photo_folder, tmp_path):
    image = sorted(photo_folder.rglob("*.jpg"))[0]
    old = indexed.run_query(Query(images=[image]), top=5)
    second = write_model(tmp_path / "second.onnx", seed=7, size=32, dim=24, name="second")
    new = indexed.add_model(second, activate=True)
    indexed.sync()
    assert indexed.serving_model().id == new.id
    again = indexed.run_query(old.query, top=5)
    assert again.query.embedded_with(new.id) and again.query.vector.shape == (24,)
    assert again.results[0].photo.path == str(image)


def test_a_query_of_nothing_is_refused_with_a_message(indexed):
    with pytest.raises(LibraryError, match="nothing to search with"):
        indexed.run_query(Query())


def test_a_vector_query_needs_no_image_and_no_photo(indexed, photo_folder):
    model = indexed.serving_model()
    vector = np.asarray(indexed.session(model).embed_images([next(photo_folder.rglob("*.jpg"))]))
    query = Query().with_vector(vector[0], model.id, ())
    assert not query.empty
    assert len(indexed.run_query(query, top=3).results) == 3


def test_after_prepare_queries_the_first_query_opens_and_loads_nothing(
    library, photo_folder, monkeypatch
):
    library.add_folder(photo_folder)
    library.sync()
    with Library(library.paths) as fresh:  # as the window starts: nothing loaded yet
        fresh.prepare_queries()

        def refuse(*args, **kwargs):
            raise AssertionError("loaded during the first query")

        monkeypatch.setattr(library_module, "DescriptorSession", refuse)
        monkeypatch.setattr(library_module.VectorIndex, "load", refuse)
        monkeypatch.setattr(library_module.VectorIndex, "from_catalog", refuse)
        image = sorted(photo_folder.rglob("*.jpg"))[1]
        assert fresh.run_query(Query(images=[image]), top=3).results[0].photo.path == str(image)


def test_marks_re_rank_from_stored_descriptors_without_embedding(
    indexed, photo_folder, monkeypatch
):
    """Marking a far photo good pulls it up, marking a near one bad lowers its score;
    nothing is embedded, and the query keeps its unrefined vector."""
    embeds = count_embeds(indexed, monkeypatch)
    image = sorted(photo_folder.rglob("*.jpg"))[0]
    first = indexed.run_query(Query(images=[image]), top=20)
    assert embeds == [1]
    order = [r.photo.id for r in first.results]
    far, near = order[-1], order[1]
    marked = indexed.run_query(first.query.with_marks(good=[far], bad=[near]), top=20)
    assert embeds == [1]
    new_order = [r.photo.id for r in marked.results]
    assert new_order.index(far) < order.index(far)
    scores = {r.photo.id: r.score for r in first.results}
    new_scores = {r.photo.id: r.score for r in marked.results}
    assert new_scores[near] < scores[near] and new_scores[far] > scores[far]
    assert np.array_equal(marked.query.vector, first.query.vector)
    assert marked.query.good == (far,) and marked.query.bad == (near,)
    unmarked = indexed.run_query(marked.query.with_marks(good=[], bad=[]), top=20)
    assert [r.photo.id for r in unmarked.results] == order


def test_rocchio_moves_the_query_and_keeps_it_unit_length():
    query = np.array([1.0, 0.0, 0.0], np.float32)
    good = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    bad = np.array([[1.0, 0.0, 0.0]], np.float32)
    moved = refine(query, good, bad)
    expected = np.array([1.0 - 0.15, 0.75 / 2, 0.75 / 2])
    np.testing.assert_allclose(moved, expected / np.linalg.norm(expected), rtol=1e-6)
    np.testing.assert_array_equal(refine(query, good[:0], bad[:0]), query)
    assert np.array_equal(refine(query, good[:0], query[None] / 0.15), query)  # cancelled out


def test_a_photo_is_marked_good_or_bad_not_both():
    query = Query(photos=[1]).with_marks(good=[3, 4, 3], bad=[4, 5])
    assert query.good == (3, 4) and query.bad == (5,)


def test_the_same_query_runs_with_another_model_to_compare(indexed, photo_folder, tmp_path):
    image = sorted(photo_folder.rglob("*.jpg"))[0]
    old_model = indexed.serving_model()
    second = write_model(tmp_path / "second.onnx", seed=7, size=32, dim=24, name="second")
    new_model = indexed.add_model(second, activate=True)
    indexed.sync()
    old = indexed.run_query(Query(images=[image]), top=5, model=old_model)
    new = indexed.run_query(old.query, top=5, model=new_model)
    assert old.query.embedded_with(old_model.id) and new.query.embedded_with(new_model.id)
    assert old.results[0].photo.path == new.results[0].photo.path == str(image)
    assert [r.score for r in old.results] != [r.score for r in new.results]
