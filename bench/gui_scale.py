"""The app at library scale: start-up, close, queries while indexing, memory and disk.

For each size it builds (once, cached under the work dir) a library of real photos from
../shared/data/flowers60 hard-linked many times into folders of 1,000, its catalog filled
through the Catalog API with random unit 384-d descriptors, and a random-weight DeiT-Small
ONNX model registered so queries really embed. Each measurement runs in a process of its own
on a copy of that library (warm file cache):
- window: from the GUI's start (imports done) to the window shown with its photo count,
  through the real `MainWindow` and `show()`; the longest GUI-thread stalls (a 5 ms QTimer
  that notes the gaps between its ticks) until the start-up rescan is over and shown;
- close: closing the window 0.1 s into the start-up rescan's walk of the folders;
- queries: end to end (decode a real photo, embed, search, look up) through the path the GUI
  uses, idle and while `Library.sync` embeds a folder of new photos in another thread (one
  query every 50 ms or so, as a user might), and the first query after indexing's first
  batch;
- memory: peak resident memory of a process that queries, indexes new photos and queries
  again, over the same process's peak with only the model loaded and run;
- disk: catalog bytes per photo, and what a no-op `photo-search index` writes.

    .venv/bin/python bench/gui_scale.py [--sizes 10000 100000] [--queries 30] [--new-photos 160]

Goals (issue 10): window shown < 0.5 s at 100k, no GUI stall over 50 ms, close immediate;
query while indexing < 150 ms median at 100k with no first-query spike; peak memory
< 2 KB per photo over the model; catalog < 2 KB per photo; a no-op index run writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import (
    DEFAULT_ARCH,
    DEFAULT_WORK_DIR,
    ensure_model,
    machine_load,
    median_p95,
    print_result,
    shared_photos,
)

from desktop.core import indexer
from desktop.core.catalog import Catalog
from desktop.core.indexer import Phase
from desktop.core.library import CATALOG_FILE, Library
from desktop.core.paths import app_paths
from desktop.core.queries import Query
from desktop.core.scanner import fingerprint

PER_FOLDER = 1_000
DIM = 384
BATCH = 32
"""Photos per indexing batch (`Library.sync`'s default)."""
BUILD_STAMP = "gui-scale-2"
"""Changes when the way libraries are built changes, so cached ones are rebuilt."""
QUERY_PHOTO = 7
PAUSE_S = 0.05
"""Between two queries while indexing runs: a user does not search back to back."""
"""Index of the shared photo used as the query (decoded from its file each time)."""


# building the library ----------------------------------------------------------------------


def ensure_library(work_dir: Path, size: int, model_path: Path) -> tuple[Path, Path]:
    """(photos folder, library home) of `size` photos, built once and reused."""
    root = work_dir / "gui-scale" / str(size)
    photos, home = root / "photos", root / "home"
    stamp = root / "built.json"
    if stamp.exists() and json.loads(stamp.read_text()).get("stamp") == BUILD_STAMP:
        with Library(app_paths(home)) as library:  # migrates a catalog an older build wrote
            library.sync()  # and brings its saved index up to date
        return photos, home
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    link_photos(photos, size)
    with Library(app_paths(home)) as library:
        folder = library.add_folder(photos)
        model = library.add_model(model_path, activate=True)
        fill_catalog(library.catalog, folder.id, photos, model.id)
        report = library.sync()  # finds nothing new; builds and saves the vector index
    if report.added or report.embedded:
        raise SystemExit(f"the built library was not complete: {report}")
    stamp.write_text(json.dumps({"stamp": BUILD_STAMP, "size": size}))
    print(f"built a {size:,}-photo library in {time.perf_counter() - started:.0f} s", flush=True)
    return photos, home


def link_photos(folder: Path, count: int, prefix: str = "") -> None:
    """`count` hard links (copies where links fail) of the shared photos, PER_FOLDER a folder."""
    sources = shared_photos()
    for number in range(count):
        target = folder / f"{prefix}d{number // PER_FOLDER:04d}" / f"{prefix}{number:07d}.jpg"
        if number % PER_FOLDER == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
        source = sources[number % len(sources)]
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def fill_catalog(catalog: Catalog, folder_id: int, photos: Path, model_id: int) -> None:
    """Every linked file as a photo, with a random unit descriptor, through the Catalog API."""
    digests: dict[int, str] = {}
    with catalog.transaction():
        ids = []
        for path in sorted(photos.rglob("*.jpg")):
            info = path.stat()
            if info.st_ino not in digests:
                digests[info.st_ino] = fingerprint(path, info.st_size)
            ids.append(
                catalog.add_photo(
                    folder_id, str(path), info.st_size, info.st_mtime_ns, digests[info.st_ino]
                )
            )
    rng = np.random.default_rng(0)
    for start in range(0, len(ids), 10_000):
        chunk = ids[start : start + 10_000]
        vectors = rng.standard_normal((len(chunk), DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        catalog.store_descriptors(model_id, chunk, vectors)


def library_copy(home: Path, tmp: Path) -> Path:
    """A copy of the library's files, so a measurement that changes it leaves the cache alone."""
    copy = tmp / "home"
    shutil.copytree(home, copy)
    return copy


def catalog_bytes(home: Path) -> int:
    data = home / "data"
    return sum(f.stat().st_size for f in data.glob(CATALOG_FILE + "*") if f.is_file())


# the measurements, each in a process of its own -------------------------------------------


def run_child(kind: str, **options) -> dict:
    command = [sys.executable, __file__, "--child", kind]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {kind}: {json.dumps(figures)}", flush=True)
    return figures


def child_window(args: argparse.Namespace) -> dict:
    """Start the window on the library; time it shown with its count, watch GUI stalls, and
    (with --close-after) close it that many seconds into the start-up rescan's walk."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    from desktop.ui.main_window import MainWindow
    from desktop.ui.settings import Settings

    rescan = watch_sync()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    started = time.perf_counter()
    paths = app_paths(args.home)
    library = Library(paths)
    window = MainWindow(library, Settings(paths.config), paths)
    window.show()
    count_text = f"{args.size:,} photo"
    figures: dict = {"shown_s": None, "stalls_ms": []}
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def texts() -> list[str]:
        return [label.text() for label in window.findChildren(QLabel)] + [
            window.statusBar().currentMessage()
        ]

    def tick() -> None:
        now = clock.elapsed()
        gap = now - last[0]
        last[0] = now
        if gap > 50:
            figures["stalls_ms"].append(gap)
        if figures["shown_s"] is None and any(text.startswith(count_text) for text in texts()):
            figures["shown_s"] = time.perf_counter() - started
        closing_time = (
            args.close_after
            and rescan["walking"]
            and time.perf_counter() - rescan["walking"] >= args.close_after
        )
        if closing_time and "closed_s" not in figures:
            closing = time.perf_counter()
            window.close()
            figures["closed_s"] = time.perf_counter() - closing
            figures["rescan_cancelled"] = rescan["cancelled"]
            app.quit()
        done = rescan["returned"] and time.perf_counter() - rescan["returned"] > 1.5
        if (done and figures["shown_s"] is not None) or time.perf_counter() - started > 300:
            app.quit()

    timer = QTimer()
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(5)
    app.exec()
    figures["max_stall_ms"] = max([0, *figures["stalls_ms"]])
    figures["rescan_s"] = (
        rescan["returned"] - rescan["entered"] if rescan["returned"] and rescan["entered"] else None
    )
    library.close()
    return figures


def watch_sync() -> dict:
    """Note when `Library.sync` (the start-up rescan) starts, when its walk of the folders
    starts, when it returns, and if it was cancelled."""
    seen = {"entered": None, "walking": None, "returned": None, "cancelled": None}
    sync, walk = Library.sync, indexer.scan_folder

    def watched_sync(self, *args, **kwargs):
        seen["entered"] = time.perf_counter()
        report = sync(self, *args, **kwargs)
        seen["returned"], seen["cancelled"] = time.perf_counter(), report.cancelled
        return report

    def watched_walk(*args, **kwargs):
        seen["walking"] = seen["walking"] or time.perf_counter()
        return walk(*args, **kwargs)

    Library.sync, indexer.scan_folder = watched_sync, watched_walk
    return seen


def query_once(library: Library, photo: Path) -> float:
    """Milliseconds of one query as the GUI and the CLI run it (`Library.run_query`): the
    photo's file decoded, embedded, searched and looked up (60 results, the GUI's default)."""
    started = time.perf_counter()
    library.run_query(Query(images=[photo]), top=60)
    return (time.perf_counter() - started) * 1000


def child_queries(args: argparse.Namespace) -> dict:
    photo = shared_photos()[QUERY_PHOTO]
    with Library(app_paths(args.home)) as cold:  # the baseline: nothing prepared
        cold_first_ms = query_once(cold, photo)  # opens the query session, loads the index
    with Library(app_paths(args.home)) as library:
        started = time.perf_counter()
        library.status()
        status_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        library.prepare_queries()  # what the window does in a worker once it is shown
        prepare_ms = (time.perf_counter() - started) * 1000
        first_ms = query_once(library, photo)
        idle = [query_once(library, photo) for _ in range(args.queries)]
        new = Path(args.home).parent / "new-photos"
        link_photos(new, args.new_photos, prefix="new")
        library.add_folder(new)
        first_batch = threading.Event()
        report: dict = {}

        def progress(update) -> None:
            if update.phase is Phase.EMBEDDING:
                first_batch.set()

        def index() -> None:
            report["sync"] = library.sync(progress)

        indexing = threading.Thread(target=index)
        indexing.start()
        first_batch.wait(600)
        busy = []
        while indexing.is_alive() and len(busy) < args.queries:
            busy.append(query_once(library, photo))
            time.sleep(PAUSE_S)
        indexing.join()
        embedded = report["sync"].embedded
    if embedded != args.new_photos or len(busy) < 3:
        raise SystemExit(f"indexing embedded {embedded}, {len(busy)} queries ran meanwhile")
    idle_median, idle_p95 = median_p95(idle)
    busy_median, busy_p95 = median_p95(busy[1:])
    return {
        "status_ms": status_ms,
        "first_query_unprepared_ms": cold_first_ms,
        "prepare_ms": prepare_ms,
        "first_query_ms": first_ms,
        "idle_median_ms": idle_median,
        "idle_p95_ms": idle_p95,
        "indexing_first_ms": busy[0],
        "indexing_median_ms": busy_median,
        "indexing_p95_ms": busy_p95,
        "indexing_queries": len(busy),
    }


def child_memory(args: argparse.Namespace) -> dict:
    """Peak RSS with the model loaded and run (both sessions, as queries and indexing run it),
    then after querying, indexing new photos and querying again."""
    photo = shared_photos()[QUERY_PHOTO]
    with Library(app_paths(args.home)) as library:
        model = library.active_model()
        session = library.session(model)
        size = session.input_spec.input_size
        # onnxruntime settles its memory for a batch shape on its second run: run each shape
        # indexing will run twice
        tail = args.new_photos % BATCH
        for batch in [BATCH, BATCH] + [tail, tail] * bool(tail):
            session.embed(np.zeros((batch, size, size, 3), np.uint8))
        for _ in range(3):
            library.embed_query([photo], model)
        model_only = peak_rss_bytes()
        query_once(library, photo)
        new = Path(args.home).parent / "new-photos"
        link_photos(new, args.new_photos, prefix="new")
        library.add_folder(new)
        embedded = library.sync().embedded
        query_once(library, photo)
    if embedded != args.new_photos:
        raise SystemExit(f"indexing embedded {embedded} of {args.new_photos}")
    return {"model_only_bytes": model_only, "peak_bytes": peak_rss_bytes()}


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def child_noop_index(args: argparse.Namespace) -> dict:
    """A `photo-search index` with nothing new: which library files it changed, and bytes."""
    from desktop.main import main as cli_main

    data = Path(args.home) / "data"

    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            str(p.relative_to(data)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in data.rglob("*")
            if p.is_file() and not p.name.endswith("-shm")
        }

    before = snapshot()
    written_before = io_written()
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = quiet
        try:
            status = cli_main(["index", "--library", args.home, "--json"])
        finally:
            sys.stdout, sys.stderr = saved
    seconds = time.perf_counter() - started
    after = snapshot()
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    return {
        "status": status,
        "seconds": seconds,
        "changed_files": changed,
        "bytes_written": io_written() - written_before,
    }


def io_written() -> int:
    """Bytes this process handed to write calls (Linux /proc/self/io `wchar`), else -1."""
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return -1
    return int(next(line.split()[1] for line in lines if line.startswith("wchar")))


CHILDREN = {
    "window": child_window,
    "queries": child_queries,
    "memory": child_memory,
    "noop-index": child_noop_index,
}


# the report --------------------------------------------------------------------------------


def measure(size: int, args: argparse.Namespace, model_path: Path) -> dict:
    photos, home = ensure_library(args.work_dir, size, model_path)
    figures: dict = {"catalog_bytes_per_photo": catalog_bytes(home) / size}
    with tempfile.TemporaryDirectory(dir=args.work_dir, prefix="gui-scale-") as tmp:

        def fresh() -> Path:
            copy = Path(tmp) / f"run-{len(list(Path(tmp).iterdir()))}"
            copy.mkdir()
            return library_copy(home, copy)

        figures["window"] = run_child("window", home=fresh(), size=size)
        figures["close"] = run_child("window", home=fresh(), size=size, close_after=0.1)
        figures["queries"] = run_child(
            "queries", home=fresh(), size=size, queries=args.queries, new_photos=args.new_photos
        )
        memory = run_child("memory", home=fresh(), size=size, new_photos=args.new_photos // 2)
        figures["memory_over_model_bytes_per_photo"] = (
            memory["peak_bytes"] - memory["model_only_bytes"]
        ) / size
        figures["memory"] = memory
        noop_home = fresh()
        run_child("noop-index", home=noop_home, size=size)  # the copy's first run settles it
        figures["noop_index"] = run_child("noop-index", home=noop_home, size=size)
    return figures


def report(sizes: dict[int, dict]) -> None:
    def row(label: str, goal: str, value) -> None:
        cells = "  ".join(f"{value(f):>14}" for f in sizes.values())
        print(f"{label:<44}{cells}   goal {goal}")

    print(f"{'':<44}" + "  ".join(f"{f'{n:,} photos':>14}" for n in sizes))
    row(
        "window shown with its count (s)",
        "< 0.5 at 100k",
        lambda f: f"{f['window']['shown_s']:.2f}",
    )
    row(
        "longest GUI stall, start + rescan (ms)",
        "<= 50",
        lambda f: f"{f['window']['max_stall_ms']}",
    )
    row("GUI stalls over 50 ms", "0", lambda f: f"{len(f['window']['stalls_ms'])}")
    row("start-up rescan (s)", "-", lambda f: f"{f['window']['rescan_s'] or 0:.2f}")
    row(
        "close 0.1 s into the rescan's walk (s)",
        "immediate",
        lambda f: f"{f['close']['closed_s']:.3f}",
    )
    row("Library.status() (ms)", "-", lambda f: f"{f['queries']['status_ms']:.0f}")
    row(
        "first query after start, unprepared (ms)",
        "-",
        lambda f: f"{f['queries']['first_query_unprepared_ms']:.0f}",
    )
    row("getting queries ready at start (ms)", "-", lambda f: f"{f['queries']['prepare_ms']:.0f}")
    row(
        "first query once ready (ms)",
        "no spike",
        lambda f: f"{f['queries']['first_query_ms']:.0f}",
    )
    row("query idle, median / p95 (ms)", "baseline", lambda f: q(f, "idle"))
    row(
        "query while indexing, median / p95 (ms)",
        "< 150 median at 100k",
        lambda f: q(f, "indexing"),
    )
    row(
        "first query after indexing's 1st batch (ms)",
        "no spike",
        lambda f: f"{f['queries']['indexing_first_ms']:.0f}",
    )
    row(
        "peak memory over the model (KB/photo)",
        "< 2",
        lambda f: f"{f['memory_over_model_bytes_per_photo'] / 1024:.2f}",
    )
    row("catalog on disk (KB/photo)", "< 2", lambda f: f"{f['catalog_bytes_per_photo'] / 1024:.2f}")
    row("no-op index run: files changed", "0", lambda f: f"{len(f['noop_index']['changed_files'])}")
    row("no-op index run: bytes written", "~0", lambda f: f"{f['noop_index']['bytes_written']:,}")
    row("no-op index run (s)", "-", lambda f: f"{f['noop_index']['seconds']:.2f}")


def q(figures: dict, phase: str) -> str:
    queries = figures["queries"]
    return f"{queries[f'{phase}_median_ms']:.0f} / {queries[f'{phase}_p95_ms']:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=30, help="queries timed, idle and busy")
    parser.add_argument("--new-photos", type=int, default=160, help="photos indexed meanwhile")
    parser.add_argument("--arch", default=DEFAULT_ARCH)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--close-after", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return

    print(f"{os.cpu_count()} CPUs (load average {machine_load()})", flush=True)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    model_path = ensure_model(args.work_dir, args.arch)
    sizes = {}
    for size in sorted(args.sizes):
        sizes[size] = measure(size, args, model_path)
        print(f"measured {size:,} photos", flush=True)
    report(sizes)
    print_result(
        {"sizes": {str(n): f for n, f in sizes.items()}, "load_average_at_end": machine_load()}
    )


if __name__ == "__main__":
    main()
