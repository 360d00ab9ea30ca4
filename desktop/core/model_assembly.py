"""Assemble a contract model from a weights-free graph template and timm hub weights.

The app cannot run torch, yet a pretrained ViT should work out of the box. The trainer
writes, once per architecture, a graph template (`desktop-trainer export --template`): the
exporter's ONNX graph with its weight initializers emptied, and a map from each of them to
the timm state-dict key it holds (transposed where the exporter transposed it). Here the
template is filled from a timm `model.safetensors` with numpy alone, doing what timm's
pretrained loading does for these models: classifier weights are left out (the template
never asks for them) and the position embedding is resampled to the template's grid with
timm's interpolation (antialiased bicubic). The result is checked like any model a user
brings before it is moved into place.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from desktop.core import model_contract as contract
from desktop.core.atomic import atomic_write
from desktop.core.descriptor_model import ModelError, ModelInfo, check_model_file

TEMPLATE_KEY = "photo_search.template"
"""metadata_props key of a template's description (JSON, see `TemplateSpec`)."""
TEMPLATE_VERSION = 1
POS_EMBED_KEY = "pos_embed"
BICUBIC_A = -0.5
"""torch's antialiased bicubic uses PIL's kernel (a = -0.5), not the -0.75 of plain bicubic."""


@dataclasses.dataclass(frozen=True)
class TemplateSpec:
    """What a template says about itself, stored as JSON under TEMPLATE_KEY.

    `weights` maps each emptied float32 initializer to {"key": timm state-dict key,
    "shape": that tensor's shape at the template's size, "transpose": bool}; the value is
    transposed if asked, then reshaped to the initializer's dims. `checkpoint_grid` is the
    patch grid the hub checkpoint was trained at (its position embedding's), `grid` the
    template's.
    """

    architecture: str
    grid: tuple[int, int]
    checkpoint_grid: tuple[int, int]
    num_prefix_tokens: int
    weights: dict[str, dict[str, Any]]

    def to_json(self) -> str:
        values = dataclasses.asdict(self)
        return json.dumps({"version": TEMPLATE_VERSION, **values}, sort_keys=True)

    def checkpoint_shapes(self) -> dict[str, tuple[int, ...]]:
        """Each tensor the template reads, in the shape a hub checkpoint stores it (the
        position embedding at the checkpoint's grid): what weights for it must look like."""
        shapes = {entry["key"]: tuple(entry["shape"]) for entry in self.weights.values()}
        if POS_EMBED_KEY in shapes:
            _, _, dim = shapes[POS_EMBED_KEY]
            tokens = self.num_prefix_tokens + math.prod(self.checkpoint_grid)
            shapes[POS_EMBED_KEY] = (1, tokens, dim)
        return shapes

    @classmethod
    def from_json(cls, text: str) -> TemplateSpec:
        values = json.loads(text)
        if values.pop("version", None) != TEMPLATE_VERSION:
            raise ValueError(f"template version is not {TEMPLATE_VERSION}")
        values["grid"] = tuple(values["grid"])
        values["checkpoint_grid"] = tuple(values["checkpoint_grid"])
        return cls(**values)


def read_template(path: str | os.PathLike) -> tuple[onnx.ModelProto, TemplateSpec]:
    """The template's graph and its description; ModelError if it is not a template."""
    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises its own DecodeError, OSError for a bad path
        raise ModelError(f"{path} is not a readable ONNX template: {exc}") from exc
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    if TEMPLATE_KEY not in metadata:
        raise ModelError(f"{path} is not a photo-search graph template (no {TEMPLATE_KEY})")
    try:
        spec = TemplateSpec.from_json(metadata[TEMPLATE_KEY])
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelError(f"{path} has an unreadable template description: {exc}") from exc
    return model, spec


def assemble_model(
    template: Path, weights: Path, out: Path, *, name: str, training: dict[str, Any]
) -> ModelInfo:
    """Fill `template` from a timm `model.safetensors` and write a checked model to `out`.

    The file reaches `out` only after `check_model_file` accepted it, so a failure leaves
    whatever was there before. Raises ModelError naming the problem: a weights file that is
    not safetensors, lacks a key, or holds a tensor of the wrong shape.
    """
    template, weights, out = Path(template), Path(weights), Path(out)
    model, spec = read_template(template)
    tensors = load_weights(weights, spec)
    for initializer in model.graph.initializer:
        entry = spec.weights.get(initializer.name)
        if entry is not None:
            _fill(initializer, tensors[entry["key"]], entry, weights)
    _set_metadata(model, name, training)
    payload = model.SerializeToString()
    staging = out.with_name(f".{out.name}.assembling")
    try:
        atomic_write(staging, lambda stream: stream.write(payload))
        info = check_model_file(staging).info
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
    return dataclasses.replace(info, path=out)


