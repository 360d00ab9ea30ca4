"""The descriptor network: a timm ViT whose output is its CLS token, L2-normalised.

El-Nouby et al. (2021) use the CLS token of the last block, after the final norm, with no
projection head. timm's `forward_head(..., pre_logits=True)` averages the CLS and the
distillation token for distilled DeiT, so the descriptor is read from `forward_features`.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import timm
import torch
import torch.nn.functional as F
from torch import nn

from desktop.core.images import InputSpec

DEFAULT_ARCH = "deit_small_patch16_224"


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; saved in every checkpoint."""

    arch: str = DEFAULT_ARCH
    input_size: int | None = None
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DescriptorNet(nn.Module):
    """Backbone + CLS-token descriptor. Input: normalised float images [N, 3, S, S]."""

    def __init__(self, backbone: nn.Module, config: ModelConfig) -> None:
        super().__init__()
        if getattr(backbone, "cls_token", None) is None:
            raise ValueError(f"{config.arch} has no class token; a ViT with a CLS token is needed")
        self.backbone = backbone
        self.config = config

    @property
    def descriptor_dim(self) -> int:
        return int(self.backbone.num_features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.backbone.forward_features(images)
        return F.normalize(tokens[:, 0].float(), dim=-1)

    def data_config(self) -> dict[str, Any]:
        """timm's preprocessing for this backbone (mean, std, interpolation, crop_pct)."""
        return timm.data.resolve_model_data_config(self.backbone)

    def input_spec(self) -> InputSpec:
        """timm's eval transform for this backbone at our input size: what off-the-shelf
        weights are validated with (fine-tuned models use `recipe_spec` of it)."""
        cfg = self.data_config()
        size = self.config.input_size or int(cfg["input_size"][-1])
        resize = int(math.floor(size / cfg["crop_pct"]))
        interpolation = cfg["interpolation"] if cfg["interpolation"] != "random" else "bicubic"
        return InputSpec(input_size=size, resize_size=resize, interpolation=interpolation)


def create_descriptor_net(
    config: ModelConfig,
    *,
    pretrained: bool = False,
    weights_file: str | os.PathLike | None = None,
) -> DescriptorNet:
    """Build the network, with timm's pretrained weights, a local weights file, or random.

    A weights file goes through timm's own pretrained-loading path (classifier removed,
    position embeddings resampled to the input size), exactly as a downloaded one would.
    """
    kwargs = dict(config.model_kwargs)
    kwargs["num_classes"] = 0
    if config.input_size:
        kwargs["img_size"] = config.input_size
    if weights_file is not None:
        path = Path(weights_file)
        if not path.is_file():
            raise FileNotFoundError(f"weights file not found: {path}")
        pretrained = True
        kwargs["pretrained_cfg_overlay"] = {"file": str(path)}
    backbone = timm.create_model(config.arch, pretrained=pretrained, **kwargs)
    return DescriptorNet(backbone, config)


def load_checkpoint_net(path: str | os.PathLike) -> tuple[DescriptorNet, dict[str, Any]]:
    """Rebuild the network saved in a trainer checkpoint; returns it and the checkpoint."""
    checkpoint = torch.load(Path(path), map_location="cpu", weights_only=False)
    if (
        not isinstance(checkpoint, dict)
        or "model" not in checkpoint
        or "model_config" not in checkpoint
    ):
        raise ValueError(f"{path} is not a photo-search trainer checkpoint")
    net = create_descriptor_net(ModelConfig(**checkpoint["model_config"]))
    net.load_state_dict(checkpoint["model"])
    return net, checkpoint
