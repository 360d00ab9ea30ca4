"""Assembly time: a checked DeiT-Small model from its template and a local model.safetensors.

This is the app's "one click" after the download: fill the committed template from timm
hub weights with numpy, write the file, check it (`check_model_file`). The baseline is what
the same model costs with torch: the trainer building the timm network from the same file
(`export --weights`) and exporting it with its parity check. The weights are random, in
timm's hub layout, written once under the work dir.

    .venv/bin/python bench/assemble_model.py [--repeats 3] [--no-baseline]

Target (issue 9): under 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_WORK_DIR, REPO, SEED, machine_load, print_result

from desktop.core.model_assembly import assemble_model, read_template

ARCH = "deit_small_patch16_224.fb_in1k"
TEMPLATE = REPO / "resources" / "templates" / f"{ARCH}.onnx"


def ensure_weights(work_dir: Path) -> Path:
    """Random weights in timm's hub layout (classifier included), made with numpy once."""
    path = work_dir / "hub" / ARCH / "model.safetensors"
    if path.exists():
        return path
    from safetensors.numpy import save_file

    _, spec = read_template(TEMPLATE)
    rng = np.random.default_rng(SEED)
    shapes = spec.checkpoint_shapes()
    weights = {key: rng.normal(0, 0.05, shape).astype(np.float32) for key, shape in shapes.items()}
    weights["head.weight"] = rng.normal(0, 0.05, (1000, 384)).astype(np.float32)
    weights["head.bias"] = np.zeros(1000, np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(path))
    return path


def time_assembly(weights: Path, out: Path) -> float:
    started = time.perf_counter()
    assemble_model(TEMPLATE, weights, out, name="bench", training={"weights": "random"})
    return time.perf_counter() - started


def time_torch_export(weights: Path, out: Path) -> float:
    """The trainer's `export --arch ARCH --weights FILE`, timed from the import of torch."""
    started = time.perf_counter()
    from trainer.export import export_onnx
    from trainer.model import ModelConfig, create_descriptor_net

    net = create_descriptor_net(ModelConfig(ARCH), weights_file=weights).eval()
    export_onnx(net, out, name="bench", training={"weights": "random"})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="assemblies timed (median)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the torch export")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    args = parser.parse_args()

    weights = ensure_weights(args.work_dir)
    print(
        f"{os.cpu_count()} CPUs (load average {machine_load()}); {ARCH}, "
        f"weights {weights.stat().st_size / 1e6:.0f} MB"
    )
    with tempfile.TemporaryDirectory(dir=args.work_dir, prefix="assemble-") as tmp:
        times = [time_assembly(weights, Path(tmp) / "app.onnx") for _ in range(args.repeats)]
        ours = sorted(times)[len(times) // 2]
        print(f"assembly: {', '.join(f'{t:.2f}' for t in times)} s (median {ours:.2f})")
        baseline = None
        if not args.no_baseline:
            baseline = time_torch_export(weights, Path(tmp) / "trainer.onnx")
            print(f"torch export with --weights: {baseline:.1f} s")
    print_result(
        {
            "ours": round(ours, 2),
            "baseline": round(baseline, 1) if baseline else None,
            "ratio": round(baseline / ours, 1) if baseline else None,
            "unit": f"s to a checked {ARCH} model (median of {args.repeats})",
            "cpus": os.cpu_count(),
            "load_average_at_end": machine_load(),
        }
    )


if __name__ == "__main__":
    main()
