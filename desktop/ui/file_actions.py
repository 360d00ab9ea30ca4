"""What a user does with a photo outside the app: open, reveal, copy."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

from desktop.ui.image_io import read_preview


def file_url(path: str) -> QUrl:
    """A file:// URL with the name's exact bytes percent-encoded: QUrl.fromLocalFile takes a
    QString, which drops the bytes of a name that are not valid UTF-8."""
    return QUrl(Path(path).as_uri())


def open_in_viewer(path: str) -> bool:
    return QDesktopServices.openUrl(file_url(path))


def reveal_in_file_manager(path: str) -> bool:
    """Show the file selected in the system file manager (its folder where that is not possible)."""
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", path])
    if sys.platform == "win32":
        return QProcess.startDetached("explorer", ["/select,", str(Path(path))])
    uri = file_url(path).toString()
    shown = QProcess.startDetached(
        "dbus-send",
        [
            "--session",
            "--dest=org.freedesktop.FileManager1",
            "--type=method_call",
            "/org/freedesktop/FileManager1",
            "org.freedesktop.FileManager1.ShowItems",
            f"array:string:{uri}",
            "string:",
        ],
    )
    return shown or QDesktopServices.openUrl(file_url(str(Path(path).parent)))


def copy_path(path: str) -> None:
    QGuiApplication.clipboard().setText(path)


def copy_image(path: str) -> bool:
    image = read_preview(path, None)
    if image.isNull():
        return False
    QGuiApplication.clipboard().setImage(image)
    return True
