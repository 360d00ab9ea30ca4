"""Kozachenko-Leonenko differential entropy regulariser (Sablayrolles et al., "Spreading
vectors for similarity search", ICLR 2019), as used by El-Nouby et al. (2021)."""

from __future__ import annotations

import torch
from torch import nn


class KoLeoLoss(nn.Module):
    """-mean_i log(min_{j != i} ||z_i - z_j|| + eps), computed in fp32.

    Pushes every descriptor away from its nearest neighbour in the batch, which spreads
    the descriptors over the sphere. The nearest neighbour is chosen without gradient; the
    distance to it carries the gradient.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if len(z) < 2:
            raise ValueError("the KoLeo loss needs at least two descriptors")
        with torch.autocast(z.device.type, enabled=False):
            z = z.float()
            with torch.no_grad():
                distances = torch.cdist(z, z)
                distances.fill_diagonal_(float("inf"))
                nearest = distances.argmin(dim=1)
            rho = (z - z[nearest]).norm(dim=1)
            return -torch.log(rho + self.eps).mean()
