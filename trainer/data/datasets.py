"""torch Datasets over photo lists: random training views and deterministic eval views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from desktop.core.images import InputSpec
from trainer.data.folder import ImageList
from trainer.data.transforms import Box, EvalView, load_train_view


class TrainViews(Dataset):
    """Indexed by (photo index, view seed), as the batch sampler yields them; returns
    (uint8 [S, S, 3] tensor, label)."""

    def __init__(self, images: ImageList, spec: InputSpec) -> None:
        self.images = images
        self.spec = spec

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        index, seed = key
        view = load_train_view(self.images.paths[index], self.spec, np.random.default_rng(seed))
        return torch.from_numpy(view), int(self.images.labels[index])


class EvalViews(Dataset):
    """The model input `view` makes of each photo (of its box when one is given)."""

    def __init__(self, paths: list[Path], view: EvalView, boxes: list[Box] | None = None) -> None:
        if boxes is not None and len(boxes) != len(paths):
            raise ValueError(f"{len(paths)} photos but {len(boxes)} boxes")
        self.paths = paths
        self.view = view
        self.boxes = boxes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        box = self.boxes[index] if self.boxes is not None else None
        return torch.from_numpy(self.view.load(self.paths[index], box))
