"""What the library holds, as typed values: the one description the CLI and the window show.

`Library.status()` builds a `LibraryStatus`; `desktop.text` turns it into words and the CLI's
`--json` into a document, so a field is named once instead of as a string key per reader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from desktop.core.catalog import ModelRecord


@dataclass(frozen=True)
class FolderState:
    path: str
    online: bool
    problems: str | None
    """Why parts of the folder could not be read at the last scan (None when all could)."""


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class ModelState:
    """One registered model and how far indexing with it has come."""

    record: ModelRecord
    active: bool
    """Indexing uses this model; it serves searches once every photo has its descriptor."""
    serving: bool
    """This model answers searches now."""
    indexed: int
    pending: int
    """Photos of online folders still without this model's descriptor."""
    provider: str | None
    """Where the model's session runs; None until a search or indexing loads it."""


@dataclass(frozen=True)
class LibraryStatus:
    catalog: str
    read_only: bool
    folders: list[FolderState]
    photos: int
    skipped: list[SkippedFile]
    models: list[ModelState]

    @property
    def active(self) -> ModelState | None:
        return next((m for m in self.models if m.active), None)

    @property
    def serving(self) -> ModelState | None:
        return next((m for m in self.models if m.serving), None)

    @property
    def offline_folders(self) -> list[str]:
        return [f.path for f in self.folders if not f.online]

    def to_json(self) -> dict:
        """The document `photo-search status --json` prints."""
        return {
            "catalog": self.catalog,
            "read_only": self.read_only,
            "folders": [asdict(f) for f in self.folders],
            "photos": self.photos,
            "skipped": [asdict(s) for s in self.skipped],
            "models": [model_json(m) for m in self.models],
        }


def model_json(state: ModelState) -> dict:
    """A model's entry in `status --json` and `models list --json`."""
    return {
        "id": state.record.id,
        "name": state.record.name,
        "content_hash": state.record.content_hash,
        "dim": state.record.dim,
        "active": state.active,
        "serving": state.serving,
        "indexed": state.indexed,
        "pending": state.pending,
        "provider": state.provider,
    }
