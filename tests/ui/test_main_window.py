"""The window opens and draws something."""

from __future__ import annotations

from desktop.core.paths import app_paths
from desktop.ui.main_window import MainWindow


def test_window_shows_and_renders(qtbot, isolated_home, tmp_path):
    window = MainWindow(app_paths().create())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    image = window.grab().toImage()
    image.save(str(tmp_path / "window.png"))
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)
    }
    assert len(colours) > 1
    assert str(isolated_home) in window.statusBar().currentMessage()
