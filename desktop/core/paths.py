"""Where photo-search keeps its files: data (catalog, indexes), cache, config and logs.

By default the folders come from platformdirs. `PHOTO_SEARCH_HOME` (or a command's
`--library DIR`) moves all four under one folder, so tests, scripts and portable installs
keep everything in one place.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desktop import APP_NAME

HOME_ENV = "PHOTO_SEARCH_HOME"


@dataclass(frozen=True)
class AppPaths:
    data: Path
    cache: Path
    config: Path
    logs: Path

    def create(self) -> AppPaths:
        """Create the folders if needed and return self.

        A folder that cannot be created (a library on read-only media) is not an error here:
        a read-only library can still be searched, and what needs the folder says so.
        """
        for folder in (self.data, self.cache, self.config, self.logs):
            with contextlib.suppress(OSError):
                folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(library: str | os.PathLike | None = None) -> AppPaths:
    """The folders to use: `library` if given, else `$PHOTO_SEARCH_HOME`, else platformdirs."""
    root = library if library is not None else os.environ.get(HOME_ENV)
    if root:
        base = Path(root).expanduser().resolve()
        return AppPaths(base / "data", base / "cache", base / "config", base / "logs")
    return AppPaths(
        data=platformdirs.user_data_path(APP_NAME, appauthor=False),
        cache=platformdirs.user_cache_path(APP_NAME, appauthor=False),
        config=platformdirs.user_config_path(APP_NAME, appauthor=False),
        logs=platformdirs.user_log_path(APP_NAME, appauthor=False),
    )


_SURROGATES = re.compile("[\ud800-\udfff]")


def display_path(text: str) -> str:
    """A path (or a message that holds one) fit to show: each byte of a file name that is not
    valid UTF-8, which Python carries as a lone surrogate, becomes U+FFFD.

    Qt silently drops lone surrogates (showing a different, existing-looking name) and
    strict UTF-8 encoders refuse them; the path itself stays exact everywhere else.
    """
    return _SURROGATES.sub("\ufffd", text)


def resource_path(name: str) -> Path:
    """A file from the top-level `resources/` folder, in a checkout or a frozen build."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parents[2]
    return root / "resources" / name
