"""A faiss index over one model's descriptors: a cache of the catalog, never the truth.

Ids are catalog photo ids. Small libraries get an exact inner-product index; past
`APPROX_THRESHOLD` vectors an IVF index (inverted lists, exact vectors, `nprobe` lists
searched) keeps a query in milliseconds at a million photos; its sizes are tuned for a
2-core desktop with bench/search_latency.py. Both support additions and removals, so the
index follows the catalog's change log (`Catalog.changes_since`) instead of being rebuilt.
Saved files carry the change number they reflect; a file that is missing, corrupt or older
than the pruned log is simply rebuilt from the catalog.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

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
_MAGIC = b"PSIDX1\n"


class VectorIndex:
    """Descriptors of one model, searchable by inner product (cosine on unit vectors)."""

    def __init__(self, index: faiss.Index, model_id: int, seq: int) -> None:
        self._index = index
        self._set_nprobe()
        self.model_id = model_id
        self.seq = seq
        """The catalog change number this index reflects."""

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

    def suits(self, approx_threshold: int) -> bool:
        """Whether this kind of index still fits its size.

        An exact index past the threshold is too slow to query; an IVF index that shrank
        below half the threshold, or grew far past what its lists were trained for, ranks
        worse than a rebuilt one would. The slack keeps a library near the threshold from
        flipping back and forth.
        """
        if not self.approximate:
            return self.size < approx_threshold
        trained_for = (self._index.nlist / 2) ** 2
        return approx_threshold // 2 <= self.size <= 4 * max(trained_for, approx_threshold)

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
            # 2 * sqrt(N) lists, not the usual 4 * sqrt(N): k-means and assigning every vector
            # cost about N * nlist products. At 1M on 2 busy cores, 4096 lists trained on 100
            # points each need ~30 s per k-means iteration (~6 min in all); this builds in ~90 s.
            nlist = 2 ** round(math.log2(2 * math.sqrt(len(ids))))
            nlist = max(1, min(nlist, len(ids) // TRAIN_POINTS_PER_LIST))
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            picked = np.random.default_rng(0).permutation(len(vectors))
            sample = vectors[picked[: nlist * TRAIN_POINTS_PER_LIST]]
            ivf.train(np.ascontiguousarray(sample, np.float32))
            index = ivf
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        built = cls(index, model_id, seq)
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
        seq = catalog.latest_change_for(model_id)
        ids, vectors = catalog.descriptors(model_id)
        dim = catalog.model(model_id).dim
        return cls.build(model_id, dim, ids, vectors, seq, approx_threshold=approx_threshold)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64)
            )
            self._set_nprobe()

    def remove(self, ids: np.ndarray) -> None:
        """Drop vectors; an IVF index then probes more lists, which are shorter now, so it
        answers as a reloaded copy of itself would."""
        if len(ids):
            self._index.remove_ids(np.asarray(ids, np.int64))
            self._set_nprobe()

    def catch_up(self, catalog: Catalog) -> int:
        """Apply the catalog's descriptor changes since `seq`; returns how many photos changed."""
        latest, changed = catalog.changes_since(self.model_id, self.seq)
        if changed:
            self.remove(np.asarray(changed, np.int64))
            ids, vectors = catalog.descriptors(self.model_id, changed)
            self.add(ids, vectors)
        self.seq = latest
        return len(changed)

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
        header = json.dumps({"model_id": self.model_id, "seq": self.seq}).encode()
        payload = faiss.serialize_index(self._index)

        def write(stream) -> None:
            stream.write(_MAGIC + struct.pack("<I", len(header)) + header)
            stream.write(payload.tobytes())

        atomic_write(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike, model_id: int) -> VectorIndex | None:
        """The saved index, or None when the file is missing, corrupt or for another model."""
        try:
            data = Path(path).read_bytes()
            if not data.startswith(_MAGIC):
                return None
            offset = len(_MAGIC)
            (length,) = struct.unpack_from("<I", data, offset)
            header = json.loads(data[offset + 4 : offset + 4 + length])
            payload = np.frombuffer(data, np.uint8, offset=offset + 4 + length)
            index = faiss.deserialize_index(payload.copy())
        except (OSError, ValueError, RuntimeError, struct.error):
            return None
        if header.get("model_id") != model_id:
            return None
        return cls(index, model_id, int(header["seq"]))
