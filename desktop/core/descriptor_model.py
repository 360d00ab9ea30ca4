"""The ONNX descriptor session: loads a model, checks the model contract, embeds images.

The contract (`model_contract`): one input `images`, uint8 [batch, S, S, 3]; one output
`descriptors`, float32 [batch, D]; the photo-search metadata keys present and consistent
with the graph. Anything else raises `ModelError` with a message that names what is wrong,
so the app can show it instead of failing later. A file the user brings is checked further
by `check_model_file`: what its metadata claims (its identity, normalised outputs) is
computed, not trusted.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from desktop.core import model_contract as contract
from desktop.core.images import DEFAULT_MAX_PIXELS, ImageSource, InputSpec, load_input

log = logging.getLogger(__name__)


class ModelError(Exception):
    """A model file is missing, unreadable, or does not follow the model contract."""


class ProviderError(ValueError):
    """An execution provider this app does not know, or the installed onnxruntime lacks."""


CPU = "CPUExecutionProvider"
PROVIDERS = {
    "cuda": "CUDAExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": CPU,
}
"""`--provider` names and the onnxruntime providers they select, in the order `auto` prefers
them: a GPU when the installed onnxruntime build has one, the CPU always."""
PROVIDER_LABELS = {"cuda": "CUDA", "dml": "DirectML", "coreml": "Core ML", "cpu": "CPU"}
AUTO = "auto"


def provider_candidates(name: str | None = None) -> list[str]:
    """The onnxruntime providers to try, best first; CPU is always the last resort.

    `name` is a `PROVIDERS` key (or None / "auto" for the best on offer). A provider the
    installed onnxruntime was not built with is refused here, before any model loads, so a
    mistyped or impossible choice is an error rather than a silent CPU run.
    """
    available = ort.get_available_providers()
    if name is None or name.lower() == AUTO:
        return [p for p in PROVIDERS.values() if p in available and p != CPU] + [CPU]
    key = name.lower()
    if key not in PROVIDERS:
        raise ProviderError(
            f"unknown execution provider {name!r}: choose {AUTO}, {', '.join(PROVIDERS)}"
        )
    if PROVIDERS[key] not in available:
        offered = [k for k, p in PROVIDERS.items() if p in available]
        raise ProviderError(
            f"this onnxruntime has no {PROVIDER_LABELS[key]} provider (it offers "
            f"{', '.join(offered)}); install the onnxruntime build for it, or choose {AUTO}"
        )
    return [PROVIDERS[key]] if key == "cpu" else [PROVIDERS[key], CPU]


def provider_name(provider: str) -> str:
    """The `--provider` name of an onnxruntime provider ("CUDAExecutionProvider" -> "cuda")."""
    names = {p: k for k, p in PROVIDERS.items()}
    return names.get(provider, provider.removesuffix("ExecutionProvider").lower())


@dataclass(frozen=True)
class ModelInfo:
    """What the app needs to know about a model, read from its metadata."""

    path: Path
    name: str
    architecture: str
    descriptor_dim: int
    input_spec: InputSpec
    content_hash: str
    format_version: str
    training: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


class DescriptorSession:
    """An onnxruntime session over a model that follows the contract.

    It runs on the best provider on offer (or `provider`, a `PROVIDERS` key); when that
    provider cannot create the session (a missing driver, say) it logs why and moves on
    to the next, down to the CPU. `provider` tells which one it got.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        threads: int | None = None,
        provider: str | None = None,
        background: bool = False,
    ) -> None:
        path = Path(path)
        candidates = provider_candidates(provider)
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        # onnxruntime's default of spinning idle worker threads is kept: on an idle 2-core
        # machine it embeds one query in 83 ms instead of 108 ms, with the same indexing
        # throughput (bench/index_throughput.py, bench/search_latency.py). A background
        # session's idle threads sleep instead: between its batches they would spin on the
        # cores a search needs.
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        if background:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = _create_session(path, options, candidates)
        self.info = read_model_info(self._session, path)

    @property
    def provider(self) -> str:
        """The `--provider` name of the provider the session really runs on."""
        return provider_name(self._session.get_providers()[0])

    @property
    def input_spec(self) -> InputSpec:
        return self.info.input_spec

    def embed(self, images: np.ndarray) -> np.ndarray:
        """Descriptors [N, D] (float32, L2-normalised) of a uint8 batch [N, S, S, 3]."""
        size = self.info.input_spec.input_size
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (size, size, 3):
            raise ValueError(
                f"expected a uint8 batch of shape [N, {size}, {size}, 3], "
                f"got {images.dtype} {list(images.shape)}"
            )
        if len(images) == 0:
            return np.zeros((0, self.info.descriptor_dim), dtype=np.float32)
        (descriptors,) = self._session.run(
            [contract.OUTPUT_NAME], {contract.INPUT_NAME: np.ascontiguousarray(images)}
        )
        return descriptors.astype(np.float32, copy=False)

    def embed_images(
        self, sources: Iterable[ImageSource], *, max_pixels: int = DEFAULT_MAX_PIXELS
    ) -> np.ndarray:
        """Decode each image with the shared loader and embed them as one batch."""
        size = self.input_spec.input_size
        batch = [load_input(source, self.input_spec, max_pixels=max_pixels) for source in sources]
        return self.embed(np.stack(batch) if batch else np.zeros((0, size, size, 3), np.uint8))


