"""Getting the default model on first run: DeiT-Small with ImageNet weights, exported to ONNX
by the trainer (when it is installed) from weights downloaded by timm."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

DEFAULT_ARCH = "deit_small_patch16_224"
DEFAULT_NAME = "DeiT-Small (ImageNet)"
WEIGHTS_HOST = ("huggingface.co", 443)


def trainer_available() -> bool:
    """True when the trainer and its torch stack can be run (`pip install photo-search[train]`)."""
    return all(importlib.util.find_spec(name) is not None for name in ("trainer", "torch", "timm"))


def network_available(address: tuple[str, int] = WEIGHTS_HOST, timeout: float = 3.0) -> bool:
    """Whether the host serving the pretrained weights can be reached."""
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def export_command(out_path: Path) -> list[str]:
    """The command that downloads the weights and writes the default model to `out_path`."""
    return [
        sys.executable,
        "-m",
        "trainer.cli",
        "export",
        "--arch",
        DEFAULT_ARCH,
        "--pretrained",
        "--name",
        DEFAULT_NAME,
        "--out",
        str(out_path),
    ]
