"""The int8 variant: a checked contract model of its own, close to its source, written whole."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from desktop.core import model_contract as contract
from desktop.core.descriptor_model import ModelError, check_model_file
from desktop.core.quantize import quantize_int8
from tests.models import write_model


def write_source(path, *, centre: float = 100.0):
    """A test model whose images are centred on `centre` rather than mid-grey.

    The probe check's flat grey image would otherwise project to a vector so short that
    int8 activations, scaled for the whole batch, round it to zero.
    """
    write_model(path, size=16, dim=32, name="pixels")
    model = onnx.load(str(path))
    (grey,) = [t for t in model.graph.initializer if t.name == "grey"]
    grey.CopyFrom(numpy_helper.from_array(np.float32(centre), "grey"))
    for entry in model.metadata_props:
        if entry.key == contract.KEY_CONTENT_HASH:
            entry.value = contract.content_hash(model)
    onnx.save(model, str(path))
    return path


def test_the_int8_variant_is_a_checked_model_of_its_own(tmp_path):
    source = check_model_file(write_source(tmp_path / "fp32.onnx"))
    out = quantize_int8(source.info.path, tmp_path / "variants" / "int8.onnx")
    variant = check_model_file(out)
    assert out == tmp_path / "variants" / "int8.onnx"
    assert variant.info.name == "pixels (int8)"
    assert variant.info.content_hash == contract.file_content_hash(out)
    assert variant.info.content_hash != source.info.content_hash
    quantisation = variant.info.training["quantization"]
    assert quantisation["source_content_hash"] == source.info.content_hash
    assert variant.info.training["dataset"] is None  # the source's summary is kept
    assert variant.info.input_spec == source.info.input_spec
    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert "MatMulInteger" in ops and "MatMul" not in ops
    images = np.random.default_rng(3).integers(0, 256, (6, 16, 16, 3), np.uint8)
    cosines = (source.embed(images) * variant.embed(images)).sum(axis=1)
    assert cosines.min() > 0.99


def test_a_variant_that_fails_the_check_is_not_written(tmp_path):
    source = write_source(tmp_path / "fp32.onnx", centre=127.5)
    dst = tmp_path / "int8.onnx"
    with pytest.raises(ModelError, match="not L2-normalised"):
        quantize_int8(source, dst)
    assert list(tmp_path.iterdir()) == [source]


def test_a_file_outside_the_contract_is_refused_first(tmp_path):
    source = write_model(tmp_path / "bad.onnx", drop_keys=(contract.KEY_TRAINING,))
    with pytest.raises(ModelError, match="lacks the photo-search metadata"):
        quantize_int8(source, tmp_path / "int8.onnx")
    assert not (tmp_path / "int8.onnx").exists()
