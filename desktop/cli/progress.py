"""A one-line progress bar for indexing and downloads on a terminal (plain lines when not a
terminal)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from desktop.core.indexer import Progress
from desktop.core.model_download import DownloadProgress


class ProgressPrinter:
    def __init__(
        self,
        stream: TextIO,
        *,
        interval_s: float = 2.0,
        formatter: Callable[[Any], str] | None = None,
    ) -> None:
        """`formatter` turns a progress report into the line shown (indexing's by default)."""
        self.stream = stream
        self.formatter = formatter or format_progress
        self.interactive = stream.isatty()
        self.interval_s = interval_s
        self._last = 0.0
        self._drawn = False

    def update(self, progress: Any) -> None:
        now = time.monotonic()
        finished = progress.total and progress.done == progress.total
        if not self.interactive and now - self._last < self.interval_s and not finished:
            return
        self._last = now
        line = self.formatter(progress)
        if self.interactive:
            self.stream.write("\r" + line[:120].ljust(120))
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def format_progress(progress: Progress) -> str:
    if progress.phase == "scan" and not progress.total:
        return f"scanning: {progress.done} photos found  {progress.current}"
    if progress.phase == "scan":
        return f"reading new and changed files: {progress.done}/{progress.total}"
    share = progress.done / progress.total if progress.total else 1.0
    bar = "#" * int(share * 30)
    eta = (
        f"ETA {int(progress.eta_s // 60)}:{int(progress.eta_s % 60):02d}" if progress.eta_s else ""
    )
    return (
        f"embedding [{bar:<30}] {progress.done}/{progress.total} {progress.rate:.1f} photos/s {eta}"
    )


def format_download(progress: DownloadProgress) -> str:
    done = f"{progress.done / 1e6:.1f}"
    if not progress.total:
        return f"downloading {done} MB {progress.rate / 1e6:.1f} MB/s"
    share = progress.done / progress.total
    bar = "#" * int(share * 30)
    eta = (
        f"ETA {int(progress.eta_s // 60)}:{int(progress.eta_s % 60):02d}"
        if progress.eta_s is not None
        else ""
    )
    return (
        f"downloading [{bar:<30}] {done}/{progress.total / 1e6:.1f} MB "
        f"{progress.rate / 1e6:.1f} MB/s {eta}"
    )
