"""Retrieval metrics: hand-computed cases, pytorch-metric-learning, the revisited protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

from trainer import evaluate
from trainer.evaluate import (
    map_at_r,
    recall_at_k,
    retrieval_metrics,
    revisited_average_precision,
    revisited_map,
)


def on_circle(degrees) -> np.ndarray:
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)


def clustered(num_labels: int, per_label, dim: int = 8, seed: int = 0):
    """Noisy descriptors around one centre per label (sizes vary), L2-normalised."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(num_labels, dim))
    sizes = rng.integers(*per_label, size=num_labels)
    labels = np.repeat(np.arange(num_labels), sizes)
    x = centres[labels] + 0.9 * rng.normal(size=(len(labels), dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


# Six photos on the unit circle; neighbours worked out by hand in the comments.
ANGLES = [0, 10, 25, 100, 115, 210]
LABELS = np.array([0, 0, 1, 1, 0, 1])
# a(0):  b c d e f   hit@1, AP@R (R=2) = 1/2
# b(10): a c d e f   hit@1, AP@R = 1/2
# c(25): b a d e f   first hit at 3, AP@R = 0
# d(100): e c b a f  first hit at 2, AP@R = (1/2)/2
# e(115): d c f b a  first hit at 4, AP@R = 0
# f(210): e d a b c  first hit at 2, AP@R = (1/2)/2


def test_hand_computed_recall_and_map_at_r():
    metrics = retrieval_metrics(on_circle(ANGLES), LABELS, ks=(1, 2, 3, 4))
    assert metrics["recall@1"] == pytest.approx(2 / 6)
    assert metrics["recall@2"] == pytest.approx(4 / 6)
    assert metrics["recall@3"] == pytest.approx(5 / 6)
    assert metrics["recall@4"] == pytest.approx(6 / 6)
    assert metrics["map@r"] == pytest.approx((0.5 + 0.5 + 0 + 0.25 + 0 + 0.25) / 6)
    assert metrics["queries"] == 6
    assert recall_at_k(on_circle(ANGLES), LABELS, (1, 2)) == {
        1: pytest.approx(2 / 6),
        2: pytest.approx(4 / 6),
    }
    assert map_at_r(on_circle(ANGLES), LABELS) == pytest.approx(0.25)


def test_a_label_with_one_photo_is_not_a_query():
    angles, labels = [*ANGLES, 300], np.append(LABELS, 7)
    metrics = retrieval_metrics(on_circle(angles), labels, ks=(1,))
    assert metrics["queries"] == 6
    assert metrics["recall@1"] == pytest.approx(2 / 6)


def test_hand_computed_query_gallery():
    queries, query_labels = on_circle([0, 90]), np.array([0, 1])
    gallery, gallery_labels = on_circle([5, 20, 80, 105]), np.array([1, 0, 1, 0])
    # q(0):  5(1) 20(0) 80(1) 105(0) -> miss@1, hit@2, AP@R = (1/2)/2
    # q(90): 80(1) 105(0) 20(0) 5(1) -> hit@1, AP@R = 1/2
    metrics = retrieval_metrics(
        queries, query_labels, (1, 2), gallery=gallery, gallery_labels=gallery_labels
    )
    assert metrics["recall@1"] == pytest.approx(0.5)
    assert metrics["recall@2"] == pytest.approx(1.0)
    assert metrics["map@r"] == pytest.approx((0.25 + 0.5) / 2)


def test_the_query_itself_is_excluded_even_among_duplicates():
    """Two identical photos of different labels: each finds the other, never itself."""
    x = on_circle([0, 0, 90, 95])
    metrics = retrieval_metrics(x, np.array([0, 1, 0, 1]), ks=(1,))
    assert metrics["recall@1"] == 0.0


def pml_metrics(query, query_labels, reference=None, reference_labels=None):
    calculator = AccuracyCalculator(
        include=("precision_at_1", "mean_average_precision_at_r"), k="max_bin_count"
    )
    return calculator.get_accuracy(
        torch.from_numpy(query),
        torch.from_numpy(query_labels),
        None if reference is None else torch.from_numpy(reference),
        None if reference_labels is None else torch.from_numpy(reference_labels),
        ref_includes_query=reference is None,
    )


def test_all_vs_all_matches_pytorch_metric_learning():
    x, labels = clustered(40, (1, 9), seed=1)  # sizes 1..8: some labels have a lone photo
    ours = retrieval_metrics(x, labels, ks=(1,))
    theirs = pml_metrics(x, labels)
    assert ours["recall@1"] == pytest.approx(theirs["precision_at_1"], abs=1e-6)
    assert ours["map@r"] == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-6)


def test_query_gallery_matches_pytorch_metric_learning():
    x, labels = clustered(30, (2, 8), seed=2)
    is_query = np.random.default_rng(3).random(len(x)) < 0.3
    ours = retrieval_metrics(
        x[is_query], labels[is_query], (1,), gallery=x[~is_query], gallery_labels=labels[~is_query]
    )
    theirs = pml_metrics(x[is_query], labels[is_query], x[~is_query], labels[~is_query])
    assert ours["recall@1"] == pytest.approx(theirs["precision_at_1"], abs=1e-6)
    assert ours["map@r"] == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-6)


