"""Photo to model input, for training and for evaluation.

Evaluation uses exactly the app's loader (`desktop.core.images.load_input`), so the numbers
measured here are the numbers the app gets. Training follows the paper's recipe (resize the
shorter side to 256, random 224 crop, horizontal flip), scaled to the model's input size.
Both return uint8 HxWx3 arrays: the float conversion and the mean/std normalisation happen
inside the network wrapper, as in the exported ONNX graph.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from desktop.core.images import (
    DRAFT_FACTOR,
    RESAMPLE,
    ImageSource,
    InputSpec,
    load_input,
    open_image,
    prepare_input,
)

TRAIN_RESIZE_RATIO = 256 / 224
"""The recipe's resize (256) over its crop (224)."""


def train_resize_size(input_size: int) -> int:
    return round(input_size * TRAIN_RESIZE_RATIO)


def load_train_view(source: ImageSource, spec: InputSpec, rng: np.random.Generator) -> np.ndarray:
    """A random training view of a photo: uint8 [S, S, 3], S = spec.input_size.

    All randomness comes from `rng`, so a view is a pure function of the photo and the
    generator's seed (what makes resumed and multi-process runs reproducible).
    """
    resize = train_resize_size(spec.input_size)
    image = open_image(source, draft_size=DRAFT_FACTOR * resize)
    return random_crop_flip(image, spec.input_size, resize, spec.interpolation, rng)


def random_crop_flip(
    image: Image.Image, size: int, resize: int, interpolation: str, rng: np.random.Generator
) -> np.ndarray:
    """Resize the shorter side to `resize`, crop `size` x `size` at random, flip half the time.

    Only the crop's part of the photo is resampled (Pillow's `box`), which gives the same
    pixels as resizing the whole photo first, at a fraction of the cost.
    """
    width, height = image.size
    scale = resize / min(width, height)
    resized_w, resized_h = max(size, int(width * scale)), max(size, int(height * scale))
    left = int(rng.integers(0, resized_w - size + 1))
    top = int(rng.integers(0, resized_h - size + 1))
    right, bottom = min(width, (left + size) / scale), min(height, (top + size) / scale)
    box = (left / scale, top / scale, right, bottom)
    view = image.resize((size, size), RESAMPLE[interpolation], box=box)
    if rng.random() < 0.5:
        view = view.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.array(view, dtype=np.uint8)


def load_eval_view(
    source: ImageSource, spec: InputSpec, box: tuple[float, float, float, float] | None = None
) -> np.ndarray:
    """The app's model input for a photo; with `box`, for that region of it (a query crop)."""
    if box is None:
        return load_input(source, spec)
    return prepare_input(open_image(source).crop(box), spec)
