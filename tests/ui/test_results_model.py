"""The results model and thumbnail provider, tested without any view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from desktop.core.paths import app_paths
from desktop.core.thumbnails import thumbnail_path
from desktop.ui.results_model import PathRole, PhotoRole, ResultsModel, ScoreRole
from desktop.ui.thumbnails import ThumbnailProvider


def test_rows_roles_and_lazy_thumbnails(qtbot, indexed_library, photo_folder):
    cache = app_paths().cache
    provider = ThumbnailProvider(cache, 96)
    model = ResultsModel(provider)
    query = sorted(photo_folder.rglob("*.jpg"))[0]
    results = indexed_library.search_images([query], top=6)
    with qtbot.waitSignal(model.modelReset):
        model.set_results(results)
    assert model.rowCount() == 6
    first = model.index(0)
    assert model.data(first, PathRole) == str(query)
    assert model.data(first, PhotoRole) == results[0].photo
    assert model.data(first, ScoreRole) == results[0].score
    assert model.data(first, Qt.ItemDataRole.DisplayRole).startswith("1.000\n")
    assert str(query) in model.data(first, Qt.ItemDataRole.ToolTipRole)
    assert not provider.errors

    with qtbot.waitSignal(model.dataChanged, timeout=10000) as changed:
        placeholder = model.data(first, Qt.ItemDataRole.DecorationRole)  # starts loading
    assert changed.args[0].row() == 0
    pixmap = model.data(first, Qt.ItemDataRole.DecorationRole)
    assert isinstance(pixmap, QPixmap) and pixmap.cacheKey() != placeholder.cacheKey()
    assert max(pixmap.width(), pixmap.height()) == 96
    assert thumbnail_path(cache, str(query), 96).is_file()  # cached on disk
    other_rows = [model.index(r) for r in range(1, 6)]
    assert provider.loading is False
    assert all(provider.pixmap(model.data(i, PathRole)) is None for i in other_rows[:1])
    provider.pool.waitForDone(10000)


def test_unreadable_photo_gets_a_broken_thumbnail(qtbot, tmp_path):
    provider = ThumbnailProvider(tmp_path / "cache", 64)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not really")
    with qtbot.waitSignal(provider.ready, timeout=10000):
        assert provider.pixmap(str(broken)) is None
    assert "not an image" in provider.errors[str(broken)]
    assert provider.pixmap(str(broken)).width() == 64
