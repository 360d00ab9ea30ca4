"""Weights-free graph templates: the exporter's graph, for the app to fill from timm weights.

A template is what `export_onnx` writes, with every weight initializer emptied (name, dims
and dtype kept) and a map from each to the timm state-dict key it holds. The dynamo exporter
renames parameters and folds the transposes of linear weights into new initializers, so the
map is not guessed from names: the network is exported with weights whose every value is
distinct, and each initializer is matched by value against the state dict or its transpose.
An initializer that matches nothing, or a parameter that no initializer holds, fails the
template (the exporter folded something the app could not rebuild).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from desktop.core import model_contract as contract
from desktop.core.model_assembly import TEMPLATE_KEY, TemplateSpec
from trainer.export import ExportError, export_onnx
from trainer.model import DescriptorNet

TEMPLATE_SEED = 0
MAX_CONSTANT_SIZE = 16
"""Float initializers up to this size that match no weight are graph constants (eps, scales,
the folded mean/std); a larger one is an unmapped weight."""
DROPPED_METADATA = (contract.KEY_MODEL_NAME, contract.KEY_TRAINING, contract.KEY_CONTENT_HASH)
"""Set by the app for the filled model: its name, its weights' story, the filled graph's hash."""


def distinct_weights(net: nn.Module, seed: int = TEMPLATE_SEED) -> nn.Module:
    """Add seeded noise to every parameter so that no two hold the same values.

    timm's initialisation leaves norms at 1, biases at 0 and DINOv2's layer scales at 1e-5,
    which value matching cannot tell apart (and which make descriptors ignore the image).
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in net.parameters():
            param.add_(0.05 * torch.randn(param.shape, generator=generator))
    return net


def export_template(net: DescriptorNet, out_path: str | os.PathLike) -> Path:
    """Export `net` (distinct weights, see `distinct_weights`) and write its template."""
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="photo-search-template-") as tmp:
        full = Path(tmp) / "full.onnx"
        export_onnx(net, full, name="template", training={})
        template = make_template(onnx.load(str(full)), net)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(template, str(out_path))
    return out_path


def make_template(model: onnx.ModelProto, net: DescriptorNet) -> onnx.ModelProto:
    """`model` (exported from `net`) with its weights emptied and mapped to timm keys."""
    backbone = net.backbone
    state = {key: value.detach().float().numpy() for key, value in backbone.state_dict().items()}
    weights = _map_initializers(model, state)
    missing = sorted(set(state) - {entry["key"] for entry in weights.values()})
    if missing:
        raise ExportError(f"no initializer holds these weights (folded?): {missing}")
    for initializer in model.graph.initializer:
        if initializer.name in weights:
            initializer.ClearField("raw_data")
            initializer.ClearField("float_data")
    _strip_export_details(model)
    patch = tuple(backbone.patch_embed.patch_size)
    stored_size = tuple(backbone.pretrained_cfg["input_size"][-2:])
    spec = TemplateSpec(
        architecture=net.config.arch,
        grid=tuple(backbone.patch_embed.grid_size),
        checkpoint_grid=tuple(s // p for s, p in zip(stored_size, patch, strict=True)),
        num_prefix_tokens=0 if backbone.no_embed_class else backbone.num_prefix_tokens,
        weights=weights,
    )
    kept = [(e.key, e.value) for e in model.metadata_props if e.key not in DROPPED_METADATA]
    del model.metadata_props[:]
    for key, value in [*kept, (TEMPLATE_KEY, spec.to_json())]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def _map_initializers(
    model: onnx.ModelProto, state: dict[str, np.ndarray]
) -> dict[str, dict[str, object]]:
    """{initializer: {"key", "shape", "transpose"}} by matching values, never names."""
    by_value: dict[bytes, tuple[str, bool]] = {}
    for key, value in state.items():
        same = by_value.setdefault(np.ascontiguousarray(value).tobytes(), (key, False))
        if same[0] != key:
            raise ExportError(f"{same[0]} and {key} hold the same values: see distinct_weights")
        if value.ndim == 2:
            by_value.setdefault(np.ascontiguousarray(value.T).tobytes(), (key, True))
    weights, unmapped = {}, []
    for initializer in model.graph.initializer:
        if initializer.data_type != onnx.TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(initializer)
        match = by_value.get(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        if match is not None:
            key, transpose = match
            weights[initializer.name] = {
                "key": key,
                "shape": list(state[key].shape),
                "transpose": transpose,
            }
        elif array.size > MAX_CONSTANT_SIZE:
            unmapped.append(f"{initializer.name} {list(array.shape)}")
    if unmapped:
        raise ExportError(f"initializers that match no timm weight: {', '.join(unmapped)}")
    return weights


def _strip_export_details(model: onnx.ModelProto) -> None:
    """Drop what the exporter records about the run (stack traces with local paths, torch
    version): the template must be the same file on every machine."""
    model.producer_version = ""
    model.doc_string = ""
    graph = model.graph
    for item in [*graph.node, *graph.input, *graph.output, *graph.value_info, *graph.initializer]:
        del item.metadata_props[:]
        item.doc_string = ""
    del graph.metadata_props[:]
