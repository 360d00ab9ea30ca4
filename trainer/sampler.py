"""Class-balanced batches: P labels x m photos, the same global batch on any number of ranks.

Every global batch is a pure function of (seed, step): the epoch's generator is seeded with
(seed, epoch), so all ranks draw the same batch without talking to each other, and each
takes its own contiguous slice. Together the slices are exactly the batch a single process
would draw, which is what makes a multi-GPU run equal to a single-GPU one, and a resumed run
equal to an uninterrupted one (the resume needs only the step). Each photo comes with a
view seed, also derived from (seed, step, position), that fixes its random augmentation.

Reference: pytorch-metric-learning's MPerClassSampler (labels drawn without replacement,
m photos per label; a label with fewer than m photos repeats some, as `safe_random_choice`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class ClassBalancedBatchSampler:
    """Yields, for steps `start_step` .. `num_steps` - 1, this rank's part of each global
    batch as a list of (photo index, view seed)."""

    def __init__(
        self,
        labels: np.ndarray,
        batch_size: int,
        m: int,
        *,
        seed: int = 0,
        num_steps: int,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        labels = np.asarray(labels)
        if m < 1 or batch_size % m:
            raise ValueError(f"the batch size ({batch_size}) must be a multiple of m ({m})")
        if batch_size % world_size:
            raise ValueError(
                f"the batch size ({batch_size}) must be a multiple of the number of "
                f"processes ({world_size})"
            )
        classes, inverse = np.unique(labels, return_inverse=True)
        self.labels_per_batch = batch_size // m
        if len(classes) < self.labels_per_batch:
            raise ValueError(
                f"a batch of {batch_size} with m={m} needs {self.labels_per_batch} labels, "
                f"the training data has {len(classes)}: lower the batch size or raise m"
            )
        self.photos_of = [np.flatnonzero(inverse == c) for c in range(len(classes))]
        self.batch_size = batch_size
        self.m = m
        self.seed = seed
        self.num_steps = num_steps
        self.start_step = start_step
        self.rank = rank
        self.world_size = world_size
        self.steps_per_epoch = max(1, len(labels) // batch_size)
        self._epoch_cache: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(0, self.num_steps - self.start_step)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        per_rank = self.batch_size // self.world_size
        begin = self.rank * per_rank
        for step in range(self.start_step, self.num_steps):
            indices = self.global_batch(step)[begin : begin + per_rank]
            seeds = view_seeds(self.seed, step, range(begin, begin + per_rank))
            yield list(zip(indices.tolist(), seeds, strict=True))

    def global_batch(self, step: int) -> np.ndarray:
        """Photo indices of the whole batch at `step`, grouped m by m per label."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            self._epoch_cache = (epoch, self._draw_epoch(epoch))
        return self._epoch_cache[1][position]

    def _draw_epoch(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, epoch])
        batches = np.empty((self.steps_per_epoch, self.batch_size), dtype=np.int64)
        for b in range(self.steps_per_epoch):
            chosen = rng.choice(len(self.photos_of), self.labels_per_batch, replace=False)
            batches[b] = np.concatenate([self._draw_photos(rng, c) for c in chosen])
        return batches

    def _draw_photos(self, rng: np.random.Generator, label: int) -> np.ndarray:
        photos = self.photos_of[label]
        distinct = rng.choice(photos, min(self.m, len(photos)), replace=False)
        repeats = rng.choice(photos, self.m - len(distinct), replace=True)
        return np.concatenate([distinct, repeats])


def view_seeds(seed: int, step: int, positions) -> list[int]:
    """One 63-bit augmentation seed per batch position, independent across steps and runs."""
    return [
        int(np.random.SeedSequence([seed, step, position]).generate_state(1, np.uint64)[0] >> 1)
        for position in positions
    ]
