"""Draws one cell of the results grid: the thumbnail centred in a square, the score (when
there is a query), the file name; or a group's header row across the grid."""

from __future__ import annotations

import os

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop.core.paths import display_path
from desktop.ui.results_model import HeaderRole, PhotoRole, ScoreRole

PADDING = 6
TEXT_LINES = 2
HEADER_LINES = 2


class ResultDelegate(QStyledItemDelegate):
    def __init__(self, thumbnail_size: int, parent=None) -> None:
        super().__init__(parent)
        self.thumbnail_size = thumbnail_size

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        line = option.fontMetrics.height()
        side = self.thumbnail_size + 2 * PADDING
        if index.data(HeaderRole) is not None:  # alone on its line: as wide as the view
            view = option.widget
            width = (
                view.viewport().width() - 2 * view.spacing() if isinstance(view, QListView) else 0
            )
            return QSize(max(side, width), HEADER_LINES * line)
        return QSize(side, side + TEXT_LINES * line + PADDING)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        header = index.data(HeaderRole)
        if header is not None:
            self._paint_header(painter, option, header)
            return
        painter.save()
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Highlight))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.AlternateBase))

        square = QRect(
            option.rect.left() + PADDING,
            option.rect.top() + PADDING,
            self.thumbnail_size,
            self.thumbnail_size,
        )
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.size().scaled(square.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(square.center())
            painter.drawPixmap(target, pixmap)

        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        painter.setPen(text_color)
        line = option.fontMetrics.height()
        text_rect = QRect(
            option.rect.left(), square.bottom() + PADDING // 2, option.rect.width(), line
        )
        score = index.data(ScoreRole)
        if score is not None:
            bold = QFont(option.font)
            bold.setBold(True)
            painter.setFont(bold)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, f"{score:.3f}")
            painter.setFont(option.font)
            text_rect.translate(0, line)
        # the Photo, not PathRole: a str passed through Qt loses the bytes that are not UTF-8
        name = display_path(os.path.basename(index.data(PhotoRole).path))
        elided = option.fontMetrics.elidedText(
            name, Qt.TextElideMode.ElideMiddle, option.rect.width() - 2 * PADDING
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, elided)
        painter.restore()

    def _paint_header(self, painter: QPainter, option: QStyleOptionViewItem, text: str) -> None:
        """The group's name in bold on the left, over a line across the grid."""
        painter.save()
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        # a header row is not enabled (it cannot be selected), but reads as normal text
        painter.setPen(option.palette.color(QPalette.ColorGroup.Normal, QPalette.ColorRole.Text))
        rect = option.rect.adjusted(PADDING, 0, -PADDING, -PADDING // 2)
        elided = painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, rect.width())
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, elided)
        painter.setPen(option.palette.color(QPalette.ColorRole.Mid))
        painter.drawLine(rect.bottomLeft(), rect.bottomRight())
        painter.restore()
