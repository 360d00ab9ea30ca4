"""Perceptual hashes of photos: the second signal of near-duplicate detection.

imagehash's pHash (the signs of the low DCT frequencies of a 32 x 32 greyscale thumbnail,
64 bits) stays put when a photo is resized, re-encoded or brightened, which moves a
descriptor model's features (a random or category-trained model sees brightness as
content). It misses mirrored copies, so each photo also gets the hash of its mirror image:
the distance between two photos is the smaller of the two hashes' distance and the
distance from one hash to the other's mirror hash. Both are computed while the indexer
decodes the photo anyway, from the whole image (not the model's centre crop), and stored
as signed 64-bit integers, SQLite's own.
"""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image, ImageOps

HASH_SIZE = 8
"""8 x 8 DCT frequencies: 64-bit hashes."""
THUMBNAIL = HASH_SIZE * 4
"""imagehash's pHash reduces the image to 32 x 32 first (highfreq_factor 4)."""


def photo_hashes(image: Image.Image) -> tuple[int, int]:
    """The pHash of `image` and of its mirror image, as signed 64-bit integers.

    The thumbnail is made once and mirrored: mirroring commutes with the symmetric
    resampling filter, and a photo-sized image is resized only once.
    """
    thumbnail = image.convert("L").resize((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
    return (
        _as_int64(imagehash.phash(thumbnail, HASH_SIZE)),
        _as_int64(imagehash.phash(ImageOps.mirror(thumbnail), HASH_SIZE)),
    )


def _as_int64(value: imagehash.ImageHash) -> int:
    bits = np.packbits(value.hash.flatten())
    return int(bits.view(">i8")[0])


def hash_bytes(hashes: np.ndarray) -> np.ndarray:
    """int64 hashes as the rows of 8 bytes a faiss binary index takes."""
    return np.ascontiguousarray(hashes.astype(">i8")).view(np.uint8).reshape(-1, 8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between int64 hashes, element-wise."""
    differing = np.bitwise_xor(a.astype(np.int64), b.astype(np.int64)).view(np.uint64)
    return np.unpackbits(differing.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1).sum(1)
