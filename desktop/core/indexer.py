"""Bringing the catalog in line with the library folders, then embedding what is new.

A sync has two phases. The diff phase walks every online folder and compares it with the
catalog in one transaction: new files are added, changed ones (size or mtime, then content
fingerprint) lose their stale descriptors, moved or renamed ones (same fingerprint) keep
theirs, deleted ones go. A folder that is missing is marked offline and its photos are kept.
Cancelling the diff phase (checked between folders, inside the walk and between
fingerprints) leaves the catalog as it was; a diff that finds nothing writes nothing.
The embed phase decodes photos in a thread pool while onnxruntime embeds the previous batch,
and commits each batch in its own small transaction, so an interrupted run keeps everything
it finished and the next run carries on. A photo that cannot be decoded is recorded with the
reason and skipped; nothing stops the run except cancellation, which is checked between
batches.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from desktop.core.catalog import Catalog, Photo
from desktop.core.descriptor_model import DescriptorSession
from desktop.core.images import (
    DEFAULT_MAX_PIXELS,
    DecodedPhoto,
    ImageLoadError,
    decode_photo,
    open_image,
)
from desktop.core.perceptual_hash import THUMBNAIL, photo_hashes
from desktop.core.scanner import (
    CANCEL_CHECK_FILES,
    FolderOfflineError,
    ScanCancelled,
    ScannedFile,
    check_cancel,
    fingerprint,
    scan_folder,
)

log = logging.getLogger(__name__)


HASH_DRAFT = 4 * THUMBNAIL
"""Shorter side a JPEG is drafted at for its hash alone: four times the hash's thumbnail,
so the hash is within a bit or two of the one computed from the full decode."""


class Phase(Enum):
    SCANNING = "scanning"
    """Walking the folders: `done` counts the files found, the total is not known yet."""
    READING = "reading"
    """Reading the content fingerprints of new and changed files."""
    EMBEDDING = "embedding"
    """Decoding photos and computing their descriptors."""
    HASHING = "hashing"
    """Perceptual hashes of photos indexed before the catalog kept them (one sync, once)."""


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
SCAN_PROGRESS_FILES = 1000
"""Files found between two progress reports of the walk (and after each folder)."""


class KnownFiles:
    """The catalog's photo files, as the diff compares the walk with them.

    One dict entry per path and the rest in flat arrays: at 100,000 photos this is ~20 MB,
    where photo objects and a second dict of the files found took ~75 MB beside the vector
    index.
    """

    def __init__(
        self,
        states: Iterable[tuple[int, int, str, int, int]],
        cancel: threading.Event | None = None,
    ) -> None:
        self._rows: dict[str, int] = {}
        self._ids, self._folders = array("q"), array("q")
        self._sizes, self._mtimes = array("q"), array("q")
        for photo_id, folder_id, path, size, mtime_ns in states:
            if len(self._ids) % CANCEL_CHECK_FILES == 0:
                check_cancel(cancel)  # reading 100,000 photos takes a quarter of a second
            self._rows[path] = len(self._ids)
            self._ids.append(photo_id)
            self._folders.append(folder_id)
            self._sizes.append(size)
            self._mtimes.append(mtime_ns)
        self._seen = bytearray(len(self._ids))

    def id_of(self, path: str) -> int | None:
        row = self._rows.get(path)
        return None if row is None else self._ids[row]

    def needs_work(self, file: ScannedFile) -> bool:
        """Note the file as found; True when it is new, or its size or mtime changed."""
        row = self._rows.get(file.path)
        if row is None:
            return True
        self._seen[row] = 1
        return (self._sizes[row], self._mtimes[row]) != (file.size, file.mtime_ns)

    def unseen(self, folder_ids: set[int], keep: Callable[[str], bool]) -> list[int]:
        """Ids of the photos of these folders that were not found, and whose path `keep`
        accepts."""
        return [
            self._ids[row]
            for path, row in self._rows.items()
            if not self._seen[row] and self._folders[row] in folder_ids and keep(path)
        ]


class Indexer:
    """Syncs the catalog with the folders and embeds missing descriptors for one model.

    `open_session` gives the onnxruntime session to embed with; it is called only when
    there is something to embed, so a rescan that finds nothing new neither waits for a
    model to load nor holds its memory.
    """

    def __init__(
        self,
        catalog: Catalog,
        open_session: Callable[[], DescriptorSession],
        model_id: int,
        *,
        batch_size: int = 32,
        workers: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.catalog = catalog
        self.open_session = open_session
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
        with contextlib.suppress(ScanCancelled):  # nothing was written
            self.update_catalog(report, progress, cancel)
        if not cancel.is_set():
            self.embed_missing(report, progress, cancel)
        if not cancel.is_set():
            self.hash_missing(progress, cancel)
        report.cancelled = cancel.is_set()
        report.seconds = time.monotonic() - started
        return report

    # diff phase ----------------------------------------------------------------------------

    def update_catalog(
        self,
        report: SyncReport,
        progress: ProgressCallback | None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Walk the folders and apply new, changed, moved and deleted files in one transaction.

        Raises ScanCancelled, having written nothing, when `cancel` is set before the
        changes are applied.
        """
        folders = self.catalog.folders()
        known = KnownFiles(self.catalog.file_states(), cancel)
        todo: dict[str, tuple[int, ScannedFile]] = {}
        """New files, and known ones whose size or mtime changed, with the id of the first
        folder that found them (a folder may lie inside another)."""
        offline: set[int] = set()
        problems: dict[int, list[tuple[str, str]]] = {}
        found = 0
        for folder in folders:
            check_cancel(cancel)
            found_here: list[tuple[str, str]] = []
            try:
                files = scan_folder(folder.path, found_here, cancel=cancel)
            except FolderOfflineError:
                offline.add(folder.id)
                report.offline_folders.append(folder.path)
                continue
            for file in files:
                found += 1
                if known.needs_work(file):
                    todo.setdefault(file.path, (folder.id, file))
                if progress and found % SCAN_PROGRESS_FILES == 0:
                    progress(Progress(Phase.SCANNING, found, 0, file.path, 0.0, None))
            problems[folder.id] = found_here
            report.folder_problems.extend(found_here)
            if progress:
                progress(Progress(Phase.SCANNING, found, 0, folder.path, 0.0, None))

        # photos under an unreadable sub-folder are kept, like those of an offline folder
        unreadable = tuple(path for found_here in problems.values() for path, _ in found_here)
        gone_ids = known.unseen(set(problems), lambda path: not _is_under(path, unreadable))
        digests = self._fingerprints(todo, report, progress, cancel)
        check_cancel(cancel)
        changed_ids = [known.id_of(path) for path in digests if known.id_of(path) is not None]
        photos = self.catalog.photos_by_ids([*changed_ids, *gone_ids])
        with self.catalog.transaction():
            for folder in folders:
                summary = "; ".join(f"{p}: {r}" for p, r in problems.get(folder.id, []))
                self.catalog.set_folder_state(folder.id, folder.id not in offline, summary or None)
            gone = {photos[i].path: photos[i] for i in gone_ids if i in photos}
            gone_by_fingerprint: dict[str, list[Photo]] = {}
            for photo in gone.values():
                gone_by_fingerprint.setdefault(photo.fingerprint, []).append(photo)

            for path, digest in digests.items():
                folder_id, file = todo[path]
                photo_id = known.id_of(path)
                if photo_id is not None:
                    self._apply_change(photos[photo_id], file, digest, report)
                    continue
                candidates = gone_by_fingerprint.get(digest)
                if candidates:
                    moved = candidates.pop()
                    del gone[moved.path]
                    self.catalog.move_photo(moved.id, folder_id, path, file.size, file.mtime_ns)
                    report.moved += 1
                else:
                    self.catalog.add_photo(folder_id, path, file.size, file.mtime_ns, digest)
                    report.added += 1
            if gone:
                self.catalog.remove_photos(photo.id for photo in gone.values())
            report.deleted += len(gone)

    def _fingerprints(
        self,
        todo: dict[str, tuple[int, ScannedFile]],
        report: SyncReport,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> dict[str, str]:
        """Content fingerprints of new files and of files whose size or mtime changed.

        Computed before the catalog transaction opens, so the write lock is held only for
        the short time it takes to apply the changes.
        """
        digests: dict[str, str] = {}
        started = time.monotonic()
        for done, (path, (_, file)) in enumerate(todo.items(), 1):
            check_cancel(cancel)
            try:
                digests[path] = fingerprint(path, file.size)
            except OSError as exc:  # vanished or unreadable: what is indexed stays
                report.folder_problems.append((path, f"cannot read: {exc.strerror or exc}"))
            if progress and (done % 200 == 0 or done == len(todo)):
                rate = done / max(time.monotonic() - started, 1e-6)
                eta = (len(todo) - done) / rate
                progress(Progress(Phase.READING, done, len(todo), path, rate, eta))
        return digests

    def _apply_change(
        self, photo: Photo, file: ScannedFile, digest: str, report: SyncReport
    ) -> None:
        if digest == photo.fingerprint:  # touched, not changed: keep the descriptors
            self.catalog.touch_photo(photo.id, file.size, file.mtime_ns)
            return
        self.catalog.replace_content(photo.id, file.size, file.mtime_ns, digest)
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
        if not pending:
            return
        session = self.open_session()
        total = len(pending)
        started = time.monotonic()
        done = 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="decode") as pool:
            for batch, results in self._decoded_batches(pool, session, pending, cancel):
                self._commit_batch(session, batch, results, report)
                done += len(batch)
                if progress:
                    progress(_timed(Phase.EMBEDDING, done, total, batch[-1].path, started))
                if cancel.is_set():
                    break

    def hash_missing(self, progress: ProgressCallback | None, cancel: threading.Event) -> None:
        """Hash the photos that were indexed before the catalog kept perceptual hashes, from
        small decodes (a JPEG drafted down to about HASH_DRAFT pixels), one transaction per
        batch."""
        pending = self.catalog.photos_missing_hash()
        if not pending:
            return
        started, total = time.monotonic(), len(pending)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="hash") as pool:
            for start in range(0, total, self.batch_size):
                batch = pending[start : start + self.batch_size]
                hashes = list(pool.map(self._hash, (photo.path for photo in batch)))
                self.catalog.set_hashes(
                    (photo.id, found) for photo, found in zip(batch, hashes, strict=True) if found
                )
                if progress:
                    done = start + len(batch)
                    progress(_timed(Phase.HASHING, done, total, batch[-1].path, started))
                if cancel.is_set():
                    return

    def _hash(self, path: str) -> tuple[int, int] | None:
        """A photo's hashes, or None if it cannot be read now (the next sync tries again)."""
        try:
            return photo_hashes(open_image(path, max_pixels=self.max_pixels, draft_size=HASH_DRAFT))
        except ImageLoadError:
            return None
        except Exception:  # noqa: BLE001 - one bad file must never stop the run
            log.exception("unexpected failure hashing %s", path)
            return None

    def _decoded_batches(
        self,
        pool: ThreadPoolExecutor,
        session: DescriptorSession,
        pending: Sequence[Photo],
        cancel: threading.Event,
    ) -> Iterator[tuple[list[Photo], list[DecodedPhoto | str]]]:
        """Yield batches whose photos are decoded, keeping the next batch decoding meanwhile."""
        batches = [
            list(pending[i : i + self.batch_size]) for i in range(0, len(pending), self.batch_size)
        ]
        in_flight: deque[tuple[list[Photo], list[Future]]] = deque()
        for batch in batches:
            in_flight.append((batch, [pool.submit(self._decode, session, p.path) for p in batch]))
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

    def _decode(self, session: DescriptorSession, path: str) -> DecodedPhoto | str:
        """The decoded photo, or the reason it cannot be used."""
        try:
            return decode_photo(path, session.input_spec, max_pixels=self.max_pixels, hashes=True)
        except ImageLoadError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop the run
            log.exception("unexpected failure decoding %s", path)
            return f"unexpected error: {type(exc).__name__}: {exc}"

    def _commit_batch(
        self,
        session: DescriptorSession,
        batch: list[Photo],
        results: list[DecodedPhoto | str],
        report: SyncReport,
    ) -> None:
        good = [(p, r) for p, r in zip(batch, results, strict=True) if not isinstance(r, str)]
        failed = [(p, r) for p, r in zip(batch, results, strict=True) if isinstance(r, str)]
        vectors = (
            session.embed(np.stack([r.pixels for _, r in good]))
            if good
            else np.zeros((0, 0), np.float32)
        )
        with self.catalog.transaction():
            self.catalog.store_descriptors(self.model_id, [p.id for p, _ in good], vectors)
            self.catalog.set_photo_info(
                (p.id, r.info.width, r.info.height, r.info.taken_at, r.hashes) for p, r in good
            )
            self.catalog.mark_failed((p.id, reason) for p, reason in failed)
        report.embedded += len(good)
        report.skipped.extend((p.path, reason) for p, reason in failed)


def _timed(phase: Phase, done: int, total: int, path: str, started: float) -> Progress:
    """Progress with the rate since `started` (time.monotonic) and the time left at it."""
    rate = done / max(time.monotonic() - started, 1e-6)
    return Progress(phase, done, total, path, rate, (total - done) / rate if rate > 0 else None)


def _is_under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + os.sep) for prefix in prefixes)
