"""Images read for display and encoded for queries, as QImage: safe in worker threads
(unlike QPixmap), so the views and the controllers do this off the GUI thread."""

from __future__ import annotations

import os

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageReader

PREVIEW_SIZE = 640


def read_preview(path: str, size: int | None = PREVIEW_SIZE) -> QImage:
    """The image, at most `size` pixels wide and high (None: full size), with EXIF
    orientation applied (null when unreadable or not a regular file, which could block).

    Python reads the file and Qt decodes the bytes: Qt cannot open a file whose name is
    not valid UTF-8.
    """
    if not os.path.isfile(path):
        return QImage()
    try:
        with open(path, "rb") as stream:
            data = QByteArray(stream.read())
    except OSError:
        return QImage()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    original = reader.size()
    if size is not None and original.isValid() and max(original.width(), original.height()) > size:
        reader.setScaledSize(original.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


def encode_png(image: QImage) -> bytes:
    """An image that is not a file (pasted, dropped, a selected region) as the bytes a query
    takes."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(QByteArray(buffer.data()))
