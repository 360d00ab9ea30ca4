"""What a drop or a paste hands the window: folders to add, files to search, or image data.

Both read the same way, so a folder or a photo does the same whether dropped or pasted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage


@dataclass(frozen=True)
class DropContent:
    folders: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Anything there but a folder: a special file (a FIFO, a device) goes to the search,
    whose loader says why it is refused."""
    image: QImage | None = None
    """Image data, when no file came with it."""

    @property
    def empty(self) -> bool:
        return not self.folders and not self.files and self.image is None


def drop_content(mime: QMimeData | None) -> DropContent:
    if mime is None:
        return DropContent()
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    if not paths and mime.hasText():  # a copied path
        paths = [mime.text().strip()]
    paths = [path for path in paths if os.path.exists(path)]
    folders = [path for path in paths if os.path.isdir(path)]
    files = [path for path in paths if not os.path.isdir(path)]
    image = QImage(mime.imageData()) if not paths and mime.hasImage() else None
    return DropContent(folders, files, image)
