"""GPU check of the trainer: the paper's recipe end to end, as a user runs it, in minutes.

1. links flowers60 (one sub-folder per label) into a training folder, and the labels that
   `finetune --val-classes` holds out (VAL_CLASSES) into a held-out folder;
2. `python -m trainer.cli finetune` in bf16 with cross-batch memory and a momentum encoder;
3. the same under `torchrun --standalone --nproc_per_node 1`, into a second run folder: one
   process, but in a process group with DDP and collectives (NCCL), as on several GPUs;
4. `trainer.cli evaluate` of each run's exported model.onnx and of its checkpoint (torch on
   the CPU) on the held-out folder: the two must agree to ONNX_TOLERANCE, and report.json's
   `after` (torch on the training device) to DEVICE_TOLERANCE;
5. `bench/train_step.py` at the same arch, size, batch, memory and momentum: our step
   against timm's.

    bench/gpu_check.sh [--cpu] [--data FLOWERS60] [--out DIR] [--weights FILE]

On a machine without this project's virtual environment, point PYTHON at an interpreter
that has the `train` extra's packages, faiss-cpu and this checkout's app dependencies (the
check names any that are missing before it starts), and --data at the photos:
`PYTHON=python3 bench/gpu_check.sh --data DIR`.

On a GPU: DeiT-Small at 224 px, batch 64, 300 steps, random init unless --weights (nothing
can be downloaded). `--cpu` runs the same steps with a tiny ViT at 64 px, so the check itself
can be tried without a GPU. Every step is its own process with this checkout first on
PYTHONPATH; a step that fails stops the check with a non-zero exit. The last line printed is
one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.data.folder import scan_labelled_folder, split_classes

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
VAL_CLASSES = 0.25
"""Share of the labels held out: flowers60's other 45 labels fill a batch of 64 at m = 2."""
MOMENTUM = 0.999
ONNX_TOLERANCE = 0.01
"""Largest recall@1 gap between model.onnx and its checkpoint, both on the CPU in fp32:
export proved a cosine of 0.9999, so at most a near-tie or two may flip (3 of 300 queries)."""
DEVICE_TOLERANCE = 0.05
"""Largest recall@1 gap between the CPU and report.json's `after`, measured on the training
device: TF32 convolutions on a GPU flip more near-ties between neighbours of random
weights, but a gap this large means the device computes something else."""
REQUIRED = (
    "torch", "torchvision", "timm", "onnx", "onnxruntime", "onnxscript", "faiss", "PIL",
    "numpy", "platformdirs", "huggingface_hub", "safetensors", "matplotlib", "tqdm",
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """One kind of check: the paper's setting on a GPU, a tiny one that a CPU runs in minutes."""

    device: str
    arch: str
    input_size: int
    batch_size: int
    iterations: int
    bench_steps: int
    bench_warmup: int


GPU = Profile("cuda", "deit_small_patch16_224", 224, 64, 300, 20, 3)
CPU = Profile("cpu", "vit_tiny_patch16_224", 64, 32, 10, 2, 1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="a tiny ViT on the CPU, same steps")
    parser.add_argument("--data", type=Path, help="flowers60 or any folder of label folders")
    parser.add_argument("--out", type=Path, help="where the check's folder is made (a temp dir)")
    parser.add_argument("--weights", type=Path, help="a timm weights file to start from")
    parser.add_argument("--arch", help="timm ViT (deit_small_patch16_224; --cpu: vit_tiny)")
    parser.add_argument("--input-size", type=int, help="(224; --cpu: 64)")
    parser.add_argument("--batch-size", type=int, help="(64; --cpu: 32)")
    parser.add_argument("--iterations", type=int, help="training steps of each run (300; 10)")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(8, os.cpu_count() or 1),
        help="data loading processes (one per core, at most 8)",
    )
    return parser.parse_args()


def check_packages() -> None:
    """Stop before anything runs if the interpreter lacks a package a step imports."""
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        sys.exit(
            f"gpu check: {sys.executable} lacks {', '.join(missing)}: run it with the project's "
            "venv (make gpu-check), or PYTHON=<an interpreter that has them>"
        )


