"""The filters above the results: similarity, result count, folder and dates -> SearchFilter."""

from __future__ import annotations

import os

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.paths import display_path
from desktop.core.search import SearchFilter


class FilterBar(QWidget):
    changed = Signal()
    """A filter or the result count changed."""

    def __init__(self, result_count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.min_score = QSlider(Qt.Orientation.Horizontal, self)
        self.min_score.setRange(0, 100)
        self.min_score.setToolTip("Hide results less similar than this (0 = show all)")
        self.min_score.setMinimumWidth(120)
        self.min_score_label = QLabel("any", self)
        self.min_score_label.setMinimumWidth(36)
        self.count = QSpinBox(self)
        self.count.setRange(1, 1000)
        self.count.setValue(result_count)
        self.folder_filter = QComboBox(self)
        self.folder_filter.setMinimumContentsLength(12)
        self.folder_filter.addItem("All folders", None)
        self._folders: list[str | None] = [None]
        """The folder filter's paths by row (item data goes through QString, which drops
        the bytes of a name that are not valid UTF-8)."""
        self.date_filter = QCheckBox("Taken between", self)
        self.date_from = QDateEdit(QDate.currentDate().addYears(-1), self)
        self.date_to = QDateEdit(QDate.currentDate(), self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        first = QHBoxLayout()
        first.setContentsMargins(0, 0, 0, 0)
        first.addWidget(QLabel("Similarity ≥", self))
        first.addWidget(self.min_score, 1)
        first.addWidget(self.min_score_label)
        first.addSpacing(12)
        first.addWidget(QLabel("Results", self))
        first.addWidget(self.count)
        second = QHBoxLayout()
        second.addWidget(QLabel("Folder", self))
        second.addWidget(self.folder_filter, 1)
        second.addSpacing(12)
        second.addWidget(self.date_filter)
        second.addWidget(self.date_from)
        second.addWidget(QLabel("and", self))
        second.addWidget(self.date_to)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addLayout(first)
        rows.addLayout(second)
        self.min_score.valueChanged.connect(self._min_score_changed)
        self.date_filter.toggled.connect(self._date_toggled)
        for signal in (
            self.count.valueChanged,
            self.folder_filter.currentIndexChanged,
            self.date_from.dateChanged,
            self.date_to.dateChanged,
        ):
            signal.connect(lambda _: self.changed.emit())

    def search_filter(self) -> SearchFilter:
        value = self.min_score.value()
        date_from = date_to = None
        if self.date_filter.isChecked():
            date_from = self.date_from.date().toString("yyyy-MM-dd")
            date_to = self.date_to.date().toString("yyyy-MM-dd")
        return SearchFilter(value / 100 if value else -1.0, self.folder(), date_from, date_to)

    def folder(self) -> str | None:
        """The folder the results are limited to (None: all)."""
        return self._folders[max(self.folder_filter.currentIndex(), 0)]

    def narrowed(self) -> bool:
        """Whether the filters hide any photo (a search with no results can say so)."""
        return self.search_filter() != SearchFilter()

    def set_folders(self, folders: list[str]) -> None:
        """The library's folders to choose from; the chosen one stays chosen while it is
        there (when it is gone, the filter is `changed` to all folders)."""
        if self._folders == [None, *folders]:
            return  # refreshed while indexing: an open list stays open
        current = self.folder()
        self._folders = [None, *folders]
        self.folder_filter.blockSignals(True)
        self.folder_filter.clear()
        self.folder_filter.addItem("All folders", None)
        for folder in folders:
            self.folder_filter.addItem(display_path(os.path.basename(folder) or folder), folder)
        self.folder_filter.setCurrentIndex(
            self._folders.index(current) if current in folders else 0
        )
        self.folder_filter.blockSignals(False)
        if current is not None and current not in folders:
            self.changed.emit()

    def _min_score_changed(self, value: int) -> None:
        self.min_score_label.setText(f"{value / 100:.2f}" if value else "any")
        self.changed.emit()

    def _date_toggled(self, checked: bool) -> None:
        self.date_from.setEnabled(checked)
        self.date_to.setEnabled(checked)
        self.changed.emit()
