"""Atomic file writes: a file that matters is either the old one or the complete new one.

The writer fills a temporary file in the target's folder, then swaps it in with
`os.replace`, which is atomic on POSIX and Windows when both paths share a filesystem.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def atomic_write(
    path: str | os.PathLike, write: Callable[[IO[bytes]], object], *, durable: bool = True
) -> Path:
    """Call `write` on a temporary binary file next to `path`, then move it into place.

    `durable` flushes the data to the disk before the swap (skip it for caches).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
