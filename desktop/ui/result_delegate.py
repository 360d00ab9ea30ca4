"""Draws one cell of the results grid: the thumbnail centred in a square with the user's
mark on it (✓ good, ✗ bad), the score (when there is a query), the file name and the photo's
labels as chips (where the grid shows labels); or a group's header row across the grid."""

from __future__ import annotations

import os
import zlib

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from desktop.core.paths import display_path
from desktop.ui.controllers.search import Mark
from desktop.ui.results_model import HeaderRole, LabelsRole, MarkRole, PhotoRole, ScoreRole

PADDING = 6
TEXT_LINES = 2
"""Lines under every thumbnail at least, so cells keep their size with or without a score."""
HEADER_LINES = 2
CHIP_GAP = 3
BADGE = 22
"""The mark's badge: its diameter in pixels."""
BADGES = {Mark.GOOD: ("✓", QColor(46, 158, 68)), Mark.BAD: ("✗", QColor(208, 48, 48))}


def text_lines(index) -> int:
    """Lines under the thumbnail: the score (with a query), the name, the labels (where the
    grid shows them)."""
    shown = (index.data(ScoreRole) is not None, True, index.data(LabelsRole) is not None)
    return max(TEXT_LINES, sum(shown))


def chip_colour(name: str) -> QColor:
    """A light colour of its own for each label, the same on every run."""
    return QColor.fromHsv(zlib.crc32(name.encode("utf-8", "replace")) % 360, 70, 240)


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
        return QSize(side, side + text_lines(index) * line + PADDING)

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
        target = square
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.size().scaled(square.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(square.center())
            painter.drawPixmap(target, pixmap)
        mark = index.data(MarkRole)
        if mark in BADGES:
            self._paint_badge(painter, target, *BADGES[mark])

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
        names = index.data(LabelsRole)
        if names:
            text_rect.translate(0, line)
            chips = text_rect.adjusted(PADDING, 1, -PADDING, -1)
            self._paint_chips(painter, chips, names, text_color)
        painter.restore()

    @staticmethod
    def _paint_badge(painter: QPainter, image: QRect, symbol: str, colour: QColor) -> None:
        """The mark in a coloured disc on the thumbnail's top right corner."""
        disc = QRect(image.right() - BADGE - 2, image.top() + 2, BADGE, BADGE)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("white"), 2))
        painter.setBrush(colour)
        painter.drawEllipse(disc)
        bold = QFont(painter.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(disc, Qt.AlignmentFlag.AlignCenter, symbol)
        painter.restore()

    @staticmethod
    def _paint_chips(painter: QPainter, rect: QRect, names: list[str], text: QColor) -> None:
        """The label names as rounded chips, centred in `rect`; "+N" for the ones that do
        not fit, and a first name too long for the line elided."""
        small = QFont(painter.font())
        small.setBold(False)
        small.setPointSizeF(small.pointSizeF() * 0.85)
        painter.setFont(small)
        metrics = QFontMetrics(small)
        pad = metrics.averageCharWidth()
        chips: list[tuple[str, QColor | None, int]] = []  # text, colour (none: "+N"), width
        room = rect.width()
        for number, name in enumerate(names):
            after = len(names) - number - 1
            keep = metrics.horizontalAdvance(f"+{after}") + CHIP_GAP if after else 0
            width = metrics.horizontalAdvance(name) + 2 * pad
            if chips and width + keep > room:
                more = f"+{after + 1}"
                chips.append((more, None, metrics.horizontalAdvance(more)))
                break
            if width + keep > room:
                shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, room - keep - 2 * pad)
                width = metrics.horizontalAdvance(shown) + 2 * pad
                chips.append((shown, chip_colour(name), width))
            else:
                chips.append((name, chip_colour(name), width))
            room -= width + CHIP_GAP
        left = rect.left() + (rect.width() - sum(width + CHIP_GAP for *_, width in chips)) // 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for shown, colour, width in chips:
            chip = QRect(left, rect.top(), width, rect.height())
            if colour is not None:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colour)
                painter.drawRoundedRect(chip, rect.height() / 2, rect.height() / 2)
            painter.setPen(QColor(40, 40, 40) if colour is not None else text)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, shown)
            left += width + CHIP_GAP

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
