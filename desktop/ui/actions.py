"""The window's commands as data: one row per action, with its menu, toolbar place, shortcut
and when it is enabled; `build_actions` turns the table into QActions, menus and a toolbar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow


@dataclass(frozen=True)
class WindowState:
    """What decides which actions are enabled."""

    has_model: bool = False
    writable: bool = False
    has_photos: bool = False
    indexing: bool = False


@dataclass(frozen=True)
class ActionSpec:
    key: str
    """Names the action and its handler."""
    text: str
    menu: str
    shortcut: QKeySequence.StandardKey | str | None = None
    tip: str = ""
    toolbar: bool = False
    separator_before: bool = False
    enabled: Callable[[WindowState], bool] = lambda state: True


ACTIONS = (
    ActionSpec(
        "open", "&Open image…", "&File", QKeySequence.StandardKey.Open,
        "Search with one or more photos from disk", toolbar=True,
        enabled=lambda state: state.has_model,
    ),
    ActionSpec(
        "paste", "&Paste image", "&File", QKeySequence.StandardKey.Paste,
        "Search with an image or a file copied to the clipboard", toolbar=True,
        enabled=lambda state: state.has_model,
    ),
    ActionSpec(
        "add_folder", "Add &folder…", "&File", tip="Add a photo folder to the library and index it",
        toolbar=True, enabled=lambda state: state.writable,
    ),
    ActionSpec("quit", "&Quit", "&File", QKeySequence.StandardKey.Quit, separator_before=True),
    ActionSpec(
        "index", "&Index now", "&Library", "F5", "Find new, changed and removed photos",
        toolbar=True, enabled=lambda state: state.has_model and state.writable,
    ),
    ActionSpec(
        "cancel_indexing", "&Cancel indexing", "&Library", enabled=lambda state: state.indexing
    ),
    ActionSpec(
        "duplicates", "Find &duplicates…", "&Library", toolbar=True,
        enabled=lambda state: state.has_model and state.has_photos,
    ),
    ActionSpec("models", "&Models…", "&Library", toolbar=True, separator_before=True),
    ActionSpec("settings", "&Settings…", "&Library"),
    ActionSpec(
        "label_selection", "&Add selected photos to label…", "La&bels", "Ctrl+L",
        "Give the selected photos a label, or a new one", enabled=lambda state: state.writable,
    ),
    ActionSpec(
        "import_labels", "&Import labelled folders…", "La&bels",
        tip="Label the library's photos by folder: one sub-folder per label",
        enabled=lambda state: state.writable,
    ),
    ActionSpec(
        "train", "&Train on my labels…", "La&bels", separator_before=True,
        tip="Fine-tune a model on your labelled photos, measure it, and use it",
        enabled=lambda state: state.has_model and state.writable,
    ),
)  # fmt: skip


def build_actions(
    window: QMainWindow, handlers: Mapping[str, Callable[[], object]]
) -> dict[str, QAction]:
    """The table's actions in the window's menus and toolbar, each triggering its handler."""
    actions: dict[str, QAction] = {}
    menus = {}
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main-toolbar")
    toolbar.setMovable(False)
    for spec in ACTIONS:
        action = QAction(spec.text, window)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        action.setStatusTip(spec.tip)
        action.triggered.connect(lambda _=False, handler=handlers[spec.key]: handler())
        window.addAction(action)
        if spec.menu not in menus:
            menus[spec.menu] = window.menuBar().addMenu(spec.menu)
        if spec.separator_before:
            menus[spec.menu].addSeparator()
        menus[spec.menu].addAction(action)
        if spec.toolbar:
            toolbar.addAction(action)
        actions[spec.key] = action
    return actions


def update_actions(actions: Mapping[str, QAction], state: WindowState) -> None:
    for spec in ACTIONS:
        actions[spec.key].setEnabled(spec.enabled(state))
