"""Thumbnails for the views: decoded in a thread pool, cached on disk by desktop.core,
turned into QPixmaps on the GUI thread only, and requested only when a view asks for them.

Paths travel in signals as `object`: a `str` signal argument goes through QString, which
drops the lone surrogates of a file name that is not valid UTF-8, so the path would change.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from desktop.core.images import ImageLoadError
from desktop.core.thumbnails import load_thumbnail

MEMORY_CACHE_ITEMS = 2000


class _LoadSignals(QObject):
    loaded = Signal(object, QImage)
    failed = Signal(object, str)


class _LoadTask(QRunnable):
    def __init__(self, cache_dir: Path, path: str, size: int, signals: _LoadSignals) -> None:
        super().__init__()
        self.cache_dir, self.path, self.size, self.signals = cache_dir, path, size, signals

    def run(self) -> None:
        try:
            image = load_thumbnail(self.cache_dir, self.path, self.size)
        except ImageLoadError as exc:
            self.signals.failed.emit(self.path, str(exc))
            return
        data = image.tobytes("raw", "RGB")
        qimage = QImage(data, image.width, image.height, 3 * image.width, QImage.Format_RGB888)
        self.signals.loaded.emit(self.path, qimage.copy())


class ThumbnailProvider(QObject):
    """`pixmap(path)` returns the thumbnail when ready, else None and starts loading it."""

    ready = Signal(object)

    def __init__(self, cache_dir: Path, size: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir
        self.size = size
        self.pool = QThreadPool(self)
        self._signals = _LoadSignals(self)
        self._signals.loaded.connect(self._on_loaded)
        self._signals.failed.connect(self._on_failed)
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self._placeholder: QPixmap | None = None
        self.errors: dict[str, str] = {}

    def set_size(self, size: int) -> None:
        if size != self.size:
            self.size = size
            self._pixmaps.clear()
            self._placeholder = None

    def pixmap(self, path: str) -> QPixmap | None:
        pixmap = self._pixmaps.get(path)
        if pixmap is not None:
            self._pixmaps.move_to_end(path)
            return pixmap
        if path not in self._pending:
            self._pending.add(path)
            self.pool.start(_LoadTask(self.cache_dir, path, self.size, self._signals))
        return None

    @property
    def loading(self) -> bool:
        return bool(self._pending)

    def placeholder(self) -> QPixmap:
        """The grey square shown until a thumbnail is ready (drawn once per size: views ask
        for it on every paint of a row still loading)."""
        if self._placeholder is None:
            pixmap = QPixmap(self.size, self.size)
            pixmap.fill(QColor(0, 0, 0, 0))
            painter = QPainter(pixmap)
            painter.fillRect(4, 4, self.size - 8, self.size - 8, QColor(128, 128, 128, 60))
            painter.end()
            self._placeholder = pixmap
        return self._placeholder

    def _on_loaded(self, path: str, image: QImage) -> None:
        self._pending.discard(path)
        self._pixmaps[path] = QPixmap.fromImage(image)
        while len(self._pixmaps) > MEMORY_CACHE_ITEMS:
            self._pixmaps.popitem(last=False)
        self.ready.emit(path)

    def _on_failed(self, path: str, reason: str) -> None:
        self._pending.discard(path)
        self.errors[path] = reason
        broken = self.placeholder().copy()
        painter = QPainter(broken)
        painter.setPen(QColor(200, 60, 60))
        painter.drawLine(8, 8, self.size - 8, self.size - 8)
        painter.drawLine(self.size - 8, 8, 8, self.size - 8)
        painter.end()
        self._pixmaps[path] = broken
        self.ready.emit(path)