def photos_folder(given: Path | None) -> Path:
    """The labelled photos: --data, else flowers60 where the tests look for it."""
    if given is not None:
        path, source = given, "--data"
    elif "PHOTO_SEARCH_TEST_DATA" in os.environ:
        path = Path(os.environ["PHOTO_SEARCH_TEST_DATA"]) / "flowers60"
        source = "PHOTO_SEARCH_TEST_DATA"
    else:
        path, source = SHARED_DATA / "flowers60", "the default beside the clone"
    if not path.is_dir():
        sys.exit(
            f"gpu check: real photos not found at {path} ({source}): pass --data FOLDER (one "
            "sub-folder per label) or set PHOTO_SEARCH_TEST_DATA to the folder holding flowers60"
        )
    return path.resolve()


def make_folders(photos: Path, work: Path) -> tuple[Path, Path, int]:
    """The training folder (every label, linked) and the held-out one (the labels finetune
    holds out, found by its own split), and the number of photos trained on."""
    images = scan_labelled_folder(photos)
    train, held_out = split_classes(images, VAL_CLASSES)
    data, held = work / "photos", work / "held-out"
    for folder, names in ((data, images.class_names), (held, held_out.class_names)):
        folder.mkdir()
        for name in names:
            (folder / name).symlink_to(photos / name, target_is_directory=True)
    print(
        f"{len(images)} photos of {images.num_classes} labels: {len(train)} to train on, "
        f"{len(held_out)} of {held_out.num_classes} labels held out"
    )
    return data, held, len(train)


class Steps:
    """Runs each step as a child process, stops the check on a failure, and times it."""

    def __init__(self) -> None:
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *_pythonpath()])}
        self.seconds: dict[str, float] = {}

    def run(self, name: str, command: list[str], *, capture: bool = False) -> str:
        print(f"\n== {name}: {shlex.join(command)}", flush=True)
        start = time.perf_counter()
        stdout = subprocess.PIPE if capture else None
        result = subprocess.run(command, cwd=REPO, env=self.env, stdout=stdout, text=True)
        self.seconds[name] = round(time.perf_counter() - start, 1)
        if capture:
            print(result.stdout, end="", flush=True)
        if result.returncode != 0:
            sys.exit(f"gpu check FAILED: {name} exited with status {result.returncode}")
        return result.stdout or ""


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def check_report(run_dir: Path, iterations: int) -> dict[str, Any]:
    """report.json of a finished run: before/after metrics, every step trained, a model."""
    path = run_dir / "report.json"
    if not path.is_file():
        sys.exit(f"gpu check FAILED: {path} was not written")
    report = json.loads(path.read_text())
    missing = [when for when in ("before", "after") if not report.get(when)]
    if missing:
        sys.exit(f"gpu check FAILED: {path} has no {' or '.join(missing)} metrics")
    if report["training"]["steps"] != iterations:
        sys.exit(f"gpu check FAILED: {path} trained {report['training']['steps']} steps")
    if not (run_dir / "model.onnx").is_file():
        sys.exit(f"gpu check FAILED: {run_dir / 'model.onnx'} was not exported")
    return report


def check_agreement(name: str, onnx: dict, checkpoint: dict, after: dict) -> None:
    """The exported model scores the held-out photos as its checkpoint does on the CPU, and
    as torch did on the training device after training."""
    pairs = [
        ("model.onnx", onnx, "checkpoint.pt on the CPU", checkpoint, ONNX_TOLERANCE),
        ("checkpoint.pt on the CPU", checkpoint, "report.json's after", after, DEVICE_TOLERANCE),
    ]
    for one, a, other, b, tolerance in pairs:
        if a["queries"] != b["queries"] or abs(a["recall@1"] - b["recall@1"]) > tolerance:
            sys.exit(
                f"gpu check FAILED: {name}: {one} scores recall@1 {a['recall@1']:.4f} over "
                f"{a['queries']} queries, {other} {b['recall@1']:.4f} over {b['queries']}"
            )