def _create_session(
    path: Path, options: ort.SessionOptions, candidates: list[str]
) -> ort.InferenceSession:
    """The first session a candidate provider creates; the CPU's failure is the model's."""
    for provider in candidates[:-1]:
        try:
            # the CPU stays second in line: it runs the nodes a GPU provider does not support
            session = ort.InferenceSession(str(path), options, providers=[provider, CPU])
        except Exception as exc:  # onnxruntime raises its own exception types per failure
            log.warning("%s: the %s provider failed, falling back: %s", path, provider, exc)
            continue
        if session.get_providers()[0] != provider:
            log.warning("%s: onnxruntime did not enable %s; it runs on the CPU", path, provider)
        return session
    try:
        return ort.InferenceSession(str(path), options, providers=[CPU])
    except Exception as exc:
        raise ModelError(f"{path} is not a loadable ONNX model: {exc}") from exc


PROBE_SEED = 20240601
NORM_TOLERANCE = 1e-3
"""Largest accepted distance of a descriptor's L2 norm from 1."""
MIN_PROBE_SPREAD = 1e-4
"""Descriptors of different probe images closer than this mean the model ignores its input."""


def check_model_file(
    path: str | os.PathLike, *, threads: int | None = None, provider: str | None = None
) -> DescriptorSession:
    """Load a model file and verify what the contract check alone cannot see.

    The content hash is computed from the graph (a file that claims another model's hash is
    refused), and the model is run on probe images: its descriptors must be finite,
    L2-normalised and depend on the image.
    """
    model = DescriptorSession(path, threads=threads, provider=provider)
    actual = contract.file_content_hash(path)
    if actual != model.info.content_hash:
        raise ModelError(
            f"{path}: its metadata gives the content hash {model.info.content_hash[:16]}, but "
            f"its graph hashes to {actual[:16]}: the file was changed after it was exported"
        )
    _check_probe_descriptors(model, Path(path))
    return model


def probe_images(input_size: int) -> np.ndarray:
    """Three different uint8 images: noise, a colour gradient and a flat grey."""
    noise = np.random.default_rng(PROBE_SEED).integers(0, 256, (input_size, input_size, 3))
    ramp = np.linspace(0, 255, input_size)
    gradient = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], 255 - ramp[:, None]))
    grey = np.full((input_size, input_size, 3), 128)
    return np.stack([noise, gradient.transpose(1, 2, 0), grey]).astype(np.uint8)


def _check_probe_descriptors(model: DescriptorSession, path: Path) -> None:
    try:
        descriptors = model.embed(probe_images(model.input_spec.input_size))
    except Exception as exc:  # onnxruntime raises its own exception types per failure
        raise ModelError(f"{path} fails when it embeds an image: {exc}") from exc
    if not np.isfinite(descriptors).all():
        raise ModelError(f"{path} returns descriptors that are not finite numbers (NaN or inf)")
    norms = np.linalg.norm(descriptors, axis=1)
    if np.abs(norms - 1.0).max() > NORM_TOLERANCE:
        raise ModelError(
            f"{path} returns descriptors that are not L2-normalised "
            f"(norms {', '.join(f'{n:.4g}' for n in norms)}; the contract asks for 1)"
        )
    spread = np.abs(descriptors[:, None, :] - descriptors[None, :, :]).max()
    if spread < MIN_PROBE_SPREAD:
        raise ModelError(
            f"{path} returns the same descriptor for different images: it ignores its input"
        )


