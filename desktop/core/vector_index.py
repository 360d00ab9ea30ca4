"""A faiss index over one model's descriptors: a cache of the catalog, never the truth.

Ids are catalog photo ids. Small libraries get an exact inner-product index; past
`APPROX_THRESHOLD` vectors an IVF index (inverted lists, exact vectors, `nprobe` lists
searched) keeps a query in milliseconds at a million photos; its sizes are tuned for a
2-core desktop with bench/search_latency.py. Both support additions and removals, so the
index follows the catalog's change log (`Catalog.changes_since`) instead of being rebuilt.
Saved files carry the change number they reflect; a file that is missing, corrupt or older
than the pruned log is simply rebuilt from the catalog.

Memory is held to one copy of the vectors: files are written and read in chunks, never
through a serialized copy of the whole index, and an exact index keeps room for
`HEADROOM` more vectors, because growing it moves every vector (0.3 s and twice the memory
at 100k, which a query would wait for).
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

import faiss
import numpy as np

from desktop.core.atomic import atomic_write
from desktop.core.catalog import Catalog

APPROX_THRESHOLD = 200_000
"""Vector count from which an approximate (IVF) index is built instead of an exact one."""

MIN_NPROBE = 10
SCAN_VECTORS = 5_000
"""nprobe is set so a query compares about this many vectors (at least MIN_NPROBE lists):
recall@10 0.985 in 4 ms at 1M descriptors, 0.936 at 100k (bench/search_latency.py; the IVF
index is used from APPROX_THRESHOLD on). A fixed nprobe loses recall on small indexes,
whose lists are short."""
TRAIN_POINTS_PER_LIST = 50
"""k-means sample per list (faiss wants at least 39); training time grows with it."""
HEADROOM = 1 / 16
"""Room kept in an exact index for vectors to come, as a share of those it holds (at least
MIN_HEADROOM): enough for the photos of a long indexing run, for 6% more memory."""
MIN_HEADROOM = 1024
CHUNK = 4096
"""Vectors read or written at a time."""
_MAGIC = b"PSIDX2\n"
"""Then a little-endian u32 header length, the JSON header (`SavedIndex`), the vectors (for
an exact index the ids, int64, then the vectors, float32, as they are; for an IVF index
faiss's own serialization) and `_END`, so a file cut short is seen from its header alone."""
_END = b"\nPSIDX2 END\n"


@dataclass(frozen=True)
class SavedIndex:
    """What a saved index file says of itself, read without reading its vectors."""

    model_id: int
    seq: int
    size: int
    dim: int
    lists: int
    """Inverted lists of an IVF index, 0 for an exact one."""

    def suits(self, approx_threshold: int) -> bool:
        return _suits(self.size, self.lists, approx_threshold)


def _suits(size: int, lists: int, approx_threshold: int) -> bool:
    """Whether an index of this size and kind still fits its size.

    An exact index past the threshold is too slow to query; an IVF index that shrank below
    half the threshold, or grew far past what its lists were trained for, ranks worse than
    a rebuilt one would. The slack keeps a library near the threshold from flipping back
    and forth.
    """
    if not lists:
        return size < approx_threshold
    trained_for = (lists / 2) ** 2
    return approx_threshold // 2 <= size <= 4 * max(trained_for, approx_threshold)


class VectorIndex:
    """Descriptors of one model, searchable by inner product (cosine on unit vectors)."""

    def __init__(self, index: faiss.Index, model_id: int, seq: int) -> None:
        self._index = index
        self._capacity = self.size
        """Vectors an exact index holds before it must move them all to grow."""
        self._set_nprobe()
        self.model_id = model_id
        self.seq = seq
        """The catalog change number this index reflects."""

    @classmethod
    def _exact(cls, dim: int, count: int, model_id: int, seq: int) -> VectorIndex:
        """An empty exact index with room for `count` vectors and its headroom."""
        index = cls(_exact_index(dim), model_id, seq)
        index._make_room(count)
        return index

    def _make_room(self, needed: int) -> None:
        """Make sure an exact index holds `needed` vectors without moving them; past its
        room the vectors move once, to room for HEADROOM more."""
        if not self.approximate and needed > self._capacity:
            self._capacity = needed + max(MIN_HEADROOM, int(needed * HEADROOM))
            _reserve(self._index, self._capacity)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def approximate(self) -> bool:
        return isinstance(self._index, faiss.IndexIVF)

    @property
    def lists(self) -> int:
        """Inverted lists of an IVF index (0 for an exact one)."""
        return int(self._index.nlist) if self.approximate else 0

    @property
    def probes(self) -> int:
        """Lists an IVF query searches (0 for an exact one, which compares every vector)."""
        return int(self._index.nprobe) if self.approximate else 0

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def suits(self, approx_threshold: int) -> bool:
        """Whether this kind of index still fits its size (see `_suits`)."""
        return _suits(self.size, self.lists, approx_threshold)

    @classmethod
    def build(
        cls,
        model_id: int,
        dim: int,
        ids: np.ndarray,
        vectors: np.ndarray,
        seq: int,
        *,
        approx_threshold: int = APPROX_THRESHOLD,
    ) -> VectorIndex:
        """A new index over `vectors`, exact or IVF depending on how many there are."""
        if len(ids) >= approx_threshold:
            picked = np.random.default_rng(0).permutation(len(vectors))
            index = _trained_ivf(dim, len(ids), vectors[picked[: _ivf_sample_size(len(ids))]])
            built = cls(index, model_id, seq)
        else:
            built = cls._exact(dim, len(ids), model_id, seq)
        built.add(ids, vectors)
        return built

    def _set_nprobe(self) -> None:
        if isinstance(self._index, faiss.IndexIVF) and self.size:
            per_list = self.size / self._index.nlist
            nprobe = max(MIN_NPROBE, math.ceil(SCAN_VECTORS / per_list))
            self._index.nprobe = min(self._index.nlist, nprobe)

    @classmethod
    def from_catalog(
        cls, catalog: Catalog, model_id: int, *, approx_threshold: int = APPROX_THRESHOLD
    ) -> VectorIndex:
        """An index of every descriptor of the model, read from the catalog in chunks."""
        seq = catalog.latest_change_for(model_id)
        dim = catalog.model(model_id).dim
        count = catalog.descriptor_count(model_id)
        if count >= approx_threshold:
            ids = catalog.descriptor_ids(model_id)
            picked = np.random.default_rng(0).permutation(len(ids))[: _ivf_sample_size(count)]
            _, sample = catalog.descriptors(model_id, ids[np.sort(picked)])
            index = cls(_trained_ivf(dim, count, sample), model_id, seq)
        else:
            index = cls._exact(dim, count, model_id, seq)
        index._add_chunks(catalog.iter_descriptors(model_id, CHUNK))
        return index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._make_room(self.size + len(ids))
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64)
            )
            self._set_nprobe()

    def _add_chunks(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> None:
        for ids, vectors in chunks:
            self.add(ids, vectors)

    def remove(self, ids: np.ndarray) -> None:
        """Drop vectors; an IVF index then probes more lists, which are shorter now, so it
        answers as a reloaded copy of itself would."""
        if len(ids):
            self._index.remove_ids(np.asarray(ids, np.int64))
            self._set_nprobe()

    def catch_up(self, catalog: Catalog) -> int:
        """Apply the catalog's descriptor changes since `seq`; returns how many photos changed.

        Only vectors the index holds are removed: while indexing runs the changes are new
        photos, and removing from an exact index scans and compacts all of it.
        """
        latest, changed = catalog.changes_since(self.model_id, self.seq)
        if changed:
            changed_ids = np.asarray(changed, np.int64)
            self.remove(changed_ids if self.approximate else self._held(changed_ids))
            ids, vectors = catalog.descriptors(self.model_id, changed)
            self.add(ids, vectors)
        self.seq = latest
        return len(changed)

    def _held(self, ids: np.ndarray) -> np.ndarray:
        """Those of `ids` an exact index holds."""
        return ids[np.isin(ids, _ids_view(self._index))]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) [Q, k]; missing neighbours have id -1."""
        k = max(1, min(k, self.size)) if self.size else 1
        queries = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        if self.size == 0:
            return np.full((len(queries), k), -np.inf, np.float32), np.full(
                (len(queries), k), -1, np.int64
            )
        if len(queries) > 1:
            return self._index.search(queries, k)
        # One query gains nothing from faiss's OpenMP threads but pays their synchronisation:
        # 3x slower on a busy 2-core machine (bench/search_latency.py). The setting is per
        # calling thread, so builds and batches elsewhere keep every thread.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self._index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(threads)

    def range_search(
        self, queries: np.ndarray, threshold: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lims, scores, ids) of every stored vector with inner product above `threshold`."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
        return self._index.range_search(queries, float(threshold))

    def save(self, path: str | os.PathLike) -> None:
        """Write the index atomically: a temporary file, then `os.replace`."""
        atomic_write(path, self.write)

    def write(self, stream: IO[bytes]) -> None:
        """Write the index file's bytes to `stream`, a chunk at a time."""
        header = json.dumps(
            {
                "model_id": self.model_id,
                "seq": self.seq,
                "size": self.size,
                "dim": self.dim,
                "lists": self.lists,
            }
        ).encode()
        stream.write(_MAGIC + struct.pack("<I", len(header)) + header)
        if self.approximate:
            faiss.write_index(self._index, faiss.PyCallbackIOWriter(stream.write))
        else:
            stream.write(memoryview(_ids_view(self._index)))
            vectors = _vectors_view(self._index)
            for start in range(0, len(vectors), CHUNK):
                stream.write(memoryview(vectors[start : start + CHUNK]))
        stream.write(_END)

    @staticmethod
    def read_header(path: str | os.PathLike) -> SavedIndex | None:
        """What a saved index says of itself; None when the file is missing or not one."""
        try:
            with open(path, "rb") as stream:
                return _read_header(stream)
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            return None

    @classmethod
    def load(cls, path: str | os.PathLike, model_id: int) -> VectorIndex | None:
        """The saved index, or None when the file is missing, corrupt or for another model."""
        try:
            with open(path, "rb") as stream:
                header = _read_header(stream)
                if header.model_id != model_id:
                    return None
                if header.lists:
                    index = cls(faiss.read_index(faiss.PyCallbackIOReader(stream.read)), 0, 0)
                else:
                    index = cls._exact(header.dim, header.size, 0, 0)
                    index._add_chunks(_read_exact(stream, header))
                if stream.read() != _END or index.size != header.size:
                    return None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, struct.error):
            return None
        index.model_id, index.seq = model_id, header.seq
        return index


