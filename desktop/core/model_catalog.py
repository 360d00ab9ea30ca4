"""The pretrained descriptor models the app offers to download (`resources/models.json`).

The file ships with the app, so a broken entry is a packaging bug: it is checked as a whole
when loaded and every problem is named with the entry it is in, instead of surfacing as a
confusing failure halfway through a download.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core import model_contract as contract
from desktop.core.paths import resource_path

CATALOG_FILE = "models.json"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
"""timm's layout of a hub repository: the pretrained config and the weights."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_REPO = re.compile(r"[\w.-]+/[\w.-]+")


class ModelCatalogError(Exception):
    """The model catalog is missing, not JSON, or has an invalid entry, or a key is unknown."""


@dataclass(frozen=True)
class CatalogModel:
    """One pretrained model: what it is, how to preprocess for it, and where to get it."""

    key: str
    name: str
    good_for: str
    architecture: str
    """timm's architecture name; the template `resources/templates/<architecture>.onnx`."""
    input_size: int
    resize_size: int
    crop_pct: float
    interpolation: str
    descriptor: str
    descriptor_dim: int
    licence: str
    download_bytes: int
    """Approximate size of the weights download."""
    repo: str
    revision: str
    sha256: str | None
    """SHA-256 of model.safetensors at `revision`; None: recorded on the first download."""
    default: bool


_FIELDS: dict[str, type | tuple[type, ...]] = {
    "key": str,
    "name": str,
    "good_for": str,
    "architecture": str,
    "input_size": int,
    "resize_size": int,
    "crop_pct": (int, float),
    "interpolation": str,
    "descriptor": str,
    "descriptor_dim": int,
    "licence": str,
    "download_bytes": int,
    "repo": str,
    "revision": str,
    "sha256": (str, type(None)),
    "default": bool,
}


@dataclass(frozen=True)
class ModelCatalog:
    models: tuple[CatalogModel, ...]
    path: Path

    def get(self, key: str) -> CatalogModel:
        for model in self.models:
            if model.key == key:
                return model
        raise ModelCatalogError(
            f"no catalog model {key!r}; the catalog has {', '.join(self.keys())}"
        )

    def keys(self) -> list[str]:
        return [model.key for model in self.models]

    @property
    def default(self) -> CatalogModel:
        return next(model for model in self.models if model.default)


def load_catalog(path: str | os.PathLike | None = None) -> ModelCatalog:
    """Read and check the catalog (the shipped one unless `path` is given)."""
    path = Path(path) if path is not None else resource_path(CATALOG_FILE)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelCatalogError(f"cannot read the model catalog {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ModelCatalogError(f"the model catalog {path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format_version") != FORMAT_VERSION:
        raise ModelCatalogError(
            f"the model catalog {path} is not a format version {FORMAT_VERSION} catalog"
        )
    entries = document.get("models")
    if not isinstance(entries, list) or not entries:
        raise ModelCatalogError(f"the model catalog {path} lists no models")
    models = tuple(_model(entry, number, path) for number, entry in enumerate(entries, 1))
    keys = [model.key for model in models]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ModelCatalogError(f"{path}: models listed twice: {', '.join(duplicated)}")
    defaults = [model.key for model in models if model.default]
    if len(defaults) != 1:
        raise ModelCatalogError(
            f"{path}: exactly one model must be the default, found {len(defaults)}"
            + (f" ({', '.join(defaults)})" if defaults else "")
        )
    return ModelCatalog(models, path)


def _model(entry: Any, number: int, path: Path) -> CatalogModel:
    where = f"{path}: model {number}"
    if not isinstance(entry, dict):
        raise ModelCatalogError(f"{where} is not a JSON object")
    if isinstance(entry.get("key"), str):
        where += f" ({entry['key']})"
    missing = [name for name in _FIELDS if name not in entry]
    unknown = [name for name in entry if name not in _FIELDS]
    if missing or unknown:
        raise ModelCatalogError(
            f"{where}: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unknown fields {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
        )
    for name, kind in _FIELDS.items():
        value = entry[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ModelCatalogError(f"{where}: {name} has the wrong type ({value!r})")
    model = CatalogModel(**entry)
    problem = _problem(model)
    if problem:
        raise ModelCatalogError(f"{where}: {problem}")
    return model


def _problem(model: CatalogModel) -> str | None:
    """What is wrong with an entry whose fields have the right types, if anything."""
    if not all((model.key, model.name, model.architecture, model.licence, model.revision)):
        return "key, name, architecture, licence and revision must not be empty"
    if min(model.input_size, model.descriptor_dim, model.download_bytes) <= 0:
        return "input_size, descriptor_dim and download_bytes must be positive"
    if not 0 < model.crop_pct <= 1:
        return f"crop_pct must be in (0, 1], is {model.crop_pct}"
    expected_resize = math.floor(model.input_size / model.crop_pct)
    if model.resize_size != expected_resize:
        return (
            f"resize_size must be floor(input_size / crop_pct) = {expected_resize} "
            f"(timm's eval transform), is {model.resize_size}"
        )
    if model.interpolation not in contract.INTERPOLATIONS:
        return f"interpolation must be one of {', '.join(contract.INTERPOLATIONS)}"
    if not _REPO.fullmatch(model.repo):
        return f"repo must be a hub repository 'owner/name', is {model.repo!r}"
    if model.sha256 is not None and not _SHA256.fullmatch(model.sha256):
        return "sha256 must be 64 lowercase hex digits or null"
    return None
