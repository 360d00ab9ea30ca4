"""Descriptors of photo lists, from a torch network or an exported ONNX model.

Both read photos through the same `EvalView` (the app's own loader unless a benchmark's
protocol asks for another), so a checkpoint and the ONNX file exported from it are measured
on identical input.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from desktop.core.descriptor_model import DescriptorSession
from desktop.core.images import InputSpec
from trainer.data.datasets import EvalViews
from trainer.data.transforms import Box, EvalView, recipe_spec
from trainer.distributed import resolve_device
from trainer.export import UInt8ImageWrapper
from trainer.model import DescriptorNet, load_checkpoint_net


def _batches(
    paths: list[Path], view: EvalView, boxes: list[Box] | None, batch_size: int, workers: int
) -> DataLoader:
    return DataLoader(EvalViews(paths, view, boxes), batch_size=batch_size, num_workers=workers)


@torch.no_grad()
def embed_with_net(
    net: DescriptorNet,
    paths: list[Path],
    boxes: list[Box] | None = None,
    *,
    view: EvalView,
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
        for images in _batches(paths, view, boxes, batch_size, workers):
            parts.append(wrapper(images.to(device, non_blocking=True)).cpu().numpy())
    finally:
        net.train(was_training)
    return np.concatenate(parts)


def embed_with_onnx(
    model: DescriptorSession,
    paths: list[Path],
    boxes: list[Box] | None = None,
    *,
    view: EvalView,
    batch_size: int = 64,
    workers: int = 0,
) -> np.ndarray:
    """float32 [N, D] descriptors computed by onnxruntime, as the app computes them."""
    parts = [np.zeros((0, model.info.descriptor_dim), np.float32)]
    for images in _batches(paths, view, boxes, batch_size, workers):
        parts.append(model.embed(images.numpy()))
    return np.concatenate(parts)


@dataclass
class ModelEmbedder:
    """A model file, ready to embed photo lists: `embed(paths, boxes, view=...)`.

    `spec` is the model's own input spec: what the app does with an `.onnx` file (its
    metadata), or, for a trainer checkpoint, the recipe's spec its export carries.
    """

    description: str
    spec: InputSpec
    embed: Callable[..., np.ndarray]


def model_embedder(
    path: str | os.PathLike,
    *,
    device: str = "auto",
    batch_size: int = 64,
    workers: int = 0,
) -> ModelEmbedder:
    """An embedder for a model file.

    `.onnx` files run in onnxruntime exactly as in the app; anything else is read as a
    trainer checkpoint and runs in torch (on the GPU when there is one).
    """
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        model = DescriptorSession(path)
        return ModelEmbedder(
            f"{model.info.name} (ONNX, {model.info.descriptor_dim}-d)",
            model.input_spec,
            partial(embed_with_onnx, model, batch_size=batch_size, workers=workers),
        )
    net, checkpoint = load_checkpoint_net(path)
    return ModelEmbedder(
        f"{net.config.arch} checkpoint at step {checkpoint.get('step', '?')}",
        recipe_spec(net.input_spec()),
        partial(
            embed_with_net,
            net,
            device=resolve_device(device),
            batch_size=batch_size,
            workers=workers,
        ),
    )
