"""Draws one result: the thumbnail centred in a square cell, the score, the file name."""

from __future__ import annotations

import os

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop.core.paths import display_path
from desktop.ui.results_model import PhotoRole, ScoreRole

PADDING = 6
TEXT_LINES = 2


class ResultDelegate(QStyledItemDelegate):
    def __init__(self, thumbnail_size: int, parent=None) -> None:
        super().__init__(parent)
        self.thumbnail_size = thumbnail_size

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        line = option.fontMetrics.height()
        side = self.thumbnail_size + 2 * PADDING
        return QSize(side, side + TEXT_LINES * line + PADDING)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
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
        text_top = square.bottom() + PADDING // 2
        score_rect = QRect(option.rect.left(), text_top, option.rect.width(), line)
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(score_rect, Qt.AlignmentFlag.AlignCenter, f"{index.data(ScoreRole):.3f}")
        painter.setFont(option.font)
        # the Photo, not PathRole: a str passed through Qt loses the bytes that are not UTF-8
        name = display_path(os.path.basename(index.data(PhotoRole).path))
        elided = option.fontMetrics.elidedText(
            name, Qt.TextElideMode.ElideMiddle, option.rect.width() - 2 * PADDING
        )
        painter.drawText(score_rect.translated(0, line), Qt.AlignmentFlag.AlignCenter, elided)
        painter.restore()
