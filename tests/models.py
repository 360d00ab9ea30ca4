"""Descriptor models the tests build with the onnx helpers, without torch.

`write_model` writes a small graph that follows the model contract: uint8 images in, the
centred pixels projected by a fixed random matrix and L2-normalised out. Similar pixels give
similar descriptors, so search results mean something. Its knobs break one rule at a time
for the contract tests, and `head` makes models whose outputs lie about themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from desktop.core import model_contract as contract

SIZE, DIM = 16, 32


def contract_metadata(
    *, name: str, dim: int, input_size: int, resize_size: int | None = None
) -> dict[str, str]:
    return {
        contract.KEY_FORMAT_VERSION: contract.FORMAT_VERSION,
        contract.KEY_MODEL_NAME: name,
        contract.KEY_ARCHITECTURE: "pixel-projection",
        contract.KEY_DESCRIPTOR_DIM: str(dim),
        contract.KEY_INPUT_SIZE: str(input_size),
        contract.KEY_RESIZE_SIZE: str(resize_size or input_size),
        contract.KEY_INTERPOLATION: "bicubic",
        contract.KEY_TRAINING: json.dumps({"dataset": None}),
    }


def write_model(
    path: Path,
    *,
    size: int = SIZE,
    dim: int = DIM,
    seed: int = 0,
    name: str = "pixel projection",
    head: str = "l2",
    input_name: str = contract.INPUT_NAME,
    input_type: int = TensorProto.UINT8,
    input_shape: tuple = ("batch", None, None, 3),
    output_name: str = contract.OUTPUT_NAME,
    output_dim: int | None = None,
    metadata: dict[str, str] | None = None,
    drop_keys: tuple[str, ...] = (),
) -> Path:
    """A contract model at `path`; `head` is "l2" (honest), "raw" (not normalised), "nan" or
    "constant" (the same descriptor for every image). Metadata overrides replace the
    defaults; the content hash is computed unless the overrides give one."""
    output_dim = output_dim or dim
    shape = [size if axis is None else axis for axis in input_shape]
    weight = np.random.default_rng(seed).normal(size=(size * size * 3, output_dim))
    nodes = [
        helper.make_node("Cast", [input_name], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["as_float", "grey"], ["centred"]),
        helper.make_node("Flatten", ["centred"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w"], ["projected"]),
    ]
    constants = [
        numpy_helper.from_array(np.float32(127.5), "grey"),
        numpy_helper.from_array(weight.astype(np.float32), "w"),
    ]
    if head == "constant":
        nodes.append(helper.make_node("Mul", ["projected", "zero"], ["zeroed"]))
        nodes.append(helper.make_node("Add", ["zeroed", "one"], ["last"]))
        constants += [
            numpy_helper.from_array(np.float32(0.0), "zero"),
            numpy_helper.from_array(np.float32(1.0), "one"),
        ]
    elif head == "nan":
        nodes.append(helper.make_node("Mul", ["projected", "not_a_number"], ["last"]))
        constants.append(numpy_helper.from_array(np.float32(np.nan), "not_a_number"))
    else:
        nodes.append(helper.make_node("Identity", ["projected"], ["last"]))
    if head == "raw":
        nodes.append(helper.make_node("Identity", ["last"], [output_name]))
    else:
        nodes.append(helper.make_node("LpNormalization", ["last"], [output_name], axis=1, p=2))
    graph = helper.make_graph(
        nodes,
        "pixel_projection",
        [helper.make_tensor_value_info(input_name, input_type, shape)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", output_dim])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    values = {
        **contract_metadata(name=name, dim=dim, input_size=size),
        contract.KEY_CONTENT_HASH: contract.content_hash(model),
        **(metadata or {}),
    }
    for key, value in values.items():
        if key not in drop_keys:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
