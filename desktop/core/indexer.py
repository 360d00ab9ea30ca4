"""Bringing the catalog in line with the library folders, then embedding what is new.

A sync has two phases. The diff phase walks every online folder and compares it with the
catalog in one transaction: new files are added, changed ones (size or mtime, then content
fingerprint) lose their stale descriptors, moved or renamed ones (same fingerprint) keep
theirs, deleted ones go. A folder that is missing is marked offline and its photos are kept.
The embed phase decodes photos in a thread pool while onnxruntime embeds the previous batch,
and commits each batch in its own small transaction, so an interrupted run keeps everything
it finished and the next run carries on. A photo that cannot be decoded is recorded with the
reason and skipped; nothing stops the run except cancellation, which is checked between
batches.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from desktop.core.catalog import Catalog, Photo
from desktop.core.descriptor_model import DescriptorSession
from desktop.core.images import DEFAULT_MAX_PIXELS, DecodedPhoto, ImageLoadError, decode_photo
from desktop.core.scanner import FolderOfflineError, ScannedFile, fingerprint, scan_folder

log = logging.getLogger(__name__)


class Phase(Enum):
    SCANNING = "scanning"
    """Walking the folders: `done` counts the files found, the total is not known yet."""
    READING = "reading"
    """Reading the content fingerprints of new and changed files."""
    EMBEDDING = "embedding"
    """Decoding photos and computing their descriptors."""


@dataclass(frozen=True)
class Progress:
    phase: Phase
    done: int
    total: int
    current: str
    rate: float
    """Photos per second in this phase so far."""
    eta_s: float | None


@dataclass
class SyncReport:
    added: int = 0
    changed: int = 0
    moved: int = 0
    deleted: int = 0
    embedded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) for files that failed in this run."""
    offline_folders: list[str] = field(default_factory=list)
    folder_problems: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0


ProgressCallback = Callable[[Progress], None]


