"""Search latency: exact against approximate (IVF) search, and a whole query end to end.

Stored descriptors are synthetic but shaped like real ones, not uniform noise: unit
vectors drawn around a few thousand class centres of uneven size, with a shared mean
direction (real descriptors are anisotropic) and a decaying spectrum (eigenvalues ~ i^-0.7).
The run prints the resulting cosines (same class, other class, nearest neighbour) so the
shape can be judged. Queries are new draws from the same classes, never in the base set.

For 10k, 100k and 1M stored vectors it measures build time, single-query latency (median
and p95, one query per call, k = 10) of our `VectorIndex` forced exact and forced
approximate, and recall@10 of the approximate index against exact search. Then, at 100k,
a whole query through `Library.search_images`: decode a real photo, embed it with a
DeiT-Small-sized ONNX model, search, look up the results in the catalog.

    .venv/bin/python bench/search_latency.py [--sizes 10000 100000 1000000] [--queries 300]

Targets (issue 4): <= 5 ms at 1M with recall@10 >= 0.95; end to end at 100k <= 150 ms.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import (
    DEFAULT_ARCH,
    DEFAULT_WORK_DIR,
    ensure_camera_photos,
    ensure_model,
    machine_load,
    median_p95,
    print_result,
    shared_photos,
    timed,
)

from desktop.core.images import decode_photo
from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.core.vector_index import VectorIndex

DIM = 384
K = 10
E2E_SIZE = 100_000


class DescriptorLike:
    """A generator of unit vectors clustered like image descriptors.

    x = normalise(m + c_y + e): m a shared mean direction (norm 0.6), c_y the centre of
    class y (norm ~1), e per-image noise (norm ~0.7); c and e follow a decaying spectrum in
    a random basis. Class sizes are log-normal, as in real collections. This gives cosines
    around 0.7 within a class and 0.2 across classes.
    """

    def __init__(self, dim: int, classes: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        spectrum = (1.0 + np.arange(dim)) ** -0.35
        spectrum /= np.linalg.norm(spectrum)
        rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        self.basis = (spectrum[:, None] * rotation).astype(np.float32)
        mean = rng.standard_normal(dim)
        self.mean = (0.6 * mean / np.linalg.norm(mean)).astype(np.float32)
        self.centres = self._shaped(rng, classes)
        weights = rng.lognormal(0.0, 1.0, classes)
        self.weights = weights / weights.sum()

    def _shaped(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return rng.standard_normal((count, len(self.basis)), np.float32) @ self.basis

    def sample(self, count: int, seed: int, chunk: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
        """(vectors float32 [count, dim], class labels [count])."""
        rng = np.random.default_rng(seed)
        labels = rng.choice(len(self.centres), count, p=self.weights)
        vectors = np.empty((count, len(self.basis)), np.float32)
        for start in range(0, count, chunk):
            part = labels[start : start + chunk]
            x = self.mean + self.centres[part] + 0.7 * self._shaped(rng, len(part))
            vectors[start : start + len(part)] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return vectors, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300, help="single queries timed per index")
    parser.add_argument(
        "--exact-queries", type=int, default=50, help="single queries timed on exact indexes"
    )
    parser.add_argument("--classes", type=int, default=4000)
    parser.add_argument("--arch", default=DEFAULT_ARCH, help="model for the end-to-end query")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()

    print(
        f"{os.cpu_count()} CPUs (load average {machine_load()}); "
        f"{DIM}-d descriptor-like vectors around {args.classes} class centres"
    )
    source = DescriptorLike(DIM, args.classes)
    started = time.perf_counter()
    base, base_labels = source.sample(max(args.sizes), seed=1)
    queries, query_labels = source.sample(args.queries, seed=2)
    print(f"generated {len(base):,} vectors in {time.perf_counter() - started:.1f} s")
    describe_shape(base, base_labels, queries, query_labels)

    rows = {n: measure_size(base[:n], queries, args.exact_queries) for n in sorted(args.sizes)}
    largest = rows[max(rows)]
    e2e = measure_end_to_end(base[:E2E_SIZE], args)
    print_result(
        {
            "ours": round(largest["approx_ms"], 3),
            "baseline": round(largest["exact_ms"], 3),
            "ratio": round(largest["exact_ms"] / largest["approx_ms"], 1),
            "unit": f"ms per query at {max(rows):,} (median)",
            "recall_at_10": round(largest["recall"], 4),
            "sizes": {str(n): {k: round(v, 4) for k, v in row.items()} for n, row in rows.items()},
            "e2e_ms_100k": {k: round(v, 1) for k, v in e2e.items()},
            "cpus": os.cpu_count(),
            "load_average_at_end": machine_load(),
        }
    )


def describe_shape(
    base: np.ndarray, labels: np.ndarray, queries: np.ndarray, query_labels: np.ndarray
) -> None:
    """Print the cosine statistics that make these vectors look like descriptors."""
    sample = base[:20_000]
    sims = queries[:100] @ sample.T
    same = query_labels[:100, None] == labels[None, :20_000]
    print(
        f"cosine: same class {sims[same].mean():.2f}, other class {sims[~same].mean():.2f}, "
        f"nearest of 20k {sims.max(axis=1).mean():.2f}"
    )


def measure_size(base: np.ndarray, queries: np.ndarray, exact_queries: int) -> dict[str, float]:
    n = len(base)
    ids = np.arange(n, dtype=np.int64)
    started = time.perf_counter()
    exact = VectorIndex.build(0, DIM, ids, base, 0, approx_threshold=n + 1)
    exact_build = time.perf_counter() - started
    started = time.perf_counter()
    approx = VectorIndex.build(0, DIM, ids, base, 0, approx_threshold=0)
    approx_build = time.perf_counter() - started
    assert not exact.approximate and approx.approximate

    _, truth = exact.search(queries, K)
    _, found = approx.search(queries, K)
    recall = np.mean([len(set(t) & set(f)) / K for t, f in zip(truth, found, strict=True)])
    exact_ms, exact_p95 = single_query_latency(exact, queries[:exact_queries])  # ~0.5 s each at 1M
    approx_ms, approx_p95 = single_query_latency(approx, queries)
    print(
        f"{n:>9,}: exact {exact_ms:7.2f} ms (p95 {exact_p95:7.2f}), build {exact_build:5.1f} s | "
        f"IVF {approx_ms:5.2f} ms (p95 {approx_p95:5.2f}), build {approx_build:5.1f} s, "
        f"recall@10 {recall:.3f}",
        flush=True,
    )
    return {
        "exact_ms": exact_ms,
        "exact_p95_ms": exact_p95,
        "exact_build_s": exact_build,
        "approx_ms": approx_ms,
        "approx_p95_ms": approx_p95,
        "approx_build_s": approx_build,
        "recall": float(recall),
    }


def single_query_latency(index: VectorIndex, queries: np.ndarray) -> tuple[float, float]:
    """Median and p95 milliseconds of one query per call, as the app searches."""
    index.search(queries[:1], K)  # warm-up
    return median_p95(timed(lambda query: index.search(query[None], K), queries))


def measure_end_to_end(vectors: np.ndarray, args: argparse.Namespace) -> dict[str, float]:
    """Query latency through `Library.search_images` with `vectors` stored in the catalog."""
    model_path = ensure_model(args.work_dir, args.arch)
    small = shared_photos()[::60][:20]
    camera = ensure_camera_photos(args.work_dir, 20)
    with tempfile.TemporaryDirectory(dir=args.work_dir, prefix="search-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        with Library(app_paths(Path(tmp) / "home")) as library:
            stored = library.add_folder(folder)
            model = library.add_model(model_path, activate=True)
            fill_catalog(library, stored.id, folder, model.id, vectors)
            session = library.session(model)
            spec = session.input_spec
            library.search_images([small[0]])  # warm-up: loads the session, builds the index
            index = library.vector_index(model)
            figures = {}
            for name, photos in (("flowers_photo", small), ("camera_4000x3000", camera)):
                total, p95 = median_p95(timed(lambda p: library.search_images([p]), photos))
                decode, _ = median_p95(timed(lambda p: decode_photo(p, spec), photos))
                pixels = [decode_photo(p, spec).pixels[None] for p in photos]
                embed, _ = median_p95(timed(session.embed, pixels))
                queries = session.embed(np.concatenate(pixels))
                search, _ = median_p95(timed(lambda q: index.search(q, 20), queries))
                print(
                    f"end to end at {index.size:,} ({'IVF' if index.approximate else 'exact'}), "
                    f"{name}: {total:.1f} ms median, p95 {p95:.1f} "
                    f"(decode {decode:.1f} + embed {embed:.1f} + search {search:.1f})"
                )
                figures[name] = total
    return figures


def fill_catalog(
    library: Library, folder_id: int, folder: Path, model_id: int, vectors: np.ndarray
) -> None:
    """Store `vectors` as the descriptors of that many (fictitious) photos of the folder."""
    catalog = library.catalog
    with catalog.transaction():
        ids = [
            catalog.add_photo(folder_id, str(folder / f"{i:07d}.jpg"), 1, 0, f"bench-{i}")
            for i in range(len(vectors))
        ]
        catalog.store_descriptors(model_id, ids, vectors)


if __name__ == "__main__":
    main()
