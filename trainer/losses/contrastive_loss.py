"""Contrastive loss of El-Nouby et al., "Training Vision Transformers for Image Retrieval"
(2021), after Hadsell, Chopra and LeCun (2006), on cosine similarities."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ContrastiveLoss(nn.Module):
    """(1/N) sum_i [ sum_pos (1 - s_ij) + sum_neg max(0, s_ij - margin) ], s_ij = z_i . z_j.

    Normalised by the number of anchors N, not by the number of non-zero pairs. Without a
    reference set the batch is compared with itself (each photo is not its own positive).
    With `ref_z` / `ref_labels` (the cross-batch memory) every pair counts except, when
    `own` is given, each anchor's pair with its own entry `ref_z[own[i]]` (-1: none).
    """

    def __init__(self, margin: float = 0.5) -> None:
        super().__init__()
        self.margin = margin

    def forward(
        self,
        z: torch.Tensor,
        labels: torch.Tensor,
        ref_z: torch.Tensor | None = None,
        ref_labels: torch.Tensor | None = None,
        own: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if (ref_z is None) != (ref_labels is None):
            raise ValueError("ref_z and ref_labels go together")
        z = z.float()
        if ref_z is None:
            ref_z, ref_labels = z, labels
            own = torch.arange(len(z), device=z.device)
        similarity = z @ ref_z.float().T
        same = labels[:, None] == ref_labels[None, :]
        positive = same
        if own is not None:
            columns = torch.arange(len(ref_labels), device=z.device)
            positive = same & (columns[None, :] != own[:, None])
        positive_loss = torch.where(positive, 1.0 - similarity, 0.0).sum()
        negative_loss = torch.where(same, 0.0, F.relu(similarity - self.margin)).sum()
        return (positive_loss + negative_loss) / len(z)
