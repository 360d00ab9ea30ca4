from pathlib import Path

from desktop.core.paths import app_paths, resource_path


def test_home_variable_moves_every_folder(isolated_home):
    paths = app_paths()
    for folder in (paths.data, paths.cache, paths.config, paths.logs):
        assert folder.parent == isolated_home


def test_library_argument_wins_over_home(tmp_path):
    paths = app_paths(tmp_path / "lib").create()
    assert paths.data == (tmp_path / "lib" / "data").resolve()
    assert paths.logs.is_dir()


def test_platform_folders_without_override(monkeypatch):
    monkeypatch.delenv("PHOTO_SEARCH_HOME")
    paths = app_paths()
    assert "photo-search" in str(paths.data) and paths.data != paths.cache


def test_resource_path_points_into_resources():
    icon = resource_path("icon.svg")  # the window's icon
    assert icon == Path(__file__).resolve().parents[2] / "resources" / "icon.svg"
    assert icon.is_file() and b"<svg" in icon.read_bytes()
