"""A grid of photos (search results, the library, a label's photos) drawn by
`ResultDelegate`: several can be selected; a double-click or Enter finds photos like the
selected ones; the context menu finds similar, gives the selection a label, runs its owner's
commands, and opens, reveals or copies the photo."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QWidget

from desktop.core.catalog import Photo
from desktop.ui.file_actions import copy_image, copy_path, open_in_viewer, reveal_in_file_manager
from desktop.ui.label_dialogs import ask_label_name, choose_label
from desktop.ui.result_delegate import ResultDelegate
from desktop.ui.results_model import PhotoRole, ScoreRole

LAYOUT_BATCH = 100
"""Rows the grid lays out per event-loop turn (worst stall ~100 ms at 100k browsed photos
on a busy 2-core machine, against 1.7 s laid out at once)."""


class PhotoGrid(QListView):
    similar_requested = Signal(object)
    """Find photos like these (list[Photo]): a double-click, Enter or the menu."""
    label_requested = Signal(str, object)
    """Give photos (list of ids) the label of this name, a new one or not."""
    current_photo_changed = Signal(object, object)
    """The current photo and its similarity (None without a query), or None, None."""
    selection_changed = Signal(int)
    """How many photos are selected now."""

    def __init__(self, thumbnail_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        # Laid out a hundred rows per event-loop turn: with header rows, laying out 100k
        # browsed photos at once stalls the window for over a second.
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.setSpacing(4)
        self.setMouseTracking(True)
        self.delegate = ResultDelegate(thumbnail_size, self)
        self.setItemDelegate(self.delegate)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.doubleClicked.connect(lambda index: self._similar_to([index.data(PhotoRole)]))
        enter = QShortcut(QKeySequence(Qt.Key.Key_Return), self)
        enter.setContext(Qt.ShortcutContext.WidgetShortcut)
        enter.activated.connect(lambda: self._similar_to(self.selected_photos()))
        self.label_names: list[str] = []
        """The labels "Add to label" offers."""
        self.commands: list[tuple[str, Callable[[list[Photo]], None]]] = []
        """The owner's commands in the context menu, each run on the selected photos."""

    def selected_photos(self) -> list[Photo]:
        """The selected photos, in the grid's order (header rows hold none)."""
        rows = sorted(index.row() for index in self.selectedIndexes())
        photos = [self.model().index(row, 0).data(PhotoRole) for row in rows]
        return [photo for photo in photos if photo is not None]

    def label_selection(self) -> bool:
        """Ask which label to give the selected photos; False when none is selected."""
        photos = self.selected_photos()
        if not photos:
            return False
        name = choose_label(self, self.label_names, len(photos))
        if name is not None:
            self.label_requested.emit(name, [photo.id for photo in photos])
        return True

    def currentChanged(self, current, previous) -> None:
        super().currentChanged(current, previous)
        self.current_photo_changed.emit(current.data(PhotoRole), current.data(ScoreRole))

    def selectionChanged(self, selected, deselected) -> None:
        super().selectionChanged(selected, deselected)
        self.selection_changed.emit(len(self.selectedIndexes()))

    def _similar_to(self, photos: list[Photo | None]) -> None:
        photos = [photo for photo in photos if photo is not None]
        if photos:
            self.similar_requested.emit(photos)

    def _new_label(self, photos: list[Photo]) -> None:
        name = ask_label_name(self, "New label")
        if name is not None:
            self.label_requested.emit(name, [photo.id for photo in photos])

    def _menu(self, position) -> None:
        photo = self.indexAt(position).data(PhotoRole)
        if photo is None:
            return
        path, photos = photo.path, self.selected_photos() or [photo]
        ids = [p.id for p in photos]
        menu = QMenu(self)
        menu.addAction("Find similar", lambda: self._similar_to(photos))
        labels = menu.addMenu("Add to label")
        for name in self.label_names:
            shown = name.replace("&", "&&")  # a name's "&" is no shortcut key
            labels.addAction(shown, lambda name=name: self.label_requested.emit(name, ids))
        if self.label_names:
            labels.addSeparator()
        labels.addAction("New label…", lambda: self._new_label(photos))
        for text, command in self.commands:
            menu.addAction(text, lambda command=command: command(photos))
        menu.addSeparator()
        menu.addAction("Open", lambda: open_in_viewer(path))
        menu.addAction("Show in folder", lambda: reveal_in_file_manager(path))
        menu.addAction("Copy path", lambda: copy_path(path))
        menu.addAction("Copy image", lambda: copy_image(path))
        menu.exec(self.viewport().mapToGlobal(position))
