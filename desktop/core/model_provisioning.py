"""Getting a catalog model into a library: download, assemble, optionally int8, add.

The command line (`photo-search models get`) and the window call the same function, so a
model got either way is the same file with the same checks. The weights come from the hub
(`model_download`), the graph from the template the app ships for the model
(`resources/templates/<key>.onnx`, filled by `model_assembly`), and the result goes
through `Library.add_model`, which checks it against the model contract like any file a
user brings. No torch is involved.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

from desktop.core import model_contract as contract
from desktop.core.catalog import ModelRecord
from desktop.core.library import Library, LibraryError
from desktop.core.model_assembly import assemble_model
from desktop.core.model_catalog import CatalogModel, ModelCatalog, load_catalog
from desktop.core.model_download import DownloadCallback, download_model
from desktop.core.paths import resource_path
from desktop.core.quantize import quantize_int8

CHECKSUMS_FILE = "model-checksums.json"
"""In the library's data folder: the SHA-256 of weights the catalog gives none for."""
CATALOG_KEY = "catalog_key"
"""Where a catalog model's key is kept in its training summary, to recognise it later."""


class ModelProvisioningError(Exception):
    """This build cannot make the model: it ships no template for it."""


def template_path(model: CatalogModel) -> Path:
    """The weights-free ONNX graph the app ships for a catalog model (named by its key: the
    graph depends on the pretrained tag too, e.g. the position embedding's grid)."""
    return resource_path(f"templates/{model.key}.onnx")


def get_catalog_model(
    library: Library,
    key: str,
    *,
    progress: DownloadCallback | None = None,
    cancel: threading.Event | None = None,
    int8: bool = False,
    activate: bool = False,
    catalog: ModelCatalog | None = None,
) -> ModelRecord:
    """Download a catalog model, build its ONNX file and add it to the library.

    What can be known to fail is checked before the download: the library must be writable
    and the model's template present.
    Raises ModelDownloadError (and DownloadCancelled), ModelProvisioningError, ModelError
    (the assembled file breaks the contract) or LibraryError; the library is unchanged then.
    """
    model = (catalog or load_catalog()).get(key)
    if library.read_only:
        raise LibraryError(f"cannot add {model.name}: the library is read-only")
    template = template_path(model)
    if not template.is_file():
        raise ModelProvisioningError(
            f"this build of photo-search has no template for {model.key} ({template}), "
            f"so it cannot build {model.name}"
        )
    downloaded = download_model(
        model,
        checksums=library.paths.data / CHECKSUMS_FILE,
        progress=progress,
        cancel=cancel,
    )
    training = {
        CATALOG_KEY: model.key,
        "weights": f"{model.repo}@{downloaded.commit or model.revision}",
        "weights_sha256": downloaded.sha256,
        "licence": model.licence,
        "descriptor": model.descriptor,
    }
    library.paths.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.paths.cache) as work:
        built = Path(work) / "model.onnx"
        assemble_model(template, downloaded.weights, built, name=model.name, training=training)
        if int8:
            built = quantize_int8(built, Path(work) / "model-int8.onnx")
        return library.add_model(built, activate=activate)


def catalog_models_in_library(
    library: Library, catalog: ModelCatalog | None = None
) -> dict[str, list[ModelRecord]]:
    """The library's models made from each catalog entry (its int8 variant included)."""
    found: dict[str, list[ModelRecord]] = {m.key: [] for m in (catalog or load_catalog()).models}
    for record in library.models():
        key = catalog_key(record)
        if key in found:
            found[key].append(record)
    return found


def catalog_key(record: ModelRecord) -> str | None:
    """The catalog key a library model was made from, read from its training summary."""
    try:
        training = json.loads(record.metadata.get(contract.KEY_TRAINING, "{}"))
    except json.JSONDecodeError:
        return None
    return training.get(CATALOG_KEY) if isinstance(training, dict) else None


def catalog_summary(model: CatalogModel) -> dict:
    """What the front ends show about a catalog entry."""
    return {
        "key": model.key,
        "name": model.name,
        "good_for": model.good_for,
        "architecture": model.architecture,
        "input_size": model.input_size,
        "licence": model.licence,
        "download_bytes": model.download_bytes,
        "repo": model.repo,
        "default": model.default,
    }
