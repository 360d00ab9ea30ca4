"""Atomic file writes: a run folder never holds a half-written checkpoint, report or config.

Each writer fills a temporary file in the target's folder, then swaps it in with
`os.replace`, which is atomic on POSIX and Windows when both paths share a filesystem.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write` on a temporary binary file next to `path`, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda stream: stream.write(data))


def write_json(path: str | os.PathLike, value: Any) -> Path:
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    return write_bytes(path, text.encode("utf-8"))


def write_json_lines(path: str | os.PathLike, records: list[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
    return write_bytes(path, text.encode("utf-8"))


def read_json_lines(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every complete record of a JSON-lines file; a torn last line (a crash) is dropped."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records
