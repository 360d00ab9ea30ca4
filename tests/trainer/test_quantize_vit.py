"""The int8 variant of a real exported ViT: checked, and its descriptors close to the float ones."""

from __future__ import annotations

import numpy as np

from desktop.core.descriptor_model import check_model_file
from desktop.core.quantize import quantize_int8


def test_an_exported_vit_quantises_to_a_checked_close_variant(tmp_path, tiny_export):
    _, path = tiny_export
    source = check_model_file(path)
    variant = check_model_file(quantize_int8(path, tmp_path / "int8.onnx"))
    assert variant.info.name == f"{source.info.name} (int8)"
    size = source.input_spec.input_size
    images = np.random.default_rng(0).integers(0, 256, (8, size, size, 3), np.uint8)
    cosines = (source.embed(images) * variant.embed(images)).sum(axis=1)
    assert cosines.min() > 0.95, cosines
