"""The window and the command line run one search flow: the same query through both gives
the same photos with the same scores."""

from __future__ import annotations

import json

from desktop.main import main


def cli_results(capsys, *args: str) -> list[tuple[str, float]]:
    assert main([*args, "--json"]) == 0
    return [(r["path"], r["score"]) for r in json.loads(capsys.readouterr().out)]


def window_results(window) -> list[tuple[str, float]]:
    return [(r.photo.path, round(r.score, 6)) for r in window.search_page.results.model.results()]


def test_a_photo_from_disk_finds_the_same_photos_in_the_window_and_the_cli(
    qtbot, window, photo_folder, capsys
):
    query = str(sorted(photo_folder.rglob("*.jpg"))[6])
    window.search_page.filter_bar.count.setValue(12)
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.search_files([query])
    shown = window_results(window)
    assert len(shown) == 12 and shown[0][0] == query
    assert shown == cli_results(capsys, "search", query, "--top-k", "12")


def test_find_similar_with_a_filter_matches_the_cli(qtbot, window, photo_folder, capsys):
    photo = window.library.photo(str(sorted(photo_folder.rglob("*.jpg"))[3]))
    window.search_page.filter_bar.min_score.setValue(50)
    with qtbot.waitSignal(window.search.finished, timeout=20000):
        window.search.find_similar([photo])
    shown = window_results(window)
    top = str(window.search_page.filter_bar.count.value())
    expected = cli_results(capsys, "similar", photo.path, "--top-k", top, "--min-score", "0.5")
    assert shown == expected
    assert 0 < len(shown) < 19 and all(score >= 0.5 for _, score in shown)  # the filter hid some
    assert photo.path not in [path for path, _ in shown]
