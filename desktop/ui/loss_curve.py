"""The training loss over the steps, drawn as the steps arrive (PySide6-Essentials ships no
QtCharts, and a curve needs little more than a QPainter path)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

SMOOTHING = 0.9
"""Weight of the past in the smoothed curve: a step's loss is noisy, the trend is what shows
whether training works."""
MARGIN = 6


class LossCurve(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 110)
        self.steps = 1
        self.losses: list[tuple[int, float]] = []
        self.smoothed: list[tuple[int, float]] = []

    def reset(self, steps: int) -> None:
        """A new run of `steps` steps: the x axis spans them all from the start."""
        self.steps = max(1, steps)
        self.losses.clear()
        self.smoothed.clear()
        self.update()

    def add(self, step: int, loss: float) -> None:
        previous = self.smoothed[-1][1] if self.smoothed else loss
        self.losses.append((step, loss))
        self.smoothed.append((step, SMOOTHING * previous + (1 - SMOOTHING) * loss))
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_height = painter.fontMetrics().height()
        plot = QRectF(self.rect()).adjusted(MARGIN, MARGIN + text_height, -MARGIN, -MARGIN)
        painter.setPen(palette.mid().color())
        painter.drawRect(plot)
        painter.setPen(palette.text().color())
        if not self.losses:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The loss appears here")
            return
        low = min(loss for _, loss in self.losses)
        high = max(loss for _, loss in self.losses)
        label = f"loss {self.smoothed[-1][1]:.4f} (smoothed) · range {low:.4f}-{high:.4f}"
        painter.drawText(MARGIN, MARGIN + painter.fontMetrics().ascent(), label)
        span = (high - low) or 1.0

        def point(step: int, loss: float) -> QPointF:
            x = plot.left() + plot.width() * step / self.steps
            return QPointF(x, plot.bottom() - plot.height() * (loss - low) / span)

        raw = QColor(palette.highlight().color())
        raw.setAlpha(70)
        for points, color, width in (
            (self.losses, raw, 1.0),
            (self.smoothed, palette.highlight().color(), 2.0),
        ):
            path = QPainterPath(point(*points[0]))
            for step, loss in points[1:]:
                path.lineTo(point(step, loss))
            painter.setPen(QPen(color, width))
            painter.drawPath(path)