def read_model_info(session: ort.InferenceSession, path: Path) -> ModelInfo:
    """Check the session's graph and metadata against the contract and return its info."""
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    missing = [key for key in contract.REQUIRED_KEYS if key not in metadata]
    if missing:
        raise ModelError(f"{path} lacks the photo-search metadata {', '.join(missing)}")
    version = metadata[contract.KEY_FORMAT_VERSION]
    if version != contract.FORMAT_VERSION:
        raise ModelError(
            f"{path} uses model format version {version}; "
            f"this app reads version {contract.FORMAT_VERSION}"
        )
    input_size = _int_metadata(metadata, contract.KEY_INPUT_SIZE, path)
    resize_size = _int_metadata(metadata, contract.KEY_RESIZE_SIZE, path)
    dim = _int_metadata(metadata, contract.KEY_DESCRIPTOR_DIM, path)
    interpolation = metadata[contract.KEY_INTERPOLATION]
    if interpolation not in contract.INTERPOLATIONS or resize_size < input_size:
        raise ModelError(
            f"{path} has an invalid resize policy: resize {resize_size}, crop {input_size}, "
            f"interpolation {interpolation!r}"
        )
    try:
        training = json.loads(metadata[contract.KEY_TRAINING])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} has a training summary that is not JSON: {exc}") from exc
    _check_input(session, path, input_size)
    _check_output(session, path, dim)
    return ModelInfo(
        path=path,
        name=metadata[contract.KEY_MODEL_NAME],
        architecture=metadata[contract.KEY_ARCHITECTURE],
        descriptor_dim=dim,
        input_spec=InputSpec(input_size, resize_size, interpolation),
        content_hash=metadata[contract.KEY_CONTENT_HASH],
        format_version=version,
        training=training,
        metadata=metadata,
    )


def _int_metadata(metadata: dict[str, str], key: str, path: Path) -> int:
    try:
        value = int(metadata[key])
    except ValueError:
        value = 0
    if value <= 0:
        raise ModelError(
            f"{path}: metadata {key} must be a positive integer, got {metadata[key]!r}"
        )
    return value


def _check_input(session: ort.InferenceSession, path: Path, input_size: int) -> None:
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].name != contract.INPUT_NAME:
        names = [i.name for i in inputs]
        raise ModelError(f"{path} must have one input named {contract.INPUT_NAME!r}, has {names}")
    tensor = inputs[0]
    if tensor.type != "tensor(uint8)":
        raise ModelError(f"{path}: input {tensor.name!r} must be uint8, is {tensor.type}")
    expected = [input_size, input_size, 3]
    if len(tensor.shape) != 4 or list(tensor.shape[1:]) != expected:
        raise ModelError(
            f"{path}: input {tensor.name!r} must have shape [batch, {input_size}, {input_size}, 3]"
            f" (RGB, channels last), has {tensor.shape}"
        )
    if isinstance(tensor.shape[0], int):
        raise ModelError(f"{path}: input batch axis must be dynamic, is fixed at {tensor.shape[0]}")


def _check_output(session: ort.InferenceSession, path: Path, dim: int) -> None:
    outputs = session.get_outputs()
    names = [o.name for o in outputs]
    if contract.OUTPUT_NAME not in names:
        raise ModelError(f"{path} has no output named {contract.OUTPUT_NAME!r} (outputs: {names})")
    tensor = outputs[names.index(contract.OUTPUT_NAME)]
    if tensor.type != "tensor(float)":
        raise ModelError(f"{path}: output {tensor.name!r} must be float32, is {tensor.type}")
    if len(tensor.shape) != 2 or tensor.shape[1] != dim:
        raise ModelError(
            f"{path}: output {tensor.name!r} must have shape [batch, {dim}] to match its "
            f"metadata, has {tensor.shape}"
        )
