"""The words both front ends use: time left, progress, sync summaries, model roles, status,
a labelled folder import, photos moved to the trash.

The CLI and the window present them differently (a terminal line, a progress bar's text, a
status bar) but say the same thing, so each is written once here.
"""

from __future__ import annotations

from desktop.core.descriptor_model import PROVIDER_LABELS
from desktop.core.duplicates import DuplicateThreshold
from desktop.core.indexer import Phase, Progress, SyncReport
from desktop.core.labels import LabelImport
from desktop.core.model_download import DownloadProgress
from desktop.core.status import LibraryStatus, ModelState
from desktop.core.trash import TrashReport


def time_left(seconds: float | None) -> str:
    """'ETA 2:05' for a time left in seconds; empty when it is not known."""
    if seconds is None:
        return ""
    return f"ETA {int(seconds // 60)}:{int(seconds % 60):02d}"


def megabytes(size: int | None) -> str:
    """'85 MB', '2.4 MB' (a decimal below 10 MB, where a whole number says too little)."""
    if size is None:
        return "? MB"
    return f"{size / 1e6:,.1f} MB" if size < 10e6 else f"{size / 1e6:,.0f} MB"


def _joined(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


def index_progress(progress: Progress) -> str:
    """'Indexing 120/1,200 · 8.1 photos/s · ETA 2:13', and the like for the other phases."""
    if progress.phase is Phase.SCANNING:
        return f"Scanning: {progress.done:,} photos found"
    if progress.phase is Phase.READING:
        return f"Reading new files {progress.done:,}/{progress.total:,}"
    if progress.phase is Phase.HASHING:
        return f"Hashing for duplicates {progress.done:,}/{progress.total:,}"
    return _joined(
        f"Indexing {progress.done:,}/{progress.total:,}",
        f"{progress.rate:.1f} photos/s",
        time_left(progress.eta_s),
    )


def download_progress(progress: DownloadProgress) -> str:
    """'12 MB of 88 MB · 4.2 MB/s · ETA 0:18'."""
    return _joined(
        f"{megabytes(progress.done)} of {megabytes(progress.total)}",
        f"{progress.rate / 1e6:.1f} MB/s",
        time_left(progress.eta_s),
    )


def sync_summary(report: SyncReport) -> str:
    """One line on what an index run did."""
    summary = (
        f"{'Indexing cancelled' if report.cancelled else 'Indexed'}: "
        f"{report.added} added, {report.changed} changed, {report.moved} moved, "
        f"{report.deleted} removed, {report.embedded} embedded, "
        f"{len(report.skipped)} skipped in {report.seconds:.1f} s"
    )
    if report.offline_folders:
        summary += f"; offline: {', '.join(report.offline_folders)}"
    return summary


def photos(count: int) -> str:
    """'1 photo', '1,200 photos'."""
    return "1 photo" if count == 1 else f"{count:,} photos"


def label_import(report: LabelImport) -> str:
    """What importing a labelled folder tree did, and what to do about its photos the
    library does not know yet."""
    if report.added:
        labelled = ", ".join(f"{count:,} as “{name}”" for name, count in report.added.items())
        summary = f"Newly labelled {photos(sum(report.added.values()))}: {labelled}."
    else:
        summary = "No photo under this folder is in the library yet, so none was labelled."
    if report.not_in_library:
        missing = report.not_in_library
        are = "is" if missing == 1 else "are"
        summary += (
            f" {photos(missing)} under it {are} not in the library yet: add the folder to the "
            "library, let it be indexed, then import it again to label them."
        )
    return summary


LEVEL_SOURCES = {
    "model": "the model's own",
    "library": "estimated from this library",
    "default": "the default: too few photos to estimate from",
    "user": "your choice",
}


def duplicate_rule(levels: DuplicateThreshold) -> str:
    """'Near-duplicates: nearly the same perceptual hash (mirrored too), or similarity at
    least 0.9993 (estimated from this library).' The rule `duplicates` applies, in words."""
    return (
        "Near-duplicates: nearly the same perceptual hash (mirrored too), or similarity at "
        f"least {levels.sure:.4f} ({LEVEL_SOURCES[levels.source]})."
    )


def trash_summary(report: TrashReport) -> str:
    """'Moved 3 photos to the trash, where they can be restored; 1 photo could not be
    moved.' What moving photos to the trash did, in one line."""
    parts = []
    if report.trashed:
        they = "it" if len(report.trashed) == 1 else "they"
        parts.append(
            f"Moved {photos(len(report.trashed))} to the trash, where {they} can be restored"
        )
    if report.already_gone:
        gone = len(report.already_gone)
        were = "was" if gone == 1 else "were"
        parts.append(f"{photos(gone)} {were} already gone and left the library")
    if report.failed:
        parts.append(f"{photos(len(report.failed))} could not be moved")
    if not parts:
        return "Nothing was moved to the trash."
    summary = "; ".join(parts)
    return summary[0].upper() + summary[1:] + "."


def model_roles(state: ModelState) -> str:
    """'active, serving searches': what a model is used for now (empty: neither)."""
    roles = ["active"] if state.active else []
    if state.serving:
        roles.append("serving searches")
    return ", ".join(roles)


def provider_label(provider: str) -> str:
    return PROVIDER_LABELS.get(provider, provider)


def status_line(status: LibraryStatus, *, indexing: bool = False) -> str:
    """The library in one line: photos, the serving model and where it runs, the index."""
    parts = [f"{status.photos:,} photos"]
    if status.skipped:
        parts.append(f"{len(status.skipped):,} skipped")
    if status.read_only:
        parts.append("read-only library: search only")
    serving, active = status.serving, status.active
    if serving is not None and serving.provider:
        parts.append(f"model: {serving.record.name} on {provider_label(serving.provider)}")
    elif serving is not None:  # not loaded yet: where it will run is not known
        parts.append(f"model: {serving.record.name}")
    if indexing:
        parts.append("index: updating")
    elif active is not None and active.pending:
        parts.append(f"index: {active.pending:,} photos to index")
    elif active is not None:
        parts.append("index: complete")
    if status.offline_folders:
        parts.append(f"{len(status.offline_folders)} folder(s) offline")
    return "  ·  ".join(parts)
