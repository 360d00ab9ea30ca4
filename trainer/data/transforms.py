"""Photo to model input, for training and for evaluation.

Training follows the paper's recipe (resize the shorter side to 256, random 224 crop,
horizontal flip), scaled to the model's input size. Evaluation is an `EvalView`: by default
exactly the app's loader (`desktop.core.images.load_input`) with the model's own input spec,
so the numbers measured on a user's folder are the numbers the app gets; a benchmark can
ask for its protocol's view instead (`trainer.data.benchmarks.protocol_view`). All return
uint8 HxWx3 arrays: the float conversion and the mean/std normalisation happen inside the
network wrapper, as in the exported ONNX graph.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

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

RECIPE_RESIZE_RATIO = 256 / 224
"""The recipe's resize (256) over its crop (224), in training and in evaluation."""

Box = tuple[float, float, float, float]


def recipe_spec(spec: InputSpec) -> InputSpec:
    """`spec` with the recipe's resize: shorter side to 256/224 of the input size.

    The models the trainer fine-tunes are trained at this scale, so they are evaluated and
    exported with it; off-the-shelf timm models keep timm's own (`crop_pct`) resize.
    """
    return dataclasses.replace(spec, resize_size=round(spec.input_size * RECIPE_RESIZE_RATIO))


def load_train_view(source: ImageSource, spec: InputSpec, rng: np.random.Generator) -> np.ndarray:
    """A random training view of a photo: uint8 [S, S, 3], S = spec.input_size.

    All randomness comes from `rng`, so a view is a pure function of the photo and the
    generator's seed (what makes resumed and multi-process runs reproducible).
    """
    resize = recipe_spec(spec).resize_size
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


@dataclass(frozen=True)
class EvalView:
    """How evaluation turns a photo (or a query's box of it) into model input.

    Default: the app's loader, shorter side resized to `spec.resize_size` and a centre crop.
    `square`: the whole photo (or box) resized to `input_size` x `input_size` without
    cropping, as the paper's Revisited Oxford / Paris protocol does, so no part of a
    queried building is cut off.
    """

    spec: InputSpec
    square: bool = False

    def load(self, source: ImageSource, box: Box | None = None) -> np.ndarray:
        if self.square:
            size = self.spec.input_size
            image = open_image(source, draft_size=None if box else DRAFT_FACTOR * size)
            if box is not None:
                image = image.crop(box)
            resized = image.resize((size, size), RESAMPLE[self.spec.interpolation])
            return np.array(resized, dtype=np.uint8)
        if box is None:
            return load_input(source, self.spec)
        return prepare_input(open_image(source).crop(box), self.spec)

    def describe(self) -> str:
        size, interpolation = self.spec.input_size, self.spec.interpolation
        if self.square:
            return f"whole photo resized to {size}x{size}, {interpolation}"
        return (
            f"shorter side resized to {self.spec.resize_size}, centre crop {size}, {interpolation}"
        )
