"""An int8 variant of a descriptor model, made on the user's machine without torch.

Dynamic quantisation (onnxruntime's `quantize_dynamic`) stores the weights of the matrix
products as int8 and quantises activations on the fly, so it needs no calibration photos:
any contract model can be converted where it is installed. The result is a new model with
its own identity (content hash), named and described as the int8 variant of its source, and
checked like any file a user brings.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from desktop.core import model_contract as contract
from desktop.core.atomic import atomic_write
from desktop.core.descriptor_model import DescriptorSession, check_model_file

INT8_SUFFIX = " (int8)"


def quantize_int8(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write the dynamically quantised int8 variant of the contract model `src` to `dst`.

    `dst` appears complete or not at all, and only once it passes `check_model_file`.
    """
    src, dst = Path(src), Path(dst)
    source = DescriptorSession(src, provider="cpu").info  # refuses a non-contract file early
    with tempfile.TemporaryDirectory() as tmp:
        quantised = Path(tmp) / "int8.onnx"
        quantize_dynamic(src, quantised, weight_type=QuantType.QInt8)
        model = onnx.load(str(quantised))
        training = {
            **source.training,
            "quantization": {
                "method": "onnxruntime quantize_dynamic",
                "weights": "int8 (QInt8)",
                "source_model": source.name,
                "source_content_hash": source.content_hash,
            },
        }
        _set_metadata(
            model,
            {
                **source.metadata,
                contract.KEY_MODEL_NAME: source.name + INT8_SUFFIX,
                contract.KEY_TRAINING: json.dumps(training),
                contract.KEY_CONTENT_HASH: contract.content_hash(model),
            },
        )
        checked = Path(tmp) / "checked.onnx"
        onnx.save(model, str(checked))
        check_model_file(checked, provider="cpu")
        with open(checked, "rb") as data:
            return atomic_write(dst, lambda stream: shutil.copyfileobj(data, stream))


def _set_metadata(model: onnx.ModelProto, values: dict[str, str]) -> None:
    """Replace the file's metadata: the source's, with what the variant changes."""
    del model.metadata_props[:]
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
