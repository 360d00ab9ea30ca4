"""Cold start: the frozen bundle against the source install, started the same way.

Each run is a new process, `photo-search gui --library L --screenshot OUT`, on a library
with a model and a few photos indexed, so the window opens as a returning user's does; the
time is from the process's start to its exit, once the window is shown, has nothing
pending and is grabbed. The screenshot path polls every 0.1 s and waits for three quiet
polls in a row, so about 0.3 s of each figure is that wait, the same for both. Runs
alternate between the two, `--runs` each, after one untimed run of each to warm the disk
cache; the medians are printed, the last line as JSON.

    .venv-app/bin/python bench/cold_start.py [--bundle dist/photo-search-*] [--runs 5]

The bundle comes from `make package`; the source install is this Python's `photo-search`
script (the app's venv, as `make run` sets it up). Without DISPLAY it runs offscreen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
PHOTOS = 24


def default_bundle() -> Path | None:
    found = sorted((REPO / "dist").glob("photo-search-*-linux-*/photo-search"))
    return found[-1].parent if found else None


def make_library(work: Path, program: list[str]) -> Path:
    """A library of PHOTOS generated photos, indexed with a small random model."""
    sys.path.insert(0, str(REPO))
    from tests.models import write_model
    from tests.photos import make_labelled_folder

    photos = make_labelled_folder(work / "photos", 4, PHOTOS // 4)
    model = write_model(work / "model.onnx", size=32, dim=48, name="cold-start model")
    library = work / "library"
    subprocess.run(
        [*program, "index", "--library", str(library), "--model", str(model), str(photos)],
        check=True,
        capture_output=True,
    )
    return library


def start_once(program: list[str], library: Path, shot: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [*program, "gui", "--library", str(library), "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{program[0]} failed: {result.stdout}{result.stderr}")
    with Image.open(shot) as image:
        if image.width < 400:
            raise SystemExit(f"{program[0]} grabbed a {image.width} px window")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=default_bundle())
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.bundle is None or not (args.bundle / "photo-search").is_file():
        raise SystemExit("no bundle: run `make package` first, or pass --bundle DIR")
    if not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    programs = {
        "bundle": [str(args.bundle / "photo-search")],
        "source": [str(Path(sys.executable).parent / "photo-search")],
    }
    times: dict[str, list[float]] = {name: [] for name in programs}
    with tempfile.TemporaryDirectory() as work:
        library = make_library(Path(work), programs["source"])
        shot = Path(work) / "window.png"
        for program in programs.values():
            start_once(program, library, shot)
        for _ in range(args.runs):
            for name, program in programs.items():
                times[name].append(start_once(program, library, shot))
    platform = os.environ.get("QT_QPA_PLATFORM") or "xcb"
    print(f"start to a shown, settled window ({platform}), median of {args.runs} runs:")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:6s} {medians[name]:.2f} s   ({runs})")
    print(f"  bundle / source: {medians['bundle'] / medians['source']:.2f}")
    print(json.dumps({name: round(value, 3) for name, value in medians.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
