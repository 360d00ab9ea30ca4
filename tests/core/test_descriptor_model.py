"""The ONNX runner: real exported models work, every contract violation gets a clear error."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from desktop.core import model_contract as contract
from desktop.core.descriptor_model import DescriptorModel, ModelError
from desktop.core.images import load_input

SIZE, DIM = 8, 4


def good_metadata(**overrides: str) -> dict[str, str]:
    values = {
        contract.KEY_FORMAT_VERSION: contract.FORMAT_VERSION,
        contract.KEY_MODEL_NAME: "hand-made",
        contract.KEY_ARCHITECTURE: "matmul",
        contract.KEY_DESCRIPTOR_DIM: str(DIM),
        contract.KEY_INPUT_SIZE: str(SIZE),
        contract.KEY_RESIZE_SIZE: str(SIZE),
        contract.KEY_INTERPOLATION: "bicubic",
        contract.KEY_TRAINING: json.dumps({"dataset": None}),
        contract.KEY_CONTENT_HASH: "0" * 64,
    }
    values.update(overrides)
    return values


def write_model(
    path,
    *,
    input_name=contract.INPUT_NAME,
    input_type=TensorProto.UINT8,
    input_shape=("batch", SIZE, SIZE, 3),
    output_name=contract.OUTPUT_NAME,
    output_dim=DIM,
    metadata=None,
    drop_keys=(),
):
    """A small valid-looking graph: cast, flatten, project, L2-normalise."""
    weight = np.random.default_rng(0).normal(size=(SIZE * SIZE * 3, output_dim)).astype(np.float32)
    nodes = [
        helper.make_node("Cast", [input_name], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["proj"]),
        helper.make_node("LpNormalization", ["proj"], [output_name], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(input_name, input_type, list(input_shape))],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", output_dim])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    for key, value in (metadata or good_metadata()).items():
        if key not in drop_keys:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def test_hand_made_valid_model_embeds(tmp_path):
    model = DescriptorModel(write_model(tmp_path / "ok.onnx"))
    images = np.random.default_rng(1).integers(0, 256, (3, SIZE, SIZE, 3), np.uint8)
    descriptors = model.embed(images)
    assert descriptors.shape == (3, DIM) and descriptors.dtype == np.float32
    assert np.allclose(np.linalg.norm(descriptors, axis=1), 1.0, atol=1e-5)
    assert model.info.name == "hand-made"


def test_exported_tiny_vit_embeds_real_photos(tiny_model_path, flower_photos):
    model = DescriptorModel(tiny_model_path, threads=1)
    info = model.info
    assert (info.architecture, info.descriptor_dim) == ("vit_tiny_patch16_224", 192)
    assert info.input_spec.input_size == 64
    descriptors = model.embed_images(flower_photos[:5])
    assert descriptors.shape == (5, 192)
    assert np.allclose(np.linalg.norm(descriptors, axis=1), 1.0, atol=1e-5)
    # batch of one equals the same photo inside a batch
    single = model.embed(load_input(flower_photos[2], info.input_spec)[None])
    assert np.allclose(single[0], descriptors[2], atol=1e-5)
    assert model.embed_images([]).shape == (0, 192)


def test_embed_rejects_wrong_arrays(tmp_path):
    model = DescriptorModel(write_model(tmp_path / "ok.onnx"))
    with pytest.raises(ValueError, match="uint8 batch"):
        model.embed(np.zeros((1, SIZE, SIZE, 3), np.float32))
    with pytest.raises(ValueError, match="uint8 batch"):
        model.embed(np.zeros((1, 3, SIZE, SIZE), np.uint8))


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        DescriptorModel(tmp_path / "nope.onnx")


def test_not_onnx(tmp_path):
    path = tmp_path / "fake.onnx"
    path.write_text("this is not a protobuf")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        DescriptorModel(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_name": "pixels"}, "one input named 'images'"),
        ({"input_type": TensorProto.FLOAT}, "must be uint8"),
        ({"input_shape": ("batch", 3, SIZE, SIZE)}, "channels last"),
        ({"input_shape": (1, SIZE, SIZE, 3)}, "batch axis must be dynamic"),
        ({"output_name": "features"}, "no output named 'descriptors'"),
        ({"output_dim": DIM + 1}, r"shape \[batch, 4\]"),
        ({"drop_keys": (contract.KEY_CONTENT_HASH,)}, "lacks the photo-search metadata"),
        ({"metadata": good_metadata(**{contract.KEY_FORMAT_VERSION: "99"})}, "version 99"),
        ({"metadata": good_metadata(**{contract.KEY_INPUT_SIZE: "big"})}, "positive integer"),
        ({"metadata": good_metadata(**{contract.KEY_TRAINING: "{oops"})}, "not JSON"),
        (
            {"metadata": good_metadata(**{contract.KEY_RESIZE_SIZE: str(SIZE - 1)})},
            "invalid resize policy",
        ),
    ],
)
def test_contract_violations_are_named(tmp_path, kwargs, message):
    path = write_model(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(ModelError, match=message):
        DescriptorModel(path)