def test_batched_search_gives_the_same_metrics(monkeypatch):
    x, labels = clustered(25, (2, 10), seed=4)
    whole = retrieval_metrics(x, labels, ks=(1, 2, 4, 8))
    monkeypatch.setattr(evaluate, "SEARCH_BUDGET", 37)  # a few queries per batch
    assert retrieval_metrics(x, labels, ks=(1, 2, 4, 8)) == pytest.approx(whole)


def test_recall_at_k_against_brute_force():
    x, labels = clustered(20, (2, 6), dim=4, seed=5)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    order = np.argsort(-similarity, axis=1)
    counts = np.bincount(labels)[labels] - 1
    valid = counts > 0
    for k in (1, 3, 10):
        hits = (labels[order[:, :k]] == labels[:, None]).any(axis=1)
        assert recall_at_k(x, labels, (k,))[k] == pytest.approx(hits[valid].mean())


# revisitop's compute_ap / compute_map (Radenovic et al.), transcribed as the reference.
def revisitop_compute_ap(ranks, nres):
    ap, recall_step = 0.0, 1.0 / nres
    for j, rank in enumerate(ranks):
        precision_0 = 1.0 if rank == 0 else float(j) / rank
        precision_1 = float(j + 1) / (rank + 1)
        ap += (precision_0 + precision_1) * recall_step / 2.0
    return ap


def revisitop_compute_map(ranks, gnd):
    total, empty = 0.0, 0
    for i in range(ranks.shape[1]):
        qgnd = np.array(gnd[i]["ok"])
        if qgnd.shape[0] == 0:
            empty += 1
            continue
        qgndj = np.array(gnd[i]["junk"])
        pos = np.arange(ranks.shape[0])[np.isin(ranks[:, i], qgnd)]
        junk = np.arange(ranks.shape[0])[np.isin(ranks[:, i], qgndj)]
        k, ij = 0, 0
        if len(junk):
            ip = 0
            while ip < len(pos):
                while ij < len(junk) and pos[ip] > junk[ij]:
                    k, ij = k + 1, ij + 1
                pos[ip] = pos[ip] - k
                ip += 1
        total += revisitop_compute_ap(pos, len(qgnd))
    return total / (ranks.shape[1] - empty)


def test_hand_made_revisited_ground_truth():
    # query 0 ranks the database as 2 1 0 4 3 6 5 7; query 1 ranks 0 first
    database = on_circle([20, 10, 0, 40, 30, 60, 50, 70])
    queries = on_circle([0, 20])
    truth = [
        {"easy": np.array([1, 4]), "hard": np.array([6]), "junk": np.array([2])},
        {"easy": np.array([0]), "hard": np.array([], int), "junk": np.array([], int)},
    ]
    # query 0, Medium: positives 1, 4, 6 at ranks 1, 3, 5; junk 2 (rank 0) removed -> 0, 2, 4
    medium_0 = ((1 + 1) / 2 + (1 / 2 + 2 / 3) / 2 + (2 / 4 + 3 / 5) / 2) / 3
    # query 0, Hard: positive 6 at rank 5, junk 2, 1, 4 all before it -> rank 2
    hard_0 = (0 / 2 + 1 / 3) / 2
    metrics = revisited_map(queries, database, truth)
    assert metrics["map_medium"] == pytest.approx((medium_0 + 1.0) / 2)
    assert metrics["map_hard"] == pytest.approx(hard_0)  # query 1 has no hard positive


def test_revisited_map_matches_revisitop_on_random_data():
    rng = np.random.default_rng(6)
    database = rng.normal(size=(60, 6)).astype(np.float32)
    queries = rng.normal(size=(7, 6)).astype(np.float32)
    truth = []
    for _ in range(len(queries)):
        chosen = rng.permutation(60)[:20]
        truth.append({"easy": chosen[:5], "hard": chosen[5:9], "junk": chosen[9:15]})
    ranks = np.argsort(-(database @ queries.T), axis=0)
    medium = [{"ok": np.concatenate([g["easy"], g["hard"]]), "junk": g["junk"]} for g in truth]
    hard = [{"ok": g["hard"], "junk": np.concatenate([g["junk"], g["easy"]])} for g in truth]
    metrics = revisited_map(queries, database, truth)
    assert metrics["map_medium"] == pytest.approx(revisitop_compute_map(ranks, medium))
    assert metrics["map_hard"] == pytest.approx(revisitop_compute_map(ranks, hard))


def test_revisited_average_precision_of_a_perfect_ranking_is_one():
    ranking = np.array([3, 1, 0, 2])
    assert revisited_average_precision(ranking, np.array([3, 1]), np.array([], int)) == 1.0


def test_nothing_to_find_is_an_error():
    with pytest.raises(ValueError, match="no query has another photo of its label"):
        retrieval_metrics(on_circle([0, 90, 180]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="no query has another photo of its label"):
        retrieval_metrics(on_circle([0]), np.array([0]))
