"""The model contract between the trainer and the desktop app (README, "The model contract").

The ONNX file is the only thing the app needs from the trainer. Its graph takes uint8 RGB
images already resized and cropped to the model's input size, normalises them inside, and
returns L2-normalised float32 descriptors. The metadata keys below travel in the file's
`metadata_props`; both sides import them, and the content hash, from here so they cannot
drift apart.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnx

FORMAT_VERSION = "1"

INPUT_NAME = "images"
OUTPUT_NAME = "descriptors"

KEY_FORMAT_VERSION = "photo_search.format_version"
KEY_MODEL_NAME = "photo_search.model_name"
KEY_ARCHITECTURE = "photo_search.architecture"
KEY_DESCRIPTOR_DIM = "photo_search.descriptor_dim"
KEY_INPUT_SIZE = "photo_search.input_size"
KEY_RESIZE_SIZE = "photo_search.resize_size"
KEY_INTERPOLATION = "photo_search.interpolation"
KEY_TRAINING = "photo_search.training"
KEY_CONTENT_HASH = "photo_search.content_hash"
KEY_DUPLICATE_SIMILARITY = "photo_search.duplicate_similarity"
"""Optional: the cosine similarity above which two photos are near-duplicates for this
model on the descriptor alone; without it the app estimates one from the library."""

REQUIRED_KEYS = (
    KEY_FORMAT_VERSION,
    KEY_MODEL_NAME,
    KEY_ARCHITECTURE,
    KEY_DESCRIPTOR_DIM,
    KEY_INPUT_SIZE,
    KEY_RESIZE_SIZE,
    KEY_INTERPOLATION,
    KEY_TRAINING,
    KEY_CONTENT_HASH,
)

INTERPOLATIONS = ("bicubic", "bilinear", "nearest")


def content_hash(model: onnx.ModelProto) -> str:
    """SHA-256 of the graph (weights included, metadata excluded): the model's identity."""
    return hashlib.sha256(model.graph.SerializeToString(deterministic=True)).hexdigest()


def file_content_hash(path: str | os.PathLike) -> str:
    """The content hash of an ONNX file, computed from its graph, never read from its metadata."""
    import onnx  # imported here: loading it costs a quarter second the app's start does not need

    return content_hash(onnx.load(os.fspath(path), load_external_data=False))