def load_weights(path: Path, spec: TemplateSpec) -> dict[str, np.ndarray]:
    """The float32 tensors the template needs, pos_embed resampled to its grid."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    needed = sorted({entry["key"] for entry in spec.weights.values()})
    try:
        with safe_open(str(path), framework="np") as stored:
            missing = [key for key in needed if key not in stored.keys()]  # noqa: SIM118 (no __contains__)
            if missing:
                shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
                raise ModelError(
                    f"{path} lacks {len(missing)} weight(s) that {spec.architecture} needs: "
                    f"{shown} (is it a timm {spec.architecture} checkpoint?)"
                )
            tensors = {key: stored.get_tensor(key) for key in needed}
    except SafetensorError as exc:
        raise ModelError(f"{path} is not a readable safetensors file: {exc}") from exc
    except TypeError as exc:  # numpy has no bfloat16: safetensors cannot hand it over
        raise ModelError(f"{path} holds a tensor numpy cannot read: {exc}") from exc
    for key, value in tensors.items():
        if not np.issubdtype(value.dtype, np.floating):
            raise ModelError(f"{path}: {key} is {value.dtype}, a floating-point tensor is needed")
        tensors[key] = value.astype(np.float32, copy=False)
    if POS_EMBED_KEY in tensors:
        tensors[POS_EMBED_KEY] = _adapt_pos_embed(tensors[POS_EMBED_KEY], spec, path)
    return tensors


def _adapt_pos_embed(posemb: np.ndarray, spec: TemplateSpec, path: Path) -> np.ndarray:
    """timm's checkpoint filter: resample when the checkpoint's grid is not the template's.

    As `get_pretrained_grid_size` does, the checkpoint's recorded grid is trusted only when
    it accounts for every token; otherwise the grid is taken to be square.
    """
    prefix = spec.num_prefix_tokens
    if posemb.ndim != 3 or posemb.shape[0] != 1 or posemb.shape[1] <= prefix:
        raise ModelError(f"{path}: {POS_EMBED_KEY} has shape {list(posemb.shape)}, not [1, N, D]")
    tokens = posemb.shape[1] - prefix
    old = spec.checkpoint_grid
    if old[0] * old[1] != tokens:
        side = math.isqrt(tokens)
        if side * side != tokens:
            raise ModelError(
                f"{path}: {POS_EMBED_KEY} has {tokens} patch positions, which is no square grid"
            )
        old = (side, side)
    if old == spec.grid:
        return posemb
    return resample_abs_pos_embed(posemb, spec.grid, old, prefix)


def resample_abs_pos_embed(
    posemb: np.ndarray, new_size: tuple[int, int], old_size: tuple[int, int], num_prefix: int
) -> np.ndarray:
    """numpy twin of `timm.layers.resample_abs_pos_embed` (bicubic, antialias=True).

    Prefix tokens (class, distillation) are kept; the grid is resized with the separable
    weights torch's antialiased interpolation computes (`aa_weights`).
    """
    prefix, grid = posemb[:, :num_prefix], posemb[:, num_prefix:]
    grid = grid.reshape(old_size[0], old_size[1], -1).astype(np.float64)
    rows = aa_weights(old_size[0], new_size[0])
    cols = aa_weights(old_size[1], new_size[1])
    resized = np.einsum("oh,pw,hwc->opc", rows, cols, grid, optimize=True)
    resized = resized.reshape(1, new_size[0] * new_size[1], -1).astype(posemb.dtype)
    return np.concatenate([prefix, resized], axis=1)


def aa_weights(in_size: int, out_size: int) -> np.ndarray:
    """[out, in] interpolation matrix of torch's `F.interpolate(mode="bicubic", antialias=True,
    align_corners=False)` along one axis.

    Mirrors ATen's `_compute_indices_min_size_weights_aa`: when shrinking, the kernel is
    stretched by the scale (so every input pixel contributes), and the weights of each
    output pixel are normalised over the taps that fall inside the input.
    """
    scale = in_size / out_size
    support = 2.0 * scale if scale >= 1.0 else 2.0
    inv_scale = 1.0 / scale if scale >= 1.0 else 1.0
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        centre = scale * (i + 0.5)
        low = max(int(centre - support + 0.5), 0)
        high = min(int(centre + support + 0.5), in_size)
        taps = np.arange(low, high)
        w = _bicubic((taps - centre + 0.5) * inv_scale)
        weights[i, low:high] = w / w.sum()
    return weights


def _bicubic(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    a = BICUBIC_A
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _fill(
    initializer: onnx.TensorProto, value: np.ndarray, entry: dict[str, Any], path: Path
) -> None:
    """Write `value`, transposed as the exporter did, into the emptied initializer."""
    if list(value.shape) != entry["shape"]:
        raise ModelError(
            f"{path}: {entry['key']} has shape {list(value.shape)}; this architecture needs "
            f"{entry['shape']} (is it a checkpoint of another model size?)"
        )
    if entry["transpose"]:
        value = value.T
    dims = tuple(initializer.dims)
    initializer.raw_data = np.ascontiguousarray(value, dtype="<f4").reshape(dims).tobytes()


def _set_metadata(model: onnx.ModelProto, name: str, training: dict[str, Any]) -> None:
    """Keep the template's contract keys, add name and training, hash the filled graph."""
    kept = {
        entry.key: entry.value
        for entry in model.metadata_props
        if entry.key != TEMPLATE_KEY and entry.key in contract.REQUIRED_KEYS
    }
    kept[contract.KEY_MODEL_NAME] = name
    kept[contract.KEY_TRAINING] = json.dumps(training, sort_keys=True)
    kept[contract.KEY_CONTENT_HASH] = contract.content_hash(model)
    del model.metadata_props[:]
    for key in contract.REQUIRED_KEYS:
        if key in kept:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, kept[key]
