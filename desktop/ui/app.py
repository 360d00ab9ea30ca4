"""Start the Qt application: the main window on a library, optionally scripted.

`photo-search gui --query IMAGE --screenshot OUT.png` runs the query, waits until the results
and their thumbnails are on screen, saves a screenshot of the window and exits: for checks
and documentation, and it works with QT_QPA_PLATFORM=offscreen.

`--debug` (or PHOTO_SEARCH_DEBUG=1) logs to stderr too, at debug level, and logs every stall
of the GUI thread over 50 ms with where it was stuck.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktop import APP_NAME
from desktop.core.catalog import CatalogError
from desktop.core.descriptor_model import ProviderError, provider_candidates
from desktop.core.library import Library
from desktop.core.paths import HOME_ENV, AppPaths, app_paths
from desktop.ui.main_window import MainWindow
from desktop.ui.qt_platform import platform_guard
from desktop.ui.settings import Settings
from desktop.ui.stall_watch import StallWatch

SCRIPT_TIMEOUT_S = 120
DEBUG_ENV = "PHOTO_SEARCH_DEBUG"
SHUTDOWN_WAIT_MS = 30000
"""How long the closed app waits for cancelled work before it closes the library anyway."""


def resolve_paths(library: str | None) -> AppPaths:
    """--library, else $PHOTO_SEARCH_HOME, else the location chosen in Settings, else default."""
    if library is None and not os.environ.get(HOME_ENV):
        chosen = Settings(app_paths().config).library_location
        if chosen:
            return app_paths(chosen).create()
    return app_paths(library).create()


def choose_provider(requested: str | None, saved: str | None) -> str | None:
    """--provider wins; a provider saved in Settings that this onnxruntime lacks (another
    install, say) gives way to the best one offered rather than keep the app from starting."""
    if requested or not saved:
        return requested
    try:
        provider_candidates(saved)
    except ProviderError as exc:
        logging.getLogger(__name__).warning("Settings: %s; using the best one offered", exc)
        return None
    return saved


def application() -> QApplication:
    """The QApplication; when Qt cannot load a platform plugin, the process prints why and
    what to install and exits (qt_platform) rather than abort."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    with platform_guard():
        return QApplication(sys.argv[:1])


def run(args: argparse.Namespace) -> int:
    app = application()
    app.setApplicationName(APP_NAME)
    paths = resolve_paths(args.library)
    log_format = "%(asctime)s %(name)s %(levelname)s %(message)s"
    try:
        logging.basicConfig(
            filename=paths.logs / "photo-search.log", level=logging.INFO, format=log_format
        )
    except OSError:  # a library on read-only media: it can still be searched
        logging.basicConfig(level=logging.INFO, format=log_format)
    debug = args.debug or os.environ.get(DEBUG_ENV) == "1"
    if debug:
        _log_to_stderr(log_format)
        StallWatch(parent=app).start()
    settings = Settings(paths.config)
    provider = choose_provider(args.provider, settings.provider)
    try:
        library = Library(paths, threads=settings.threads or None, provider=provider)
    except (CatalogError, ProviderError) as exc:
        print(f"photo-search: {exc}", file=sys.stderr)
        return 2
    scripted = bool(args.query or args.screenshot)
    window = MainWindow(library, settings, paths, index_on_start=not scripted)
    window.show()
    if args.query:
        window.search.search_files(args.query)
    if args.screenshot:
        QTimer.singleShot(0, lambda: _screenshot_when_settled(app, window, args.screenshot))
    status = app.exec()
    window.workers.wait(SHUTDOWN_WAIT_MS)  # the window is gone; cancelled work ends soon
    window.thumbnails.pool.waitForDone(SHUTDOWN_WAIT_MS)
    library.close()
    return status


def _log_to_stderr(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(log_format))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)


def _settled(window: MainWindow) -> bool:
    """No background work and every visible thumbnail drawn."""
    return not window.workers.busy and not window.thumbnails.loading


def _screenshot_when_settled(app: QApplication, window: MainWindow, out: str) -> None:
    """Poll until no work is pending twice in a row (results may start thumbnail loads)."""
    deadline = time.monotonic() + SCRIPT_TIMEOUT_S
    quiet = 0

    def check() -> None:
        nonlocal quiet
        quiet = quiet + 1 if _settled(window) else 0
        if quiet >= 3 or time.monotonic() > deadline:
            window.grab().save(out)
            print(f"saved {out}" + ("" if quiet >= 3 else " (timed out waiting)"))
            window.close()
            app.exit(0 if quiet >= 3 else 1)
            return
        QTimer.singleShot(100, check)

    QTimer.singleShot(100, check)
