"""Near-duplicate groups from two signals, the descriptor and the perceptual hash.

Either signal can propose a pair; what makes it a duplicate:
- the hashes are within HASH_SURE bits (mirror-invariant): resized, re-encoded, brightened
  and mirrored copies, whatever the model thinks of them;
- the descriptors are at least `sure` similar: the model alone is confident;
- or the hashes are within HASH_CONFIRM bits and the descriptors at least `confirm` similar:
  each signal too weak alone (a crop, a slight rotation), together enough.

`sure` and `confirm` depend on the model: a random or category-trained model puts unrelated
photos far closer than a retrieval model does. A model may state `sure` in its metadata
(model_contract.KEY_DUPLICATE_SIMILARITY); otherwise both are estimated from the library's
own distribution of similarities between random pairs of photos whose hashes are more than
HASH_CONFIRM bits apart (so that the library's own duplicates do not count as unrelated):
`confirm` is where its top CONFIRM_SHARE begins, `sure` halfway from its top 1 in 10,000 to
identical. A user's threshold replaces `sure`.

Groups never chain: photos are taken best copy first (`best_copy_key`); each one not yet
in a group starts a group with the duplicates of it not yet in one. A photo joins a group
only as a duplicate of that group's first photo, so A~B and B~C do not put A and C together
unless A~C.

Which copy of a group to keep (`choose_keep`) and which photos a choice sends away
(`photos_to_trash`) are decided here too, over catalog photos; `Library.trash_photos` moves
the files. `best_copy_key` is the one definition of "the best copy": groups are listed in
its order, the CLI keeps the first and the window checks it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from desktop.core import model_contract as contract
from desktop.core.catalog import Catalog, ModelRecord, Photo
from desktop.core.perceptual_hash import hamming, hash_bytes

HASH_SURE = 10
"""Bits. On 280,000 unrelated pairs of flower photos the closest hashes were 14 bits apart;
imagededup's PHash default is 10."""
HASH_CONFIRM = 18
"""Bits: a 5° rotation or an 85% crop moves a hash up to about 18-26 bits."""
CONFIRM_SHARE = 0.03
"""Unrelated pairs as similar as the `confirm` level, in the library's distribution."""
SURE_QUANTILE = 0.9999
SAMPLED_PAIRS = 200_000
MIN_PHOTOS_TO_ESTIMATE = 50
"""Below this, too few pairs to estimate from: FALLBACK levels."""
FALLBACK_SURE, FALLBACK_CONFIRM = 0.95, 0.9
BATCH = 1024
IVF_FROM = 20_000
IVF_PROBES = 4
IVF_TRAIN_PER_LIST = 40
NO_HASH = np.iinfo(np.int64).min
"""Stands for a missing hash in an aligned array (a hash of that value is as good as absent)."""


@dataclass(frozen=True)
class DuplicateThreshold:
    """The similarity levels used, and where `sure` came from: "model" (its metadata),
    "library" (estimated), "default" (too few photos to estimate) or "user"."""

    sure: float
    confirm: float
    source: str


@dataclass(frozen=True)
class DuplicateGroups:
    """Near-duplicate groups, each best copy first, and the levels that found them."""

    groups: list[list[Photo]]
    threshold: DuplicateThreshold


def duplicate_threshold(
    model: ModelRecord,
    ids: np.ndarray,
    vectors: np.ndarray,
    hashed: tuple[np.ndarray, np.ndarray, np.ndarray],
    override: float | None = None,
) -> DuplicateThreshold:
    """The levels for `model` on a library whose descriptors are `vectors` (of photos `ids`)
    and whose perceptual hashes are `hashed` (ids, hashes, mirror hashes)."""
    sure, confirm, source = FALLBACK_SURE, FALLBACK_CONFIRM, "default"
    if len(vectors) >= MIN_PHOTOS_TO_ESTIMATE:
        sure, confirm = estimate_levels(vectors, _aligned_hashes(ids, hashed))
        source = "library"
    stated = model.metadata.get(contract.KEY_DUPLICATE_SIMILARITY)
    if stated is not None:
        sure, source = float(stated), "model"
    if override is not None:
        sure, source = float(override), "user"
    return DuplicateThreshold(sure=sure, confirm=min(confirm, sure), source=source)


