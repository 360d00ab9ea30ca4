"""Near-duplicate groups side by side, best copy first, with open and reveal; the copies the
user unchecks go to the system trash.

Each photo has a Keep check box, the best copy (`desktop.core.duplicates.best_copy_key`)
checked. "Move unchecked to trash…" asks first, refuses to empty a group, and runs
`Library.trash_photos` in the worker pool; the photos that left the library leave the tree,
a group left with one photo goes, and `photos_removed` tells the window to refresh."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from desktop import text
from desktop.core.catalog import Photo
from desktop.core.duplicates import DuplicateGroups, KeepError, choose_keep, photos_to_trash
from desktop.core.library import Library
from desktop.core.paths import display_path
from desktop.core.trash import TrashReport
from desktop.ui.file_actions import open_in_viewer, reveal_in_file_manager
from desktop.ui.thumbnails import ThumbnailProvider
from desktop.ui.workers import WorkerPool, error_text

ICON = 72
AUTOMATIC = 0.0
"""The threshold box's minimum, shown as "automatic": the model's own level."""


class DuplicatesDialog(QDialog):
    photos_removed = Signal(object)
    """A TrashReport whose photos left the library: what shows them must refresh."""

    def __init__(
        self, library: Library, thumbnails: ThumbnailProvider, workers: WorkerPool, parent=None
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.thumbnails = thumbnails
        self.workers = workers
        self.setWindowTitle("Near-duplicates")
        self.resize(900, 600)
        self.threshold = QDoubleSpinBox(self)
        """The similarity that alone makes a duplicate; its minimum means the model's level
        (from its metadata, or estimated from the library), shown as "automatic"."""
        self.threshold.setRange(AUTOMATIC, 1.0)
        self.threshold.setSingleStep(0.001)
        self.threshold.setDecimals(4)
        self.threshold.setSpecialValueText("automatic")
        self.threshold.setValue(AUTOMATIC)
        self.threshold.setToolTip(
            "Photos this similar are near-duplicates on the model's word alone; photos with "
            "nearly the same perceptual hash are, whatever this says. Automatic: the level "
            "the model states, or one estimated from this library."
        )
        self.rule = QLabel("", self)
        """The rule the last search applied, with the level and where it came from."""
        self.rule.setWordWrap(True)
        self.find_button = QPushButton("Find duplicates", self)
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(("Keep · photo", "Size", "Bytes", "Folder"))
        self.tree.setIconSize(QSize(ICON, ICON))
        self.problems = QPlainTextEdit(self)
        """The photos that could not be moved to the trash, with why."""
        self.problems.setReadOnly(True)
        self.problems.setMaximumHeight(110)
        self.problems.hide()
        self.open_button = QPushButton("Open", self)
        self.reveal_button = QPushButton("Show in folder", self)
        self.trash_button = QPushButton("Move unchecked to trash…", self)
        self.trash_button.setToolTip(
            "Move the photos whose Keep box is unchecked to the system trash, where they can "
            "be restored; they leave the library"
        )
        top = QHBoxLayout()
        top.addWidget(QLabel("Similarity at least", self))
        top.addWidget(self.threshold)
        top.addWidget(self.find_button)
        top.addWidget(self.summary, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.trash_button)
        bottom.addStretch(1)
        bottom.addWidget(self.open_button)
        bottom.addWidget(self.reveal_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.rule)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.problems)
        layout.addLayout(bottom)
        self._items: dict[str, list[QTreeWidgetItem]] = {}
        self._photos: dict[int, Photo] = {}
        self.groups: list[list[Photo]] = []
        """The groups shown, each best copy first."""
        self.kept: set[int] = set()
        """The ids of the photos checked to keep."""
        self._trashing = False
        self.find_button.clicked.connect(self.find)
        self.trash_button.clicked.connect(self.trash_unchecked)
        self.open_button.clicked.connect(lambda: self._with_selected(open_in_viewer))
        self.reveal_button.clicked.connect(lambda: self._with_selected(reveal_in_file_manager))
        self.tree.itemDoubleClicked.connect(lambda item, _: self._with_selected(open_in_viewer))
        self.tree.itemChanged.connect(self._check_changed)
        thumbnails.ready.connect(self._thumbnail_ready)
        self._update_trash_button()

    def find(self) -> None:
        value = self.threshold.value()
        threshold = None if value == AUTOMATIC else value
        library = self.library
        self.find_button.setEnabled(False)
        self.summary.setText("Searching…")
        self.workers.start(
            lambda progress, cancel: library.find_duplicates(threshold),
            on_finished=self._found,
            on_error=self._find_failed,
        )

    def _found(self, found: DuplicateGroups) -> None:
        self.rule.setText(text.duplicate_rule(found.threshold))
        self.show_groups(found.groups)

    def _find_failed(self, exc: BaseException) -> None:
        self.find_button.setEnabled(True)
        self.summary.setText(f"Failed: {error_text(exc)}")

    def show_groups(self, groups: list[list[Photo]]) -> None:
        """New groups: each listed best copy first, only that one checked to keep."""
        self.find_button.setEnabled(True)
        self.problems.hide()
        chosen = [choose_keep(group) for group in groups]
        self.groups = [[keep, *extras] for keep, extras in chosen]
        self.kept = {keep.id for keep, _ in chosen}
        self._fill_tree()
        copies = sum(len(g) - 1 for g in self.groups)
        self.summary.setText(f"{len(self.groups)} groups, {copies} extra copies")

    def _fill_tree(self) -> None:
        self.tree.blockSignals(True)  # filling is not the user checking boxes
        self.tree.clear()
        self._items.clear()
        self._photos = {photo.id: photo for group in self.groups for photo in group}
        for number, group in enumerate(self.groups, 1):
            parent = QTreeWidgetItem(self.tree, [f"Group {number}: {len(group)} photos"])
            for rank, photo in enumerate(group):
                size = f"{photo.width} x {photo.height}" if photo.width else "?"
                label = display_path(os.path.basename(photo.path))
                label += "  (best)" if rank == 0 else ""
                folder = display_path(os.path.dirname(photo.path))
                item = QTreeWidgetItem(parent, [label, size, f"{photo.size:,}", folder])
                # the id, not the path: a str in item data goes through QString, which drops
                # the bytes of a name that are not valid UTF-8
                item.setData(0, Qt.ItemDataRole.UserRole, photo.id)
                checked = photo.id in self.kept
                item.setCheckState(0, Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                item.setToolTip(0, "Checked: keep it. Unchecked: it can go to the trash.")
                self._items.setdefault(photo.path, []).append(item)
                pixmap = self.thumbnails.pixmap(photo.path)
                if pixmap is not None:
                    item.setIcon(0, QIcon(pixmap))
            parent.setExpanded(True)
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self.tree.blockSignals(False)
        self._update_trash_button()

    def _check_changed(self, item: QTreeWidgetItem, column: int) -> None:
        photo_id = item.data(0, Qt.ItemDataRole.UserRole)
        if column != 0 or photo_id is None:
            return
        if item.checkState(0) == Qt.CheckState.Checked:
            self.kept.add(photo_id)
        else:
            self.kept.discard(photo_id)
        self._update_trash_button()

    def _update_trash_button(self) -> None:
        unchecked = any(p.id not in self.kept for group in self.groups for p in group)
        read_only = self.library.read_only
        self.trash_button.setEnabled(unchecked and not self._trashing and not read_only)
        if read_only:
            self.trash_button.setToolTip("The library is read-only: nothing can be moved.")

    # the trash -----------------------------------------------------------------------------

    def trash_unchecked(self) -> None:
        """Ask, then move the unchecked photos to the trash in the worker pool; a group with
        nothing checked is refused, and nothing moves."""
        try:
            doomed = photos_to_trash(self.groups, self.kept)
        except KeepError as exc:
            QMessageBox.warning(self, "Keep a copy of each photo", str(exc))
            return
        if not doomed or not self._confirm(len(doomed)):
            return
        self._trashing = True
        self.find_button.setEnabled(False)
        self.tree.setEnabled(False)
        self._update_trash_button()
        self.summary.setText(f"Moving {text.photos(len(doomed))} to the trash…")
        library = self.library
        self.workers.start(
            lambda progress, cancel: library.trash_photos(doomed),
            on_finished=self._trashed,
            on_error=self._trash_failed,
        )

    def _confirm(self, count: int) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Move to trash",
            f"Move {text.photos(count)} to the trash?\n\n"
            f"{'It leaves' if count == 1 else 'They leave'} the library and "
            f"{'its folder' if count == 1 else 'their folders'}, and can be restored from the "
            "system trash until it is emptied. The photos checked Keep stay.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        move = box.addButton("Move to trash", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is move

    def _trashed(self, report: TrashReport) -> None:
        self._done_trashing()
        removed = {photo.id for photo in report.removed}
        left = [[p for p in group if p.id not in removed] for group in self.groups]
        self.groups = [group for group in left if len(group) > 1]
        self.kept -= removed
        self._fill_tree()
        left = "1 group left" if len(self.groups) == 1 else f"{len(self.groups)} groups left"
        self.summary.setText(f"{text.trash_summary(report)} {left}.")
        self.problems.setPlainText(
            "\n".join(f"Not moved: {display_path(f.photo.path)}: {f.reason}" for f in report.failed)
        )
        self.problems.setVisible(bool(report.failed))
        if removed:
            self.photos_removed.emit(report)

    def _trash_failed(self, exc: BaseException) -> None:
        """The library refused or broke off (read-only, the catalog cannot be written):
        what moved before is unknown here, so the groups are to be found again."""
        self._done_trashing()
        self.summary.setText(
            f"Moving to the trash stopped: {error_text(exc)}. Find duplicates again to see "
            "what is left."
        )
        self.photos_removed.emit(TrashReport())

    def _done_trashing(self) -> None:
        self._trashing = False
        self.find_button.setEnabled(True)
        self.tree.setEnabled(True)
        self._update_trash_button()

    # showing -------------------------------------------------------------------------------

    def _thumbnail_ready(self, path: str) -> None:
        pixmap = self.thumbnails.pixmap(path)
        for item in self._items.get(path, []):
            item.setIcon(0, QIcon(pixmap))

    def _with_selected(self, action) -> None:
        item = self.tree.currentItem()
        photo = self._photos.get(item.data(0, Qt.ItemDataRole.UserRole)) if item else None
        if photo is not None:
            action(photo.path)