def _read_header(stream: IO[bytes]) -> SavedIndex:
    """The header of a complete index file, the stream left where the vectors start."""
    if stream.read(len(_MAGIC)) != _MAGIC:
        raise ValueError("not a saved index")
    (length,) = struct.unpack("<I", stream.read(4))
    header = json.loads(stream.read(length))
    fields = ("model_id", "seq", "size", "dim", "lists")
    saved = SavedIndex(*(int(header[name]) for name in fields))
    start = stream.tell()
    end = stream.seek(0, os.SEEK_END)
    exact_end = start + saved.size * (8 + 4 * saved.dim) + len(_END)
    if (not saved.lists and end != exact_end) or end - start < len(_END):
        raise ValueError("the index file is cut short")
    stream.seek(end - len(_END))
    if stream.read() != _END:
        raise ValueError("the index file is cut short")
    stream.seek(start)
    return saved


def _read_exact(stream: IO[bytes], header: SavedIndex):
    """(ids, vectors) chunks of an exact index's file."""
    ids = _read_array(stream, np.int64, (header.size,))
    for start in range(0, header.size, CHUNK):
        count = min(CHUNK, header.size - start)
        yield ids[start : start + count], _read_array(stream, np.float32, (count, header.dim))


def _read_array(stream: IO[bytes], dtype, shape: tuple[int, ...]) -> np.ndarray:
    array = np.empty(shape, dtype)
    if stream.readinto(memoryview(array).cast("B")) != array.nbytes:
        raise ValueError("the index file is cut short")
    return array


