"""Export a DescriptorNet to the ONNX model contract and prove onnxruntime agrees with torch.

The exported graph takes uint8 RGB images [batch, S, S, 3] and does the float conversion and
the backbone's own mean/std normalisation inside, so the app never needs to know them. The
file is self-contained (no external data), has a dynamic batch axis, carries the contract's
metadata, and is only moved into place after onnxruntime reproduced the torch descriptors.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from desktop.core import model_contract as contract
from desktop.core.descriptor_model import DescriptorSession, ModelInfo, check_model_file
from desktop.core.images import InputSpec
from trainer.model import DescriptorNet

MIN_COSINE = 0.9999
OPSET = 18


class ExportError(RuntimeError):
    """The export failed, or onnxruntime does not reproduce the torch descriptors."""


class UInt8ImageWrapper(nn.Module):
    """uint8 NHWC images in, descriptors out: the preprocessing lives inside the graph."""

    def __init__(self, net: DescriptorNet) -> None:
        super().__init__()
        cfg = net.data_config()
        self.net = net
        self.register_buffer("mean", 255.0 * torch.tensor(cfg["mean"]).view(1, 3, 1, 1))
        self.register_buffer("std", 255.0 * torch.tensor(cfg["std"]).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float()
        return self.net((x - self.mean) / self.std)


def export_onnx(
    net: DescriptorNet,
    out_path: str | os.PathLike,
    *,
    name: str,
    training: dict[str, Any] | None = None,
    check_images: np.ndarray | None = None,
    spec: InputSpec | None = None,
) -> ModelInfo:
    """Write `net` as a contract-conforming ONNX file and return its info as the app reads it.

    `spec` is the preprocessing the metadata tells the app to apply (default: timm's eval
    transform for the backbone, `net.input_spec()`); its input size must be the network's.

    `check_images` (uint8 [N, S, S, 3]) are embedded by torch and by onnxruntime; random
    images are used when none are given. Any cosine below MIN_COSINE fails the export and
    leaves no file behind.
    """
    out_path = Path(out_path)
    spec = spec or net.input_spec()
    if spec.input_size != net.input_spec().input_size:
        raise ValueError(f"{spec} does not match the network's input size")
    wrapper = UInt8ImageWrapper(net.cpu().float()).eval()
    if check_images is None:
        generator = np.random.default_rng(0)
        check_images = generator.integers(
            0, 256, (4, spec.input_size, spec.input_size, 3), np.uint8
        )

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".export-") as tmp:
        raw_path = Path(tmp) / "raw.onnx"
        _torch_export(wrapper, spec, raw_path)
        model = onnx.load(str(raw_path))
        _write_metadata(model, net, spec, name, training or {})
        final_tmp = Path(tmp) / "model.onnx"
        onnx.save(model, str(final_tmp))
        _check_parity(wrapper, final_tmp, check_images)
        os.replace(final_tmp, out_path)
    return check_model_file(out_path).info


def _torch_export(wrapper: nn.Module, spec: InputSpec, path: Path) -> None:
    example = torch.randint(0, 256, (2, spec.input_size, spec.input_size, 3), dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1, max=4096)
    try:
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                (example,),
                str(path),
                input_names=[contract.INPUT_NAME],
                output_names=[contract.OUTPUT_NAME],
                dynamic_shapes={"images": {0: batch}},
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    except Exception as exc:
        raise ExportError(f"torch.onnx.export failed: {exc}") from exc


def _write_metadata(
    model: onnx.ModelProto,
    net: DescriptorNet,
    spec: InputSpec,
    name: str,
    training: dict[str, Any],
) -> None:
    values = {
        contract.KEY_FORMAT_VERSION: contract.FORMAT_VERSION,
        contract.KEY_MODEL_NAME: name,
        contract.KEY_ARCHITECTURE: net.config.arch,
        contract.KEY_DESCRIPTOR_DIM: str(net.descriptor_dim),
        contract.KEY_INPUT_SIZE: str(spec.input_size),
        contract.KEY_RESIZE_SIZE: str(spec.resize_size),
        contract.KEY_INTERPOLATION: spec.interpolation,
        contract.KEY_TRAINING: json.dumps(training, sort_keys=True),
        contract.KEY_CONTENT_HASH: contract.content_hash(model),
    }
    del model.metadata_props[:]
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def _check_parity(wrapper: nn.Module, onnx_path: Path, images: np.ndarray) -> None:
    with torch.no_grad():
        expected = wrapper(torch.from_numpy(images)).numpy()
    actual = DescriptorSession(onnx_path).embed(images)
    cosines = np.sum(expected * actual, axis=1) / (
        np.linalg.norm(expected, axis=1) * np.linalg.norm(actual, axis=1)
    )
    if cosines.min() < MIN_COSINE:
        raise ExportError(
            f"onnxruntime does not reproduce torch: lowest cosine {cosines.min():.6f} "
            f"< {MIN_COSINE} over {len(images)} images"
        )