def main() -> None:
    args = parse_args()
    check_packages()
    start = time.perf_counter()
    profile = CPU if args.cpu else GPU
    overrides = {
        key: getattr(args, key)
        for key in ("arch", "input_size", "batch_size", "iterations")
        if getattr(args, key) is not None
    }
    profile = dataclasses.replace(profile, **overrides)
    photos = photos_folder(args.data)
    parent = args.out or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-", dir=parent)).resolve()
    print(f"gpu check on {profile.device}: {profile}, photos {photos}, work folder {work}")
    data, held_out, train_photos = make_folders(photos, work)

    finetune = [
        "-m", "trainer.cli", "finetune", str(data), "--val-classes", str(VAL_CLASSES),
        "--device", profile.device, "--arch", profile.arch,
        "--input-size", str(profile.input_size), "--batch-size", str(profile.batch_size),
        "--iterations", str(profile.iterations), "--xbm", str(train_photos),
        "--momentum", str(MOMENTUM), "--workers", str(args.workers),
    ]  # fmt: skip
    if args.weights:
        finetune += ["--weights", str(args.weights.resolve())]
    python = sys.executable
    torchrun = [str(Path(python).with_name("torchrun")), "--standalone", "--nproc_per_node", "1"]
    launchers = {"single": [python], "torchrun": torchrun}
    steps = Steps()
    runs: dict[str, dict[str, Any]] = {}
    for name, launcher in launchers.items():
        run_dir = work / name
        steps.run(f"finetune ({name})", [*launcher, *finetune, "--out", str(run_dir)])
        report = check_report(run_dir, profile.iterations)
        scores = {}
        for model in ("model.onnx", "checkpoint.pt"):
            out = run_dir / f"evaluate-{model}.json"
            evaluate = [
                python, "-m", "trainer.cli", "evaluate", "--model", str(run_dir / model),
                "--dataset", "folder", "--root", str(held_out), "--json", str(out),
                "--workers", str(args.workers), "--device", "cpu",
            ]  # fmt: skip
            steps.run(f"evaluate {model} ({name})", evaluate)
            scores[model] = json.loads(out.read_text())
        onnx = scores["model.onnx"]
        check_agreement(name, onnx, scores["checkpoint.pt"], report["after"])
        runs[name] = {
            "images_per_s": round(report["training"]["images_per_s"], 1),
            "peak_memory_bytes": report["training"]["peak_memory_bytes"],
            "recall@1_before": report["before"]["recall@1"],
            "recall@1_after": report["after"]["recall@1"],
            "recall@1_onnx": onnx["recall@1"],
        }

    bench = [
        python, "bench/train_step.py", "--device", profile.device, "--arch", profile.arch,
        "--input-size", str(profile.input_size), "--batch-size", str(profile.batch_size),
        "--xbm", str(train_photos), "--momentum", str(MOMENTUM),
        "--steps", str(profile.bench_steps), "--warmup", str(profile.bench_warmup),
    ]  # fmt: skip
    train_step = json.loads(steps.run("train step", bench, capture=True).splitlines()[-1])

    print(f"\n== gpu check passed on {profile.device} in {time.perf_counter() - start:.0f} s")
    for name, run in runs.items():
        peak = run["peak_memory_bytes"]
        print(
            f"{name:>8}: {run['images_per_s']:.1f} train images/s, peak GPU memory "
            f"{'n/a' if peak is None else f'{peak / 2**30:.2f} GiB'}, recall@1 "
            f"{run['recall@1_before']:.2%} before, {run['recall@1_after']:.2%} after "
            f"(model.onnx: {run['recall@1_onnx']:.2%})"
        )
    print(
        f"train step: ours {train_step['ours']} images/s, timm classification "
        f"{train_step['baseline']} images/s, ratio {train_step['ratio']}"
    )
    summary = {
        "device": profile.device,
        "arch": profile.arch,
        "input_size": profile.input_size,
        "batch_size": profile.batch_size,
        "iterations": profile.iterations,
        "runs": runs,
        "train_step": train_step,
        "seconds": {**steps.seconds, "total": round(time.perf_counter() - start, 1)},
        "work_dir": str(work),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
