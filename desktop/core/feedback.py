"""Relevance feedback: a result list re-ranked from the photos a user marked good or bad.

Rocchio's rule on unit descriptors: q' = a·q + b·mean(good) − c·mean(bad), renormalised.
The marked photos' descriptors are already stored, so a re-rank embeds nothing and costs
one search. The weights are the classic ones (Salton and Buckley, 1990): the query keeps
its say, good photos pull harder than bad ones push.
"""

from __future__ import annotations

import numpy as np

QUERY_WEIGHT = 1.0
GOOD_WEIGHT = 0.75
BAD_WEIGHT = 0.15


def refine(query: np.ndarray, good: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """The query moved towards the good descriptors [G, D] and away from the bad [B, D]."""
    moved = QUERY_WEIGHT * np.asarray(query, dtype=np.float32)
    if len(good):
        moved = moved + GOOD_WEIGHT * good.mean(axis=0)
    if len(bad):
        moved = moved - BAD_WEIGHT * bad.mean(axis=0)
    norm = float(np.linalg.norm(moved))
    if norm == 0.0:  # the marks cancel the query out: keep the query
        return np.asarray(query, dtype=np.float32)
    return (moved / norm).astype(np.float32)
