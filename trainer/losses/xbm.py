"""Cross-batch memory (Wang et al., "Cross-Batch Memory for Embedding Learning", CVPR 2020).

A FIFO of detached descriptors and their labels from recent batches, which the contrastive
loss uses as extra pairs: many more negatives than one batch holds, at no encoding cost.
As in the authors' code and pytorch-metric-learning's `CrossBatchMemory`, each batch is
enqueued before the loss against the memory, so the memory includes the batch itself; each
photo's pair with its own entry is left out of that loss.
"""

from __future__ import annotations

import torch
from torch import nn


class CrossBatchMemory(nn.Module):
    """Ring buffer of the last `size` descriptors and labels.

    The contents are buffers, so they travel in the state dict and a resumed run continues
    with the memory it had.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"memory size must be positive, got {size}")
        self.size = size
        self.register_buffer("descriptors", torch.zeros(size, dim))
        self.register_buffer("labels", torch.zeros(size, dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        self.register_buffer("head", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self.count)

    def contents(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The stored (descriptors, labels), oldest first."""
        n = len(self)
        order = (self.head - n + torch.arange(n, device=self.head.device)) % self.size
        return self.descriptors[order], self.labels[order]

    @torch.no_grad()
    def enqueue(self, descriptors: torch.Tensor, labels: torch.Tensor) -> None:
        """Append a batch, overwriting the oldest entries once the memory is full."""
        descriptors, labels = descriptors[-self.size :], labels[-self.size :]
        slots = (self.head + torch.arange(len(labels), device=self.head.device)) % self.size
        self.descriptors[slots] = descriptors.detach().to(self.descriptors.dtype)
        self.labels[slots] = labels
        self.head.copy_((self.head + len(labels)) % self.size)
        self.count.copy_(torch.clamp(self.count + len(labels), max=self.size))

    def newest_positions(self, batch_size: int) -> torch.Tensor:
        """Where the rows of the last enqueued batch of `batch_size` sit in `contents()`:
        -1 for rows that did not fit in the memory."""
        positions = len(self) - batch_size + torch.arange(batch_size, device=self.head.device)
        return torch.where(positions >= 0, positions, -1)