class Indexer:
    """Syncs the catalog with the folders and embeds missing descriptors for one model."""

    def __init__(
        self,
        catalog: Catalog,
        model: DescriptorSession,
        model_id: int,
        *,
        batch_size: int = 32,
        workers: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.catalog = catalog
        self.model = model
        self.model_id = model_id
        self.batch_size = batch_size
        self.workers = workers or min(8, os.cpu_count() or 2)
        self.max_pixels = max_pixels

    def run(
        self,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        cancel = cancel or threading.Event()
        self.update_catalog(report, progress)
        if not cancel.is_set():
            self.embed_missing(report, progress, cancel)
        report.cancelled = cancel.is_set()
        report.seconds = time.monotonic() - started
        return report

    # diff phase ----------------------------------------------------------------------------

    def update_catalog(self, report: SyncReport, progress: ProgressCallback | None) -> None:
        """Walk the folders and apply new, changed, moved and deleted files in one transaction."""
        folders = self.catalog.folders()
        scanned: dict[str, tuple[int, ScannedFile]] = {}
        offline: set[int] = set()
        problems: dict[int, list[tuple[str, str]]] = {}
        for folder in folders:
            try:
                result = scan_folder(folder.path)
            except FolderOfflineError:
                offline.add(folder.id)
                report.offline_folders.append(folder.path)
                continue
            problems[folder.id] = result.problems
            report.folder_problems.extend(result.problems)
            for file in result.files:
                scanned.setdefault(file.path, (folder.id, file))
            if progress:
                progress(Progress(Phase.SCANNING, len(scanned), 0, folder.path, 0.0, None))

        # photos under an unreadable sub-folder are kept, like those of an offline folder
        unreadable = tuple(path for found in problems.values() for path, _ in found)
        known = {
            photo.path: photo
            for folder_id in problems
            for photo in self.catalog.photos(folder_id)
            if not _is_under(photo.path, unreadable)
        }
        digests = self._fingerprints(scanned, known, report, progress)
        with self.catalog.transaction() as db:
            for folder in folders:
                summary = "; ".join(f"{p}: {r}" for p, r in problems.get(folder.id, []))
                self.catalog.set_folder_state(
                    db, folder.id, folder.id not in offline, summary or None
                )
            gone = {path: photo for path, photo in known.items() if path not in scanned}
            gone_by_fingerprint: dict[str, list[Photo]] = {}
            for photo in gone.values():
                gone_by_fingerprint.setdefault(photo.fingerprint, []).append(photo)

            for path, digest in digests.items():
                folder_id, file = scanned[path]
                photo = known.get(path)
                if photo is not None:
                    self._apply_change(db, photo, file, digest, report)
                    continue
                candidates = gone_by_fingerprint.get(digest)
                if candidates:
                    moved = candidates.pop()
                    del gone[moved.path]
                    self.catalog.move_photo(db, moved.id, folder_id, path, file.size, file.mtime_ns)
                    report.moved += 1
                else:
                    self.catalog.add_photo(db, folder_id, path, file.size, file.mtime_ns, digest)
                    report.added += 1
            db.executemany("DELETE FROM photos WHERE id = ?", [(p.id,) for p in gone.values()])
            report.deleted += len(gone)

    def _fingerprints(
        self,
        scanned: dict[str, tuple[int, ScannedFile]],
        known: dict[str, Photo],
        report: SyncReport,
        progress: ProgressCallback | None,
    ) -> dict[str, str]:
        """Content fingerprints of new files and of files whose size or mtime changed.

        Computed before the catalog transaction opens, so the write lock is held only for
        the short time it takes to apply the changes.
        """
        todo = [
            (path, file)
            for path, (_, file) in scanned.items()
            if path not in known
            or (known[path].size, known[path].mtime_ns) != (file.size, file.mtime_ns)
        ]
        digests: dict[str, str] = {}
        started = time.monotonic()
        for done, (path, file) in enumerate(todo, 1):
            try:
                digests[path] = fingerprint(path, file.size)
            except OSError as exc:  # vanished or unreadable: what is indexed stays
                report.folder_problems.append((path, f"cannot read: {exc.strerror or exc}"))
            if progress and (done % 200 == 0 or done == len(todo)):
                rate = done / max(time.monotonic() - started, 1e-6)
                eta = (len(todo) - done) / rate
                progress(Progress(Phase.READING, done, len(todo), path, rate, eta))
        return digests

    def _apply_change(self, db, photo: Photo, file: ScannedFile, digest: str, report) -> None:
        if digest == photo.fingerprint:  # touched, not changed: keep the descriptors
            db.execute(
                "UPDATE photos SET size = ?, mtime_ns = ? WHERE id = ?",
                (file.size, file.mtime_ns, photo.id),
            )
            return
        db.execute(
            "UPDATE photos SET size = ?, mtime_ns = ?, fingerprint = ?, width = NULL, "
            "height = NULL, taken_at = NULL, error = NULL WHERE id = ?",
            (file.size, file.mtime_ns, digest, photo.id),
        )
        db.execute("DELETE FROM descriptors WHERE photo_id = ?", (photo.id,))
        report.changed += 1

    # embed phase ---------------------------------------------------------------------------

    def embed_missing(
        self,
        report: SyncReport,
        progress: ProgressCallback | None,
        cancel: threading.Event,
    ) -> None:
        """Decode and embed every photo that lacks a descriptor, one transaction per batch."""
        pending = self.catalog.photos_missing_descriptor(self.model_id)
        total = len(pending)
        started = time.monotonic()
        done = 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="decode") as pool:
            for batch, results in self._decoded_batches(pool, pending, cancel):
                self._commit_batch(batch, results, report)
                done += len(batch)
                if progress:
                    elapsed = max(time.monotonic() - started, 1e-6)
                    rate = done / elapsed
                    eta = (total - done) / rate if rate > 0 else None
                    progress(Progress(Phase.EMBEDDING, done, total, batch[-1].path, rate, eta))
                if cancel.is_set():
                    break

    def _decoded_batches(
        self, pool: ThreadPoolExecutor, pending: Sequence[Photo], cancel: threading.Event
    ) -> Iterator[tuple[list[Photo], list[DecodedPhoto | str]]]:
        """Yield batches whose photos are decoded, keeping the next batch decoding meanwhile."""
        batches = [
            list(pending[i : i + self.batch_size]) for i in range(0, len(pending), self.batch_size)
        ]
        in_flight: deque[tuple[list[Photo], list[Future]]] = deque()
        for batch in batches:
            in_flight.append((batch, [pool.submit(self._decode, p.path) for p in batch]))
            if len(in_flight) > 2:
                head, futures = in_flight.popleft()
                yield head, [f.result() for f in futures]
                if cancel.is_set():
                    break
        while in_flight and not cancel.is_set():
            head, futures = in_flight.popleft()
            yield head, [f.result() for f in futures]
        for _, futures in in_flight:
            for future in futures:
                future.cancel()

    def _decode(self, path: str) -> DecodedPhoto | str:
        """The decoded photo, or the reason it cannot be used."""
        try:
            return decode_photo(path, self.model.input_spec, max_pixels=self.max_pixels)
        except ImageLoadError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop the run
            log.exception("unexpected failure decoding %s", path)
            return f"unexpected error: {type(exc).__name__}: {exc}"

    def _commit_batch(
        self, batch: list[Photo], results: list[DecodedPhoto | str], report: SyncReport
    ) -> None:
        good = [(p, r) for p, r in zip(batch, results, strict=True) if not isinstance(r, str)]
        failed = [(p, r) for p, r in zip(batch, results, strict=True) if isinstance(r, str)]
        vectors = (
            self.model.embed(np.stack([r.pixels for _, r in good]))
            if good
            else np.zeros((0, 0), np.float32)
        )
        with self.catalog.transaction() as db:
            self.catalog.store_descriptors(db, self.model_id, [p.id for p, _ in good], vectors)
            db.executemany(
                "UPDATE photos SET width = ?, height = ?, taken_at = ?, error = NULL WHERE id = ?",
                [(r.info.width, r.info.height, r.info.taken_at, p.id) for p, r in good],
            )
            self.catalog.mark_failed(db, [(p.id, reason) for p, reason in failed])
        report.embedded += len(good)
        report.skipped.extend((p.path, reason) for p, reason in failed)


def _is_under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + os.sep) for prefix in prefixes)
