"""A one-line progress bar for indexing and downloads on a terminal (plain lines when not a
terminal). The words come from `desktop.text`, as in the window."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from desktop import text
from desktop.core.indexer import Phase, Progress
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


def _bar(done: int, total: int | None) -> str:
    share = done / total if total else 1.0
    return f"[{'#' * int(share * 30):<30}]"


def format_progress(progress: Progress) -> str:
    if progress.phase is Phase.SCANNING:
        return text.index_progress(progress)
    return f"{_bar(progress.done, progress.total)} {text.index_progress(progress)}"


def format_download(progress: DownloadProgress) -> str:
    line = f"Downloading {text.download_progress(progress)}"
    return f"{_bar(progress.done, progress.total)} {line}" if progress.total else line
