"""The query panel: the image(s) being searched for, with a region the user can select."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.controllers.search import QueryImage


class QueryImageView(QWidget):
    """Shows the query images side by side; on a single image, drag to select a region."""

    region_changed = Signal(QRect)
    """The selected region in the first image's pixel coordinates (empty when none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self._images: list[QImage] = []
        self._drag_start: QPoint | None = None
        self._selection = QRect()  # widget coordinates
        self.placeholder_text = "Drop, paste (Ctrl+V) or open (Ctrl+O) a photo"

    def sizeHint(self) -> QSize:
        return QSize(280, 220)

    def set_images(self, images: list[QImage]) -> None:
        self._images = images
        self.clear_selection()
        self.update()

    def clear_selection(self) -> None:
        self._selection = QRect()
        self.region_changed.emit(QRect())
        self.update()

    def image_rect(self) -> QRect:
        """Where the first image is drawn, in widget coordinates."""
        if not self._images:
            return QRect()
        slot = self.width() // len(self._images)
        size = (
            self._images[0]
            .size()
            .scaled(QSize(slot - 8, self.height() - 8), Qt.AspectRatioMode.KeepAspectRatio)
        )
        left = (slot - size.width()) // 2
        top = (self.height() - size.height()) // 2
        return QRect(QPoint(left, top), size)

    def selected_region(self) -> QRect:
        """The selection mapped to the first image's pixels."""
        target = self.image_rect()
        if self._selection.isEmpty() or target.isEmpty():
            return QRect()
        image = self._images[0]
        scale_x = image.width() / target.width()
        scale_y = image.height() / target.height()
        area = self._selection.intersected(target).translated(-target.topLeft())
        region = QRect(
            int(area.left() * scale_x),
            int(area.top() * scale_y),
            int(area.width() * scale_x),
            int(area.height() * scale_y),
        )
        return region.intersected(image.rect())

    def mousePressEvent(self, event) -> None:
        if len(self._images) == 1 and event.button() == Qt.MouseButton.LeftButton:
            self._drag_start = event.position().toPoint()
            self._selection = QRect(self._drag_start, QSize())
            self.update()

    def mouseMoveEvent(self, event) -> None:
        if self._drag_start is not None:
            self._selection = QRect(self._drag_start, event.position().toPoint()).normalized()
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self._drag_start is None:
            return
        self._selection = QRect(self._drag_start, event.position().toPoint()).normalized()
        self._drag_start = None
        if self._selection.width() < 8 or self._selection.height() < 8:
            self._selection = QRect()
        self.region_changed.emit(self.selected_region())
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if not self._images:
            painter.setPen(QPen(self.palette().placeholderText().color(), 1, Qt.PenStyle.DashLine))
            painter.drawRoundedRect(self.rect().adjusted(6, 6, -7, -7), 8, 8)
            painter.drawText(
                self.rect().adjusted(16, 16, -16, -16),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.placeholder_text,
            )
            return
        slot = self.width() // len(self._images)
        for number, image in enumerate(self._images):
            size = image.size().scaled(
                QSize(slot - 8, self.height() - 8), Qt.AspectRatioMode.KeepAspectRatio
            )
            left = number * slot + (slot - size.width()) // 2
            top = (self.height() - size.height()) // 2
            painter.drawImage(QRect(QPoint(left, top), size), image)
        if not self._selection.isEmpty():
            shade = QColor(0, 0, 0, 110)
            outside = self.image_rect()
            for part in _outside(outside, self._selection.intersected(outside)):
                painter.fillRect(part, shade)
            painter.setPen(QPen(QColor(255, 210, 60), 2))
            painter.drawRect(self._selection.intersected(outside))


def _outside(whole: QRect, inner: QRect) -> list[QRect]:
    """The parts of `whole` around `inner`, to dim what is not selected."""
    return [
        QRect(whole.left(), whole.top(), whole.width(), inner.top() - whole.top()),
        QRect(whole.left(), inner.bottom() + 1, whole.width(), whole.bottom() - inner.bottom()),
        QRect(whole.left(), inner.top(), inner.left() - whole.left(), inner.height()),
        QRect(inner.right() + 1, inner.top(), whole.right() - inner.right(), inner.height()),
    ]


class QueryPanel(QWidget):
    cleared = Signal()
    region_search_requested = Signal(QImage)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QueryImageView(self)
        self.caption = QLabel("No query yet", self)
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.search_region_button = QPushButton("Search selection", self)
        self.search_region_button.setToolTip("Drag on the photo to select a region first")
        self.search_region_button.setEnabled(False)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.search_region_button)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        title = QLabel("<b>Query</b>", self)
        layout.addWidget(title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        layout.addLayout(buttons)
        self._queries: list[QueryImage] = []
        self.view.region_changed.connect(
            lambda region: self.search_region_button.setEnabled(not region.isEmpty())
        )
        self.search_region_button.clicked.connect(self._search_region)
        self.clear_button.clicked.connect(self.clear)

    @property
    def queries(self) -> list[QueryImage]:
        return list(self._queries)

    def set_queries(self, queries: list[QueryImage], caption: str) -> None:
        self._queries = queries
        self.view.set_images([q.image for q in queries])
        self.caption.setText(caption)
        self.clear_button.setEnabled(bool(queries))

    def clear(self) -> None:
        self.set_queries([], "No query yet")
        self.cleared.emit()

    def _search_region(self) -> None:
        region = self.view.selected_region()
        if self._queries and not region.isEmpty():
            self.region_search_requested.emit(self._queries[0].image.copy(region))