def estimate_levels(
    vectors: np.ndarray, hashes: np.ndarray | None = None, pairs: int = SAMPLED_PAIRS
) -> tuple[float, float]:
    """(sure, confirm) from the similarities of random pairs (seeded: the same library gives
    the same levels); `hashes` (int64, aligned with `vectors`, NO_HASH where unknown) leave
    out the pairs whose hashes say they may be duplicates."""
    rng = np.random.default_rng(0)
    first = rng.integers(0, len(vectors), pairs)
    second = rng.integers(0, len(vectors), pairs)
    keep = first != second
    if hashes is not None:
        known = (hashes[first] != NO_HASH) & (hashes[second] != NO_HASH)
        keep &= ~known | (hamming(hashes[first], hashes[second]) > HASH_CONFIRM)
    similarities = np.einsum(
        "ij,ij->i", vectors[first[keep]], vectors[second[keep]], dtype=np.float32
    )
    top = float(np.quantile(similarities, SURE_QUANTILE))
    confirm = float(np.quantile(similarities, 1 - CONFIRM_SHARE))
    return top + (1 - top) / 2, confirm


def _aligned_hashes(
    ids: np.ndarray, hashed: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """The hash of each photo of `ids`, NO_HASH for those without one."""
    hash_ids, hashes, _ = hashed
    aligned = np.full(len(ids), NO_HASH, dtype=np.int64)
    rows = _rows(hash_ids, ids)
    aligned[rows >= 0] = hashes[rows[rows >= 0]]
    return aligned


def pair_index(ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    """An index of the library's descriptors for the all-pairs search, of its own (searches
    keep the library's). From IVF_FROM photos it is an IVF index probing IVF_PROBES lists:
    a near-duplicate is nearly always in its photo's nearest lists, and comparing every
    pair takes over a minute at 100k photos on two cores (about 6 times what this does,
    finding the same pairs: tests/core/test_duplicates.py checks that they agree)."""
    dim = vectors.shape[1]
    if len(ids) < IVF_FROM:
        inner = faiss.IndexFlatIP(dim)
    else:
        lists = int(math.sqrt(len(ids)))
        inner = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).permutation(len(vectors))[: IVF_TRAIN_PER_LIST * lists]
        inner.train(np.ascontiguousarray(vectors[sample]))
        inner.nprobe = IVF_PROBES
    index = faiss.IndexIDMap(inner)
    index.add_with_ids(np.ascontiguousarray(vectors, np.float32), ids.astype(np.int64))
    return index


def duplicate_pairs(
    index: faiss.Index,
    ids: np.ndarray,
    vectors: np.ndarray,
    hashed: tuple[np.ndarray, np.ndarray, np.ndarray],
    threshold: DuplicateThreshold,
) -> set[tuple[int, int]]:
    """Pairs of photo ids (smaller first) that are near-duplicates by the rules above."""
    pairs: set[tuple[int, int]] = set()
    for start in range(0, len(ids), BATCH):
        lims, _, neighbours = index.range_search(vectors[start : start + BATCH], threshold.sure)
        for row, photo_id in enumerate(ids[start : start + BATCH]):
            pairs.update(_pairs(int(photo_id), neighbours[lims[row] : lims[row + 1]]))
    pairs.update(_hash_pairs(hashed, ids, vectors, threshold.confirm))
    return pairs


def _hash_pairs(
    hashed: tuple[np.ndarray, np.ndarray, np.ndarray],
    ids: np.ndarray,
    vectors: np.ndarray,
    confirm: float,
) -> Iterable[tuple[int, int]]:
    """Pairs within HASH_SURE bits, or within HASH_CONFIRM bits with descriptors at least
    `confirm` similar (photos without a descriptor count on the hash alone)."""
    hash_ids, hashes, mirrors = hashed
    if len(hash_ids) < 2:
        return
    index = faiss.IndexBinaryFlat(64)
    index.add(hash_bytes(hashes))
    for queries in (hashes, mirrors):
        for start in range(0, len(hash_ids), BATCH):
            batch = hash_bytes(queries[start : start + BATCH])
            lims, distances, found = index.range_search(batch, HASH_CONFIRM + 1)
            rows = np.repeat(np.arange(len(batch)) + start, np.diff(lims.astype(np.int64)))
            first, second = hash_ids[rows], hash_ids[found]
            keep = first < second
            first, second, distances = first[keep], second[keep], distances[keep]
            sure = distances <= HASH_SURE
            yield from zip(first[sure].tolist(), second[sure].tolist(), strict=True)
            first, second = first[~sure], second[~sure]
            similar = _similarities(first, second, vectors, ids) >= confirm
            yield from zip(first[similar].tolist(), second[similar].tolist(), strict=True)


def _similarities(
    first: np.ndarray, second: np.ndarray, vectors: np.ndarray, ids: np.ndarray
) -> np.ndarray:
    """Descriptor similarity of each pair of photo ids; -1 where one has no descriptor."""
    rows_a, rows_b = _rows(ids, first), _rows(ids, second)
    both = (rows_a >= 0) & (rows_b >= 0)
    similarities = np.full(len(first), -1.0, dtype=np.float32)
    similarities[both] = np.einsum("ij,ij->i", vectors[rows_a[both]], vectors[rows_b[both]])
    return similarities


def _rows(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The row of each wanted id in the sorted `ids`, -1 where it is not there."""
    if len(ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    rows = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return np.where(ids[rows] == wanted, rows, -1)


def _pairs(photo_id: int, others: np.ndarray) -> Iterable[tuple[int, int]]:
    for other in others.tolist():
        if other != photo_id:
            yield (min(photo_id, other), max(photo_id, other))


def best_copy_key(photo: Photo) -> tuple:
    """Sorts a group best copy first: the most pixels, then the largest file (the least
    compressed of equal sizes), then a copy with a date taken before one without, the
    oldest date taken first, then the oldest file, then by path, so the choice never
    depends on the order the photos were found in.

    Oldest, not newest: the date taken is EXIF DateTimeOriginal, else DateTime, which
    editors and exporters rewrite when they save, and a copy stripped of its EXIF has none,
    so among copies of one size the earliest date is the likeliest original. Copies that
    tie on pixels and bytes are nearly always the same file, with the same EXIF; then the
    older file is the original and the newer one the copy (a plain copy gets a new time).
    """
    pixels = (photo.width or 0) * (photo.height or 0)
    taken = (photo.taken_at is None, photo.taken_at or "")
    return (-pixels, -photo.size, *taken, photo.mtime_ns, photo.path)


def group_pairs(pairs: set[tuple[int, int]], catalog: Catalog) -> list[list[Photo]]:
    """Groups around their best copy, without chaining; groups ordered by first photo path."""
    linked: dict[int, set[int]] = {}
    for a, b in pairs:
        linked.setdefault(a, set()).add(b)
        linked.setdefault(b, set()).add(a)
    photos = catalog.photos_by_ids(list(linked))
    grouped: set[int] = set()
    groups = []
    for photo in sorted(photos.values(), key=best_copy_key):
        if photo.id in grouped:
            continue
        members = [photos[i] for i in linked[photo.id] if i in photos and i not in grouped]
        if members:
            group = [photo, *sorted(members, key=best_copy_key)]
            grouped.update(p.id for p in group)
            groups.append(group)
    return sorted(groups, key=lambda group: group[0].path)


class KeepError(ValueError):
    """A choice that would send every photo of a group to the trash."""


def choose_keep(group: Sequence[Photo]) -> tuple[Photo, list[Photo]]:
    """(the copy to keep, the others best first) of a group of two or more photos."""
    if not group:
        raise ValueError("an empty group has nothing to keep")
    ordered = sorted(group, key=best_copy_key)
    return ordered[0], ordered[1:]


def photos_to_trash(groups: Sequence[Sequence[Photo]], keep: Collection[int]) -> list[Photo]:
    """The photos of `groups` whose ids are not in `keep`, group by group.

    Raises KeepError, naming the groups (numbered from 1), when a group would lose every
    photo: at least one copy of each must stay.
    """
    emptied = [n for n, group in enumerate(groups, 1) if not any(p.id in keep for p in group)]
    if emptied:
        named = ", ".join(map(str, emptied))
        which = f"group {named} has" if len(emptied) == 1 else f"groups {named} have"
        raise KeepError(
            f"{which} no photo checked to keep: check at least one photo in every group "
            "(nothing was moved)"
        )
    return [photo for group in groups for photo in group if photo.id not in keep]
