"""Each loss against a slow loop over pairs, and against pytorch-metric-learning."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning.distances import DotProductSimilarity
from pytorch_metric_learning.reducers import SumReducer

from trainer.losses import ContrastiveLoss, CrossBatchMemory, KoLeoLoss
from trainer.objective import RetrievalObjective


def descriptors(n: int, dim: int = 16, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, dim, generator=generator, dtype=torch.float64), dim=1)


def slow_contrastive(z, labels, ref_z=None, ref_labels=None, margin=0.5) -> torch.Tensor:
    self_pairs = ref_z is None
    ref_z, ref_labels = (z, labels) if self_pairs else (ref_z, ref_labels)
    total = z.new_zeros(())
    for i in range(len(z)):
        for j in range(len(ref_z)):
            if self_pairs and i == j:
                continue
            s = torch.dot(z[i], ref_z[j])
            if labels[i] == ref_labels[j]:
                total = total + (1 - s)
            else:
                total = total + torch.clamp(s - margin, min=0)
    return total / len(z)


def slow_koleo(z, eps=1e-8) -> torch.Tensor:
    total = z.new_zeros(())
    for i in range(len(z)):
        nearest = min(torch.dist(z[i], z[j]) for j in range(len(z)) if j != i)
        total = total - torch.log(nearest + eps)
    return total / len(z)


LABELS = torch.tensor([0, 0, 1, 1, 2, 2, 3, 0, 5, 5])


@pytest.mark.parametrize("margin", [0.5, 0.0, -0.2])
def test_contrastive_matches_slow_loop_in_value_and_gradient(margin):
    z = descriptors(len(LABELS)).requires_grad_()
    fast = ContrastiveLoss(margin)(z, LABELS)
    (fast_grad,) = torch.autograd.grad(fast, z)
    slow = slow_contrastive(z, LABELS, margin=margin)
    (slow_grad,) = torch.autograd.grad(slow, z)
    assert fast.item() == pytest.approx(slow.item(), rel=1e-6)
    assert torch.allclose(fast_grad.double(), slow_grad, atol=1e-6)


def test_contrastive_against_reference_set_counts_every_pair():
    z, ref = descriptors(6, seed=1), descriptors(9, seed=2)
    labels, ref_labels = torch.tensor([0, 1, 2, 0, 1, 2]), torch.tensor([0, 0, 1, 3, 4, 2, 2, 1, 0])
    fast = ContrastiveLoss()(z, labels, ref, ref_labels)
    assert fast.item() == pytest.approx(slow_contrastive(z, labels, ref, ref_labels).item())
    # the batch as its own reference set: self pairs now count (1 - s_ii = 0), nothing else
    assert ContrastiveLoss()(z, labels, z, labels).item() == pytest.approx(
        ContrastiveLoss()(z, labels).item()
    )


def test_contrastive_is_normalised_by_the_batch_size_not_the_nonzero_pairs():
    """One positive pair at similarity 0 in a batch of 4: (1 - 0) * 2 anchors / 4."""
    z = torch.eye(4)
    labels = torch.tensor([0, 0, 1, 2])
    assert ContrastiveLoss()(z, labels).item() == pytest.approx(2 / 4)


@pytest.mark.parametrize("with_reference", [False, True])
def test_contrastive_equals_pytorch_metric_learning_summed(with_reference):
    """PML's ContrastiveLoss on dot products with pos_margin=1 gives relu(1 - s) = 1 - s and
    relu(s - neg_margin); summed over pairs (SumReducer) it is N times our loss."""
    z, ref = descriptors(len(LABELS), seed=3).float(), descriptors(12, seed=4).float()
    ref_labels = torch.tensor([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 9, 9])
    pml = pml_losses.ContrastiveLoss(
        pos_margin=1.0, neg_margin=0.5, distance=DotProductSimilarity(), reducer=SumReducer()
    )
    if with_reference:
        ours = ContrastiveLoss(0.5)(z, LABELS, ref, ref_labels)
        theirs = pml(z, LABELS, ref_emb=ref, ref_labels=ref_labels)
    else:
        ours = ContrastiveLoss(0.5)(z, LABELS)
        theirs = pml(z, LABELS)
    assert ours.item() * len(z) == pytest.approx(theirs.item(), rel=1e-5)


def test_koleo_matches_slow_loop_in_value_and_gradient():
    z = descriptors(12, seed=5).requires_grad_()
    fast = KoLeoLoss()(z)
    (fast_grad,) = torch.autograd.grad(fast, z)
    slow = slow_koleo(z)
    (slow_grad,) = torch.autograd.grad(slow, z)
    assert fast.item() == pytest.approx(slow.item(), rel=1e-6)
    assert torch.allclose(fast_grad.double(), slow_grad, atol=1e-6)


def test_koleo_hand_computed():
    """Four points on a square of side sqrt(2) on the unit circle: each nearest at sqrt(2)."""
    z = torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1]])
    assert KoLeoLoss()(z).item() == pytest.approx(-math.log(math.sqrt(2)), abs=1e-6)


def test_koleo_runs_in_fp32_for_bf16_input():
    z = descriptors(8, seed=6).to(torch.bfloat16)
    loss = KoLeoLoss()(z)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(slow_koleo(z.double()).item(), rel=1e-5)


def test_koleo_is_finite_for_duplicates():
    z = descriptors(4, seed=7).repeat(2, 1).float().requires_grad_()
    loss = KoLeoLoss()(z)
    loss.backward()
    assert loss.item() == pytest.approx(-math.log(1e-8), rel=1e-3)
    assert torch.isfinite(z.grad).all()


def test_memory_is_a_fifo_of_the_last_entries():
    memory = CrossBatchMemory(5, dim=2)
    assert len(memory) == 0
    for start in (0, 3, 6):  # 9 entries through a memory of 5
        values = torch.arange(start, start + 3, dtype=torch.float32)
        memory.enqueue(torch.stack([values, -values], dim=1), values.long())
    stored, labels = memory.contents()
    assert labels.tolist() == [4, 5, 6, 7, 8]
    assert stored[:, 0].tolist() == [4, 5, 6, 7, 8]
    memory.enqueue(torch.zeros(7, 2), torch.arange(100, 107))  # larger than the memory
    assert memory.contents()[1].tolist() == [102, 103, 104, 105, 106]


def test_memory_stores_detached_copies_and_round_trips_through_state_dict():
    memory = CrossBatchMemory(4, dim=3)
    z = descriptors(3, dim=3).float().requires_grad_()
    memory.enqueue(z * 1, torch.tensor([1, 2, 3]))
    assert not memory.contents()[0].requires_grad
    restored = CrossBatchMemory(4, dim=3)
    restored.load_state_dict(memory.state_dict())
    for a, b in zip(memory.contents(), restored.contents(), strict=True):
        assert torch.equal(a, b)


def test_objective_weights_terms_and_builds_no_zero_term():
    z, labels = descriptors(10, seed=8).float(), LABELS
    objective = RetrievalObjective(margin=0.5, koleo_weight=0.7, memory_size=16, descriptor_dim=16)
    terms = objective(z, labels)
    # the batch is enqueued first, then compared with the memory (itself), own pairs left out
    assert terms["xbm"].item() == pytest.approx(terms["contrastive"].item())
    expected = terms["contrastive"] + terms["xbm"] + 0.7 * terms["koleo"]
    assert terms["loss"].item() == pytest.approx(expected.item())
    plain = RetrievalObjective(margin=0.5, koleo_weight=0.0, memory_size=0, descriptor_dim=16)
    assert plain.koleo is None and plain.memory is None
    assert set(plain(z, labels)) == {"contrastive", "loss"}


def test_memory_term_equals_pytorch_metric_learning_cross_batch_memory():
    """Batch after batch, through a memory that wraps around: PML's CrossBatchMemory enqueues
    the batch, then sums the contrastive pairs of the batch against the whole memory with
    each photo's own entry removed; that sum is N times our memory term, with the same
    gradient. PML normalises what it is given, so both sides start from raw vectors."""
    size, dim, batch = 24, 16, 10
    objective = RetrievalObjective(
        margin=0.5, koleo_weight=0.0, memory_size=size, descriptor_dim=dim
    )
    pml_loss = pml_losses.ContrastiveLoss(
        pos_margin=1.0, neg_margin=0.5, distance=DotProductSimilarity(), reducer=SumReducer()
    )
    pml = pml_losses.CrossBatchMemory(pml_loss, embedding_size=dim, memory_size=size)
    generator = torch.Generator().manual_seed(0)
    for step in range(6):
        raw = torch.randn(batch, dim, generator=generator)
        labels = torch.randint(0, 6, (batch,), generator=generator)
        ours_raw, theirs_raw = raw.clone().requires_grad_(), raw.clone().requires_grad_()
        ours = objective(F.normalize(ours_raw, dim=1), labels)["xbm"]
        theirs = pml(theirs_raw, labels)
        (ours * batch).backward()
        theirs.backward()
        assert ours.item() * batch == pytest.approx(theirs.item(), rel=1e-5), step
        assert torch.allclose(ours_raw.grad, theirs_raw.grad, atol=1e-6), step
    assert len(objective.memory) == size  # it wrapped around


def test_momentum_keys_fill_the_memory_and_each_photo_skips_its_own_key():
    """With a momentum encoder the memory holds its keys, not the batch's descriptors; the
    key of the photo itself (the same photo, an older network) is not a positive pair."""
    objective = RetrievalObjective(margin=0.5, koleo_weight=0.0, memory_size=32, descriptor_dim=16)
    old_z, old_labels = descriptors(10, seed=30).float(), LABELS
    objective(old_z, old_labels)
    z, keys = descriptors(10, seed=31).float(), descriptors(10, seed=32).float()
    terms = objective(z, LABELS, keys)
    stored, stored_labels = objective.memory.contents()
    assert torch.equal(stored, torch.cat([old_z, keys]))
    expected = slow_contrastive(z.double(), LABELS, old_z.double(), old_labels)
    for i in range(len(z)):
        for j in range(len(z)):
            if j == i:
                continue
            s = torch.dot(z[i].double(), keys[j].double())
            same = LABELS[i] == LABELS[j]
            expected += ((1 - s) if same else torch.clamp(s - 0.5, min=0)) / len(z)
    assert terms["xbm"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_the_memory_waits_for_its_warmup():
    objective = RetrievalObjective(margin=0.5, koleo_weight=0.0, memory_size=16, descriptor_dim=16)
    terms = objective(descriptors(10).float(), LABELS, use_memory=False)
    assert terms["xbm"].item() == 0.0 and len(objective.memory) == 0
    assert terms["loss"].item() == pytest.approx(terms["contrastive"].item())
