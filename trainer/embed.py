"""Descriptors of photo lists, from a torch network or an exported ONNX model.

Both read photos with the app's own loader (through `EvalViews`), so a checkpoint and the
ONNX file exported from it are measured on identical input.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from desktop.core.descriptor_model import DescriptorSession
from desktop.core.images import InputSpec
from trainer.data.datasets import EvalViews
from trainer.distributed import resolve_device
from trainer.export import UInt8ImageWrapper
from trainer.model import DescriptorNet, load_checkpoint_net

Boxes = list[tuple[float, float, float, float]] | None


def _batches(
    paths: list[Path], spec: InputSpec, boxes: Boxes, batch_size: int, workers: int
) -> DataLoader:
    return DataLoader(EvalViews(paths, spec, boxes), batch_size=batch_size, num_workers=workers)


@torch.no_grad()
def embed_with_net(
    net: DescriptorNet,
    paths: list[Path],
    boxes: Boxes = None,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 128,
    workers: int = 0,
) -> np.ndarray:
    """float32 [N, D] descriptors, computed in fp32 as the exported model computes them;
    the network is put in eval mode and restored after."""
    device = torch.device(device)
    was_training = net.training
    wrapper = UInt8ImageWrapper(net).to(device).eval()
    parts = [np.zeros((0, net.descriptor_dim), np.float32)]
    try:
        for images in _batches(paths, net.input_spec(), boxes, batch_size, workers):
            parts.append(wrapper(images.to(device, non_blocking=True)).cpu().numpy())
    finally:
        net.train(was_training)
    return np.concatenate(parts)


def embed_with_onnx(
    model: DescriptorSession,
    paths: list[Path],
    boxes: Boxes = None,
    *,
    batch_size: int = 64,
    workers: int = 0,
) -> np.ndarray:
    """float32 [N, D] descriptors computed by onnxruntime, as the app computes them."""
    parts = [np.zeros((0, model.info.descriptor_dim), np.float32)]
    for images in _batches(paths, model.input_spec, boxes, batch_size, workers):
        parts.append(model.embed(images.numpy()))
    return np.concatenate(parts)


def model_embedder(
    path: str | os.PathLike,
    *,
    device: str = "auto",
    batch_size: int = 64,
    workers: int = 0,
) -> tuple[Callable[[list[Path], Boxes], np.ndarray], str]:
    """An embedding function for a model file and a short description of the model.

    `.onnx` files run in onnxruntime exactly as in the app; anything else is read as a
    trainer checkpoint and runs in torch (on the GPU when there is one).
    """
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        model = DescriptorSession(path)
        description = f"{model.info.name} (ONNX, {model.info.descriptor_dim}-d)"
        return partial(embed_with_onnx, model, batch_size=batch_size, workers=workers), description
    net, checkpoint = load_checkpoint_net(path)
    torch_device = resolve_device(device)
    description = f"{net.config.arch} checkpoint at step {checkpoint.get('step', '?')}"
    embed = partial(
        embed_with_net, net, device=torch_device, batch_size=batch_size, workers=workers
    )
    return embed, description
