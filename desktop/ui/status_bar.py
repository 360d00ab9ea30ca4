"""The status bar: the library in one line, and index progress in a bar wide enough to read.

Both elide rather than wrap or widen the window: at 1280 pixels with the platform's default
font, the progress text of a 100,000-photo run fits on one line.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QWidget

from desktop import text
from desktop.core.status import LibraryStatus

LONGEST_PROGRESS = "Indexing 100,000/100,000 · 88.8 photos/s · ETA 88:88"
"""The progress text the bar is sized for."""


class ElidedLabel(QLabel):
    """A one-line label that shows '…' where its text does not fit (the full text in its
    tooltip), instead of asking for the width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, value: str) -> None:  # noqa: N802 - Qt's name
        super().setText(value)
        self.setToolTip(value)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )
        painter.drawText(self.contentsRect(), Qt.AlignmentFlag.AlignVCenter, shown)
        painter.end()


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_label = ElidedLabel(self)
        self.status_label.setText("Opening the library…")
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(self.fontMetrics().horizontalAdvance(LONGEST_PROGRESS) + 40)
        self.progress.hide()
        self.addWidget(self.status_label, 1)
        self.addPermanentWidget(self.progress)

    def show_status(self, status: LibraryStatus, *, indexing: bool) -> None:
        self.status_label.setText(text.status_line(status, indexing=indexing))

    def show_progress(self, words: str, done: int, total: int) -> None:
        """Index progress; with a total of 0 (not known yet) the bar stays empty: a busy bar
        would hide the words, which say how far scanning has come."""
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done if total else 0)
        width = max(self.progress.width(), self.progress.minimumWidth()) - 16
        self.progress.setFormat(
            self.progress.fontMetrics().elidedText(words, Qt.TextElideMode.ElideRight, width)
        )
        self.progress.setToolTip(words)
        self.progress.show()

    def hide_progress(self) -> None:
        self.progress.hide()
