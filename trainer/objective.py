"""The training objective: L = L_contr(batch) + L_contr(batch, memory) + lambda * L_KoLeo.

Loss weights are applied here and nowhere else; a term whose weight (or memory size) is 0
is not built. Every term is returned by name so each can be logged and plotted.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.losses import ContrastiveLoss, CrossBatchMemory, KoLeoLoss


class RetrievalObjective(nn.Module):
    def __init__(
        self, *, margin: float, koleo_weight: float, memory_size: int, descriptor_dim: int
    ) -> None:
        super().__init__()
        self.contrastive = ContrastiveLoss(margin)
        self.koleo_weight = koleo_weight
        self.koleo = KoLeoLoss() if koleo_weight > 0 else None
        self.memory = CrossBatchMemory(memory_size, descriptor_dim) if memory_size > 0 else None

    def forward(
        self,
        z: torch.Tensor,
        labels: torch.Tensor,
        keys: torch.Tensor | None = None,
        *,
        use_memory: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Named terms and their weighted sum `loss` for L2-normalised descriptors `z`.

        With a memory and `use_memory` (false during the memory's warm-up), the batch's
        `keys` (default: `z` detached; the momentum encoder's descriptors when there is one)
        are enqueued first, then the batch is compared with the whole memory.
        """
        terms = {"contrastive": self.contrastive(z, labels)}
        loss = terms["contrastive"]
        if self.memory is not None:
            if use_memory:
                self.memory.enqueue(z.detach() if keys is None else keys, labels)
                own = self.memory.newest_positions(len(z))
                terms["xbm"] = self.contrastive(z, labels, *self.memory.contents(), own=own)
            else:
                terms["xbm"] = torch.zeros((), device=z.device)
            loss = loss + terms["xbm"]
        if self.koleo is not None:
            terms["koleo"] = self.koleo(z)
            loss = loss + self.koleo_weight * terms["koleo"]
        terms["loss"] = loss
        return terms