def _ivf_sample_size(count: int) -> int:
    return _ivf_lists(count) * TRAIN_POINTS_PER_LIST


def _ivf_lists(count: int) -> int:
    # 2 * sqrt(N) lists, not the usual 4 * sqrt(N): k-means and assigning every vector
    # cost about N * nlist products. At 1M on 2 busy cores, 4096 lists trained on 100
    # points each need ~30 s per k-means iteration (~6 min in all); this builds in ~90 s.
    nlist = 2 ** round(math.log2(2 * math.sqrt(count)))
    return max(1, min(nlist, count // TRAIN_POINTS_PER_LIST))


def _trained_ivf(dim: int, count: int, sample: np.ndarray) -> faiss.Index:
    """An empty IVF index for about `count` vectors, its lists trained on `sample`."""
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, _ivf_lists(count), faiss.METRIC_INNER_PRODUCT)
    ivf.train(np.ascontiguousarray(sample, np.float32))
    return ivf


def _exact_index(dim: int) -> faiss.Index:
    return faiss.IndexIDMap(faiss.IndexFlatIP(dim))


def _reserve(index: faiss.IndexIDMap, capacity: int) -> None:
    """Allocate room for `capacity` vectors in an exact index. faiss keeps its vectors and
    ids in std::vectors and has no reserve(): growing them to the capacity and back to the
    size leaves that capacity allocated."""
    flat = faiss.downcast_index(index.index)
    size = int(index.ntotal)
    flat.codes.resize(capacity * flat.code_size)
    flat.codes.resize(size * flat.code_size)
    index.id_map.resize(capacity)
    index.id_map.resize(size)


def _ids_view(index: faiss.IndexIDMap) -> np.ndarray:
    """The ids an exact index holds, as a view of its own memory (valid until it changes)."""
    return faiss.rev_swig_ptr(index.id_map.data(), int(index.ntotal))


def _vectors_view(index: faiss.IndexIDMap) -> np.ndarray:
    """The vectors an exact index holds, as a view of its own memory."""
    flat = faiss.downcast_index(index.index)
    data = faiss.rev_swig_ptr(flat.codes.data(), int(index.ntotal) * flat.code_size)
    return data.view(np.float32).reshape(int(index.ntotal), int(index.d))
