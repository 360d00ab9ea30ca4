"""Run-folder files written atomically (desktop.core.atomic): a run folder never holds a
half-written checkpoint, report or config."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from desktop.core.atomic import atomic_write


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
