"""The search flow without the window: queries run in workers, re-rank from their vector,
only the latest is shown, and a failure is told in words."""

from __future__ import annotations

import os
import threading

from desktop.core.search import SearchFilter
from desktop.ui.controllers.search import Mark, SearchController
from tests.ui.controllers.conftest import record_threads


def photos_of(folder) -> list[str]:
    return [str(path) for path in sorted(folder.rglob("*.jpg"))]


def test_a_query_runs_in_a_worker_and_comes_with_its_images(
    qtbot, indexed_library, photo_folder, workers, monkeypatch
):
    threads = record_threads(monkeypatch, indexed_library, "run_query")
    search = SearchController(indexed_library, workers)
    query = photos_of(photo_folder)[6]
    events = []
    search.searching.connect(lambda caption: events.append(("searching", caption)))
    search.shown.connect(lambda shown: events.append(("shown", shown)))
    with qtbot.waitSignal(search.finished):
        search.search_files([query])
    assert [kind for kind, _ in events] == ["searching", "shown"]
    assert events[0][1] == f"Photos like {os.path.basename(query)}"
    shown = events[1][1]
    assert shown.outcome.results[0].photo.path == query and len(shown.outcome.results) == 20
    assert [image.label for image in shown.images] == [os.path.basename(query)]
    assert not shown.images[0].image.isNull()
    assert threads and threading.main_thread() not in threads
    assert search.shown_query.vector is not None and search.active


def test_new_filters_rerank_the_query_without_embedding_it_again(
    qtbot, indexed_library, photo_folder, workers, monkeypatch
):
    session = indexed_library.query_session(indexed_library.serving_model())
    embeds = record_threads(monkeypatch, session, "embed")
    search = SearchController(indexed_library, workers)
    with qtbot.waitSignal(search.shown) as first:
        search.search_files([photos_of(photo_folder)[0]])
    everything = first.args[0].outcome.results
    cut = everything[6].score
    with qtbot.waitSignal(search.shown) as again:
        search.set_filters(SearchFilter(min_score=cut), top=4)
    reranked = again.args[0]
    assert [r.photo for r in reranked.outcome.results] == [r.photo for r in everything[:4]]
    assert reranked.images is None  # the query panel keeps what it shows
    assert len(embeds) == 1


def test_only_the_latest_query_is_shown(qtbot, indexed_library, photo_folder, workers, request):
    photos = photos_of(photo_folder)
    hold = threading.Event()
    request.addfinalizer(hold.set)
    run_query = indexed_library.run_query

    def first_waits(query, **kwargs):
        if query.images == [photos[0]]:
            assert hold.wait(30)
        return run_query(query, **kwargs)

    indexed_library.run_query = first_waits
    search = SearchController(indexed_library, workers)
    shown = []
    search.shown.connect(shown.append)
    search.search_files([photos[0]])
    with qtbot.waitSignal(search.finished):
        search.search_files([photos[12]])
    hold.set()
    qtbot.waitUntil(lambda: not workers.busy, timeout=20000)
    assert [s.outcome.results[0].photo.path for s in shown] == [photos[12]]
    assert search.shown_query.images == [photos[12]]


def test_a_failure_is_told_in_words_fit_to_show(qtbot, indexed_library, workers, tmp_path):
    missing = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.jpg")  # not UTF-8
    search = SearchController(indexed_library, workers)
    with qtbot.waitSignal(search.failed) as failed:
        search.search_files([missing])
    assert "caf\ufffd.jpg" in failed.args[0]  # no lone surrogate reaches a widget
    search.clear()
    assert not search.active and search.shown_query.empty


def test_marks_re_rank_the_query_without_embedding_and_belong_to_it(
    qtbot, indexed_library, photo_folder, workers, monkeypatch
):
    session = indexed_library.query_session(indexed_library.serving_model())
    embeds = record_threads(monkeypatch, session, "embed")
    search = SearchController(indexed_library, workers)
    with qtbot.waitSignal(search.shown) as first:
        search.search_files([photos_of(photo_folder)[0]])
    order = [r.photo.id for r in first.args[0].outcome.results]
    far, near = order[-1], order[1]

    with qtbot.waitSignal(search.shown) as marked:
        search.mark([far], Mark.GOOD)
    shown = marked.args[0]
    assert shown.reranked and shown.images is None
    assert shown.outcome.query.good == (far,) and shown.caption.endswith("refined by 1 good")
    assert [r.photo.id for r in shown.outcome.results].index(far) < order.index(far)
    with qtbot.waitSignal(search.shown) as marked:
        search.mark([near], Mark.BAD)
    assert (marked.args[0].outcome.query.good, marked.args[0].outcome.query.bad) == (
        (far,),
        (near,),
    )
    assert marked.args[0].caption.endswith("refined by 1 good and 1 bad")
    with qtbot.waitSignal(search.shown) as refiltered:
        search.set_filters(SearchFilter(), top=10)  # the marks stay with the query
    assert refiltered.args[0].outcome.query.bad == (near,)

    qtbot.waitUntil(lambda: not workers.busy)  # a worker is let go just after its result
    search.mark([near], Mark.BAD)  # already so: nothing to run
    assert not workers.busy
    with qtbot.waitSignal(search.shown):
        search.mark([far], Mark.NONE)
    assert (search.good, search.bad) == ((), (near,))
    search.set_filters(SearchFilter(), top=20)
    with qtbot.waitSignal(search.shown) as cleared:
        search.clear_marks()
    assert [r.photo.id for r in cleared.args[0].outcome.results] == order
    assert len(embeds) == 1

    with qtbot.waitSignal(search.shown):
        search.mark([far], Mark.GOOD)
    with qtbot.waitSignal(search.shown) as new:
        search.search_files([photos_of(photo_folder)[5]])
    assert not new.args[0].reranked and new.args[0].outcome.query.good == ()
    assert (search.good, search.bad) == ((), ())
