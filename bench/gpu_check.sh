#!/usr/bin/env bash
# GPU check of the trainer (bench/gpu_check.py): fine-tune in bf16 with cross-batch memory and
# a momentum encoder, alone and under torchrun, export, evaluate the ONNX model and compare our
# training step with timm's; under 5 minutes on one GPU. --cpu runs the same on the CPU.
#
#   bench/gpu_check.sh [--cpu] [--data FLOWERS60] [--out DIR] [--weights FILE]
#
# PYTHON picks the interpreter (.venv/bin/python); this checkout goes first on PYTHONPATH so
# a worktree checks its own code, not the one the venv was installed from.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-.venv/bin/python}" bench/gpu_check.py "$@"
