"""The library: one object the GUI and the CLI drive for folders, models, indexing and search.

It owns the catalog connection used for searching and the in-memory vector indexes, and it
decides which model serves (answers searches): the active model once all its descriptors
exist, until then the model that served before, so a new model is indexed in the background
while the old one keeps answering. Indexing opens its own catalog connection, so it can run
in a worker thread or another process while searches go on. A library whose catalog cannot be
written (read-only media) is searched from an in-memory index; changing it raises
LibraryError.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from desktop.core.atomic import atomic_write
from desktop.core.catalog import (
    ACTIVE_MODEL,
    SERVING_MODEL,
    BrowseCursor,
    BrowseOrder,
    BrowsePage,
    Catalog,
    Folder,
    Label,
    ModelRecord,
    Photo,
)
from desktop.core.descriptor_model import DescriptorSession, check_model_file, provider_candidates
from desktop.core.duplicates import (
    DuplicateGroups,
    duplicate_pairs,
    duplicate_threshold,
    group_pairs,
    pair_index,
)
from desktop.core.feedback import refine
from desktop.core.images import ImageSource
from desktop.core.indexer import Indexer, ProgressCallback, SyncReport
from desktop.core.labels import LabelImport, TrainingSet, labelled_files, training_set
from desktop.core.paths import AppPaths
from desktop.core.priority import run_in_background
from desktop.core.queries import Query, QueryOutcome
from desktop.core.search import (
    NO_FILTER,
    SearchFilter,
    SearchResult,
    combine,
    top_k,
)
from desktop.core.status import FolderState, LibraryStatus, ModelState, SkippedFile
from desktop.core.trash import Outcome, TrashFailure, TrashReport, trash_file
from desktop.core.vector_index import APPROX_THRESHOLD, VectorIndex

CATALOG_FILE = "catalog.sqlite3"

log = logging.getLogger(__name__)


class LibraryError(Exception):
    """A request the library cannot satisfy; the message tells the user what to do."""


class Library:
    def __init__(
        self,
        paths: AppPaths,
        *,
        threads: int | None = None,
        provider: str | None = None,
        approx_threshold: int = APPROX_THRESHOLD,
    ) -> None:
        provider_candidates(provider)  # an impossible provider is refused now, not at a search
        self.paths = paths.create()
        self.catalog = Catalog(self.paths.data / CATALOG_FILE)
        self.threads = threads
        self.provider = provider
        self.approx_threshold = approx_threshold
        self._lock = threading.RLock()
        self._sessions: dict[int, DescriptorSession] = {}
        self._query_sessions: dict[int, DescriptorSession] = {}
        self._indexes: dict[int, VectorIndex] = {}
        self._index_mtimes: dict[int, int | None] = {}

    def close(self) -> None:
        """Close the catalog once no search or read is using it: a worker thread may still
        be in one when the window closes, and closing a connection under a running query
        crashes the process instead of raising."""
        with self._lock:
            self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def read_only(self) -> bool:
        """The catalog cannot be written: searching works, changing the library does not."""
        return self.catalog.read_only

    def _require_writable(self, change: str) -> None:
        if self.read_only:
            raise LibraryError(
                f"cannot {change}: the catalog {self.catalog.path} is read-only "
                "(searching still works)"
            )

    # folders -------------------------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike) -> Folder:
        self._require_writable("add a folder")
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder")
        with self._lock:
            return self.catalog.add_folder(str(folder))

    def remove_folder(self, path: str | os.PathLike) -> None:
        self._require_writable("remove a folder")
        with self._lock:
            try:
                folder = self.catalog.folder_by_path(str(Path(path).expanduser().resolve()))
            except KeyError:
                raise LibraryError(f"{path} is not a library folder") from None
            self.catalog.remove_folder(folder.id)

    def folders(self) -> list[Folder]:
        with self._lock:
            return self.catalog.folders()

    # models --------------------------------------------------------------------------------

    def add_model(self, path: str | os.PathLike, *, activate: bool = False) -> ModelRecord:
        """Check an ONNX file against the contract, keep a copy, and register it.

        The first model added becomes active. A model with the same content hash as a
        registered one is the same model.
        """
        self._require_writable("add a model")
        info = check_model_file(path, provider=self.provider).info
        stored = self.paths.data / "models" / f"{info.content_hash[:16]}.onnx"
        if not stored.exists():
            _copy_atomically(Path(path), stored)
        with self._lock:
            model_id = self.catalog.add_model(
                info.content_hash, info.name, str(stored), info.descriptor_dim, info.metadata
            )
            if activate or self.catalog.model_setting(ACTIVE_MODEL) is None:
                self.activate_model(model_id)
            return self.catalog.model(model_id)

    def activate_model(self, model_id: int) -> None:
        """Make a model the one to index with; searches move to it once it is complete."""
        self._require_writable("switch models")
        with self._lock:
            if self.catalog.model(model_id) is None:
                raise LibraryError(f"no model with id {model_id}")
            self.catalog.set_setting(ACTIVE_MODEL, str(model_id))

    def models(self) -> list[ModelRecord]:
        with self._lock:
            return self.catalog.models()

    def active_model(self) -> ModelRecord | None:
        with self._lock:
            model_id = self.catalog.model_setting(ACTIVE_MODEL)
            return self.catalog.model(model_id) if model_id is not None else None

    def serving_model(self) -> ModelRecord | None:
        """The serving model: the one that answers searches now."""
        with self._lock:
            active = self.active_model()
            serving_id = self.catalog.model_setting(SERVING_MODEL)
            if active is None or serving_id in (None, active.id):
                return active
            if self.catalog.count_missing_descriptors(active.id) == 0:
                return active
            return self.catalog.model(serving_id) or active

    def session(self, model: ModelRecord) -> DescriptorSession:
        """The onnxruntime session of a model that indexing embeds with (loaded once).

        A background session: when the first sync opens it, its threads run at the sync's
        background priority (`priority.run_in_background`)."""
        with self._lock:
            if model.id not in self._sessions:
                self._sessions[model.id] = DescriptorSession(
                    model.path, threads=self.threads, provider=self.provider, background=True
                )
            return self._sessions[model.id]

    def query_session(self, model: ModelRecord) -> DescriptorSession:
        """The session queries embed with: a second one, with threads of its own at normal
        priority, so a query does not queue behind an indexing batch."""
        with self._lock:
            if model.id not in self._query_sessions:
                self._query_sessions[model.id] = DescriptorSession(
                    model.path, threads=self.threads, provider=self.provider
                )
            return self._query_sessions[model.id]

    def prepare_queries(self) -> None:
        """Open the serving model's query session and load its vector index now, so the
        first query a user asks does not wait for them (0.6-0.8 s at 100k photos)."""
        model = self.serving_model()
        if model is not None:
            self.query_session(model)
            self.vector_index(model)

    def model_states(self) -> list[ModelState]:
        """Every registered model with its indexing progress, in the order they were added."""
        with self._lock:
            active_id = self.catalog.model_setting(ACTIVE_MODEL)
            serving = self.serving_model()
            return [
                ModelState(
                    record,
                    active=record.id == active_id,
                    serving=serving is not None and serving.id == record.id,
                    indexed=self.catalog.descriptor_count(record.id),
                    pending=self.catalog.count_missing_descriptors(record.id),
                    provider=self._provider_of(record),
                )
                for record in self.catalog.models()
            ]

    # indexing ------------------------------------------------------------------------------

    def sync(
        self,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        *,
        batch_size: int = 32,
        workers: int | None = None,
    ) -> SyncReport:
        """Bring the catalog in line with the folders and embed new photos with the active model.

        Safe to call from a worker thread: it uses its own catalog connection. The work runs
        at background priority, so searches meanwhile get the cores first.
        """
        self._require_writable("index")
        active = self.active_model()
        if active is None:
            raise LibraryError("no model yet: add one with `photo-search models add FILE.onnx`")
        with Catalog(self.catalog.path) as catalog:
            indexer = Indexer(
                catalog,
                lambda: self.session(active),
                active.id,
                batch_size=batch_size,
                workers=workers,
            )
            cancel = cancel or threading.Event()
            report = run_in_background(lambda: indexer.run(progress, cancel), cancel)
            if report.cancelled:  # the next run or search catches up from the change log
                return report
            if catalog.count_missing_descriptors(active.id) == 0:
                catalog.set_setting(SERVING_MODEL, str(active.id))
            try:
                self._save_index(catalog, active.id)
            except OSError as exc:  # e.g. a full disk: the catalog has everything anyway
                log.warning("could not save the vector index: %s", exc)
        return report

    def _index_path(self, model_id: int) -> Path:
        return self.paths.data / "indexes" / f"model-{model_id}.faiss"

    def _save_index(self, catalog: Catalog, model_id: int) -> None:
        """Bring the saved index up to date, then drop the change log it no longer needs.

        A saved index that reflects the latest change is left alone (a sync that found
        nothing writes nothing). Otherwise the index this library holds in memory is caught
        up and written, so searches and saving share one copy of the vectors; the library
        lock is held while it is written, not while the file is flushed to the disk. This
        runs with indexing, in the background: it is also where an index that outgrew its
        kind (exact past the threshold, say) is rebuilt, never in a search.
        """
        path = self._index_path(model_id)
        saved = VectorIndex.read_header(path)
        if (
            saved is not None
            and saved.model_id == model_id
            and saved.seq == catalog.latest_change_for(model_id)
            and saved.suits(self.approx_threshold)
        ):
            catalog.prune_changes(model_id, saved.seq)
            return
        if not self._held_index(catalog, model_id).suits(self.approx_threshold):
            rebuilt = VectorIndex.from_catalog(  # searches use the old one meanwhile
                catalog, model_id, approx_threshold=self.approx_threshold
            )
            with self._lock:
                self._indexes[model_id] = rebuilt
        written: list[int] = []

        def write(stream) -> None:
            with self._lock:
                index = self._held_index(catalog, model_id)
                index.write(stream)
                written.append(index.seq)

        atomic_write(path, write)
        with self._lock:
            self._index_mtimes[model_id] = _mtime(path)
        catalog.prune_changes(model_id, written[0])

    def _held_index(self, catalog: Catalog, model_id: int) -> VectorIndex:
        """The index this library holds for a model, caught up with `catalog`; loaded (or
        built) when it holds none or the change log it needs was pruned."""
        with self._lock:
            index = self._indexes.get(model_id)
            if index is None or index.seq < catalog.changes_floor(model_id):
                self._index_mtimes[model_id] = _mtime(self._index_path(model_id))
                index = self._load_or_build(catalog, model_id)
                self._indexes[model_id] = index
            else:
                index.catch_up(catalog)
            return index

    def _load_or_build(self, catalog: Catalog, model_id: int) -> VectorIndex:
        index = VectorIndex.load(self._index_path(model_id), model_id)
        if index is None or index.seq < catalog.changes_floor(model_id):
            return VectorIndex.from_catalog(
                catalog, model_id, approx_threshold=self.approx_threshold
            )
        index.catch_up(catalog)
        return index

    def vector_index(self, model: ModelRecord) -> VectorIndex:
        """The in-memory index of a model, caught up with the catalog.

        It is reloaded when the change log it needs was pruned, or when it no longer suits
        its size and indexing has saved a rebuilt one.
        """
        with self._lock:
            path = self._index_path(model.id)
            index = self._indexes.get(model.id)
            if (
                index is not None
                and not index.suits(self.approx_threshold)
                and _mtime(path) != self._index_mtimes.get(model.id)
            ):
                del self._indexes[model.id]
            return self._held_index(self.catalog, model.id)

    # labels --------------------------------------------------------------------------------

    def labels(self) -> list[Label]:
        with self._lock:
            return self.catalog.labels()

    def label(self, label: Label | int | str) -> Label:
        """A label by object, id or name."""
        with self._lock:
            if isinstance(label, Label):
                found = self.catalog.label(label.id)
            elif isinstance(label, int):
                found = self.catalog.label(label)
            else:
                found = self.catalog.label_by_name(label)
        if found is None:
            raise LibraryError(f"there is no label {label}")
        return found

    def create_label(self, name: str) -> Label:
        self._require_writable("create a label")
        with self._lock:
            try:
                return self.catalog.create_label(name)
            except ValueError as exc:
                raise LibraryError(str(exc)) from None

    def rename_label(self, label: Label | int | str, name: str) -> None:
        self._require_writable("rename a label")
        found = self.label(label)
        with self._lock:
            try:
                self.catalog.rename_label(found.id, name)
            except ValueError as exc:
                raise LibraryError(str(exc)) from None

    def delete_label(self, label: Label | int | str) -> None:
        """Forget a label; its photos stay in the library."""
        self._require_writable("delete a label")
        found = self.label(label)
        with self._lock:
            self.catalog.delete_label(found.id)

    def add_to_label(self, label: Label | int | str, photos: Sequence[Photo | int | str]) -> int:
        """Give photos a label; returns how many did not have it yet."""
        self._require_writable("label photos")
        found = self.label(label)
        ids = [self.photo(p).id for p in photos]
        with self._lock:
            return self.catalog.add_to_label(found.id, ids)

    def remove_from_label(
        self, label: Label | int | str, photos: Sequence[Photo | int | str]
    ) -> None:
        self._require_writable("label photos")
        found = self.label(label)
        ids = [self.photo(p).id for p in photos]
        with self._lock:
            self.catalog.remove_from_label(found.id, ids)

    def label_photos(self, label: Label | int | str) -> list[Photo]:
        found = self.label(label)
        with self._lock:
            return self.catalog.label_photos(found.id)

    def labels_of(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        """The label names of each of these photos that has any."""
        with self._lock:
            return self.catalog.labels_of(photo_ids)

    def import_labelled_folder(self, root: str | os.PathLike) -> LabelImport:
        """Label the library's photos in a folder tree (one sub-folder per label, created
        when missing); photos the library does not know yet are counted, not added."""
        self._require_writable("import labels")
        root = Path(root).expanduser().resolve()
        if not root.is_dir():
            raise LibraryError(f"{root} is not a folder")
        tree = labelled_files(root)
        if not tree:
            raise LibraryError(f"{root} has no sub-folders of photos: one per label is needed")
        added: dict[str, int] = {}
        not_in_library = 0
        with self._lock, self.catalog.transaction():
            for name, files in tree.items():
                ids = [p.id for p in map(self.catalog.photo_by_path, files) if p is not None]
                not_in_library += len(files) - len(ids)
                if not ids:
                    continue
                label = self.catalog.label_by_name(name) or self.catalog.create_label(name)
                added[label.name] = self.catalog.add_to_label(label.id, ids)
        return LabelImport(added, not_in_library)

    def training_set(self, labels: Sequence[Label | int | str] | None = None) -> TrainingSet:
        """What training on these labels (default: all) would use, and what it leaves out."""
        chosen = [self.label(label) for label in labels] if labels is not None else self.labels()
        rows = [
            (photo.path, str(photo.id), label.name)
            for label in chosen
            for photo in self.label_photos(label)
            if photo.error is None
        ]
        return training_set(rows)

    # search --------------------------------------------------------------------------------

    def embed_query(self, sources: Sequence[ImageSource], model: ModelRecord) -> np.ndarray:
        """The query vector for images (files, bytes or decoded images; several = their mean)."""
        if not sources:
            raise LibraryError("no query image given")
        return combine(self.query_session(model).embed_images(sources))

    def photo_query(
        self, photos: Sequence[Photo | int | str], model: ModelRecord
    ) -> tuple[np.ndarray, list[int]]:
        """The query vector for library photos, from their stored descriptors, and their ids."""
        with self._lock:
            found = [self.photo(p) for p in photos]
            ids, vectors = self.catalog.descriptors(model.id, [p.id for p in found])
        if len(ids) < len(found):
            missing = sorted(p.path for p in found if p.id not in set(ids.tolist()))
            raise LibraryError(f"not indexed yet: {', '.join(missing)}")
        return combine(vectors), ids.tolist()

    def _stored(self, model: ModelRecord, photo_ids: Sequence[int]) -> np.ndarray:
        """Stored descriptors [N, D] of photos (those not indexed yet are left out)."""
        if not photo_ids:
            return np.zeros((0, model.dim), np.float32)
        with self._lock:
            return self.catalog.descriptors(model.id, list(photo_ids))[1]

    def run_query(
        self,
        query: Query,
        *,
        top: int = 20,
        filters: SearchFilter = NO_FILTER,
        model: ModelRecord | None = None,
    ) -> QueryOutcome:
        """The `top` photos most like the query, with the serving model (or `model`: to
        compare two models on the same query, over the photos each has indexed).

        The query's vector is reused when that model computed it; otherwise library photos
        are looked up from their stored descriptors and images are embedded. Marked photos
        refine it from their stored descriptors.
        """
        started = time.perf_counter()
        model = model or self.require_serving_model()
        if query.embedded_with(model.id):
            vector, exclude = query.vector, list(query.exclude)
        elif query.photos:
            vector, exclude = self.photo_query(query.photos, model)
        elif query.images:
            vector, exclude = self.embed_query(query.images, model), []
        else:
            raise LibraryError("nothing to search with: give an image or a library photo")
        ranked = vector
        if query.good or query.bad:
            ranked = refine(vector, self._stored(model, query.good), self._stored(model, query.bad))
        results = self.search_vector(ranked, top=top, filters=filters, model=model, exclude=exclude)
        return QueryOutcome(
            query.with_vector(vector, model.id, exclude),
            results,
            time.perf_counter() - started,
        )

    def search_images(
        self,
        sources: Sequence[ImageSource],
        *,
        top: int = 20,
        filters: SearchFilter = NO_FILTER,
    ) -> list[SearchResult]:
        """Photos like the given images."""
        return self.run_query(Query(images=sources), top=top, filters=filters).results

    def similar_to(
        self,
        photos: Sequence[Photo | int | str],
        *,
        top: int = 20,
        filters: SearchFilter = NO_FILTER,
    ) -> list[SearchResult]:
        """Photos like photos already in the library (the photos themselves left out)."""
        return self.run_query(Query(photos=photos), top=top, filters=filters).results

    def search_vector(
        self,
        query: np.ndarray,
        *,
        top: int = 20,
        filters: SearchFilter = NO_FILTER,
        model: ModelRecord | None = None,
        exclude: Sequence[int] = (),
    ) -> list[SearchResult]:
        model = model or self.require_serving_model()
        with self._lock:
            return top_k(self.vector_index(model), self.catalog, query, top, filters, exclude)

    def photo(self, photo: Photo | int | str) -> Photo:
        """A catalog photo by object, id or path."""
        if isinstance(photo, Photo):
            return photo
        with self._lock:
            if isinstance(photo, int):
                found = self.catalog.photo(photo)
            else:
                found = self.catalog.photo_by_path(str(Path(photo).expanduser().resolve()))
        if found is None:
            raise LibraryError(f"{photo} is not in the library")
        return found

    def browse(
        self,
        order: BrowseOrder = BrowseOrder.NEWEST,
        after: BrowseCursor | None = None,
        limit: int = 200,
        filters: SearchFilter = NO_FILTER,
    ) -> BrowsePage:
        """A page of the library to look through without a query: what `filters` keep but
        for the similarity cutoff, which needs a query; the next page starts at
        `next_cursor`."""
        with self._lock:
            return self.catalog.browse(
                order,
                after,
                limit,
                folder=filters.folder,
                date_from=filters.date_from,
                date_to=filters.date_to,
            )

    def duplicates(self, threshold: float | None = None) -> list[list[Photo]]:
        """The groups of `find_duplicates(threshold)`."""
        return self.find_duplicates(threshold).groups

    def find_duplicates(self, threshold: float | None = None) -> DuplicateGroups:
        """Groups of near-identical photos, best copy first (desktop.core.duplicates): by
        the descriptor at `threshold` (default: the model's or the library's own level) and
        by the perceptual hash; with the levels used, for front ends to show.

        The library is locked only to read: the all-pairs search (tens of seconds at 100k
        photos) runs on an index of its own, so searches meanwhile are not held up.
        """
        model = self.require_serving_model()
        with self._lock:
            ids, vectors = self.catalog.descriptors(model.id)
            hashed = self.catalog.perceptual_hashes()
        levels = duplicate_threshold(model, ids, vectors, hashed, threshold)
        pairs = duplicate_pairs(pair_index(ids, vectors), ids, vectors, hashed, levels)
        with self._lock:
            return DuplicateGroups(group_pairs(pairs, self.catalog), levels)

    def require_serving_model(self) -> ModelRecord:
        model = self.serving_model()
        if model is None:
            raise LibraryError("no model yet: add one with `photo-search models add FILE.onnx`")
        return model

    # status --------------------------------------------------------------------------------

    def status(self) -> LibraryStatus:
        with self._lock:
            return LibraryStatus(
                catalog=str(self.catalog.path),
                read_only=self.read_only,
                folders=[
                    FolderState(f.path, f.online, f.scan_error) for f in self.catalog.folders()
                ],
                photos=self.catalog.counts()["photos"],
                skipped=[SkippedFile(p.path, p.error) for p in self.catalog.skipped_photos()],
                models=self.model_states(),
            )

    def _provider_of(self, model: ModelRecord) -> str | None:
        """Where the model's session runs; None until a search or indexing loads it."""
        session = self._sessions.get(model.id) or self._query_sessions.get(model.id)
        return session.provider if session is not None else None

    # trash ---------------------------------------------------------------------------------

    def trash_photos(self, photos: Sequence[Photo | int | str]) -> TrashReport:
        """Move photos' files to the system trash and forget them at once, as indexing
        forgets a deleted file (their descriptors, so no search returns them, and their
        labels go with them).

        A file already gone from a folder that can be reached is just forgotten. A file that
        cannot be moved (permissions, a drive without a trash, a folder offline, a file
        changed since it was indexed) stays, in the library too, with the reason. No file is
        ever deleted outright. Photos are looked up again by id, so a stale `Photo` names
        the file the catalog holds now.
        """
        self._require_writable("move photos to the trash")
        with self._lock:
            wanted = [self.photo(p) for p in photos]
            current = self.catalog.photos_by_ids([p.id for p in wanted])
            folders = {folder.id: folder.path for folder in self.catalog.folders()}
        trashed: list[Photo] = []
        gone: list[Photo] = []
        failed: list[TrashFailure] = []
        for asked in {p.id: p for p in wanted}.values():  # each photo once
            photo = current.get(asked.id)
            if photo is None:
                failed.append(TrashFailure(asked, "it is no longer in the library"))
                continue
            outcome = trash_file(photo, folders.get(photo.folder_id, os.path.dirname(photo.path)))
            if isinstance(outcome, str):
                failed.append(TrashFailure(photo, outcome))
                continue
            with self._lock:  # at once: a failure further on leaves the catalog right
                self.catalog.remove_photos([photo.id])
            (trashed if outcome is Outcome.TRASHED else gone).append(photo)
        return TrashReport(tuple(trashed), tuple(gone), tuple(failed))


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _copy_atomically(source: Path, destination: Path) -> None:
    with open(source, "rb") as original:
        atomic_write(destination, lambda stream: shutil.copyfileobj(original, stream))
