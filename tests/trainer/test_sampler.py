"""Class-balanced batches: P labels x m photos, identical global batches on any world size."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.sampler import ClassBalancedBatchSampler

LABELS = np.repeat(np.arange(10), [6, 6, 5, 4, 3, 8, 2, 1, 7, 6])  # uneven, one lone photo


def batches(labels=LABELS, **kwargs):
    options = {"batch_size": 8, "m": 2, "seed": 3, "num_steps": 12, **kwargs}
    return list(ClassBalancedBatchSampler(labels, **options))


def test_every_batch_has_p_distinct_labels_with_m_photos_each():
    for m in (2, 4):
        for batch in batches(m=m):
            assert len(batch) == 8
            indices = [i for i, _ in batch]
            groups = np.asarray(LABELS[indices]).reshape(-1, m)
            assert (groups == groups[:, :1]).all()  # m consecutive photos share a label
            assert len(set(groups[:, 0])) == 8 // m  # P distinct labels
            for group in np.asarray(indices).reshape(-1, m):
                label = LABELS[group[0]]
                if (label == LABELS).sum() >= m:
                    assert len(set(group)) == m  # distinct photos when the label has enough


def test_a_label_with_fewer_than_m_photos_repeats_its_photos():
    labels = np.array([0, 1, 1, 1, 1])
    for batch in batches(labels, batch_size=4, m=2, num_steps=6):
        indices = [i for i, _ in batch]
        if 0 in indices:
            assert indices.count(0) == 2


def test_same_seed_same_batches_other_seed_other_batches():
    assert batches() == batches()
    assert batches() != batches(seed=4)


@pytest.mark.parametrize("world_size", [2, 4])
def test_rank_slices_together_are_the_single_process_batch(world_size):
    single = batches()
    slices = [batches(rank=r, world_size=world_size) for r in range(world_size)]
    for step, batch in enumerate(single):
        assert [item for part in slices for item in part[step]] == batch


def test_starting_at_a_step_continues_the_same_sequence():
    assert batches(start_step=5) == batches()[5:]
    sampler = ClassBalancedBatchSampler(LABELS, 8, 2, seed=3, num_steps=12, start_step=5)
    assert len(sampler) == 7


def test_photos_and_labels_are_covered_evenly_over_many_steps():
    labels = np.repeat(np.arange(6), 10)
    sampler = ClassBalancedBatchSampler(labels, 12, 2, seed=0, num_steps=500)
    counts = np.bincount([i for batch in sampler for i, _ in batch], minlength=60)
    assert counts.sum() == 6000
    assert counts.min() > 0.75 * 100 and counts.max() < 1.25 * 100


def test_view_seeds_differ_per_position_and_step():
    seeds = [seed for batch in batches() for _, seed in batch]
    assert len(set(seeds)) == len(seeds)


def test_impossible_configurations_are_explained():
    with pytest.raises(ValueError, match="needs 6 labels, the training data has 4"):
        ClassBalancedBatchSampler(np.arange(4), 12, 2, num_steps=1)
    with pytest.raises(ValueError, match="multiple of m"):
        ClassBalancedBatchSampler(LABELS, 9, 2, num_steps=1)
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        ClassBalancedBatchSampler(LABELS, 8, 2, num_steps=1, world_size=3)
