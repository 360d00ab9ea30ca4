"""Downloading a catalog model's weights from the Hugging Face hub, into huggingface_hub's cache.

Everything that speaks to the hub is huggingface_hub's own: the file URL, the HEAD request
that gives the commit, ETag and size (`get_hf_file_metadata`), the GET (`http_stream_backoff`
on its shared client), its HTTP errors, its cache layout and look-ups, offline mode. The
body of model.safetensors is streamed here rather than by `hf_hub_download`, for two reasons
found in huggingface_hub 2.4's source (file_download.py):

- cancelling: its progress hook (`tqdm_class`) is only called per 10 MiB chunk
  (`DOWNLOAD_CHUNK_SIZE`), seconds apart on a slow link; here the cancel flag is checked
  every 64 KiB;
- resuming: it downloads into a temporary file unique to the call and deletes it on any
  failure (`_download_to_tmp_and_move`), so a run that fails or is cancelled starts over.
  Here the partial file stays beside the blob (`blobs/<etag>.photo-search.incomplete`) and
  the next run asks for the rest with a Range request.

Once the file is complete and its SHA-256 checked, it becomes the cache blob and
`hf_hub_download` adds the snapshot link and the `refs/<revision>` entry itself (with the
blob present it only makes its HEAD request), so the cache is the library's layout and timm
or the trainer find the same weights there.

Integrity: the SHA-256 must match the catalog's when it gives one, the hub's ETag when that
is a SHA-256 (it is for LFS files), and the one recorded at the first download otherwise. A
file that fails is deleted before it ever enters the cache.

HF_ENDPOINT, HF_HUB_CACHE and HF_HUB_OFFLINE are read on each call (huggingface_hub reads
them once, at import), so a long-running app and the tests can change them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx2  # huggingface_hub's HTTP client: its network errors are httpx2's
from huggingface_hub import (
    constants,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    try_to_load_from_cache,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_stream_backoff

from desktop.core.atomic import atomic_write
from desktop.core.model_catalog import CONFIG_FILE, WEIGHTS_FILE, CatalogModel

CHUNK_BYTES = 64 * 1024
"""How much is read between two looks at the cancel flag."""
PARTIAL_SUFFIX = ".photo-search.incomplete"
_SHA256 = re.compile(r"[0-9a-f]{64}")
"""The hub's ETag of an LFS file is its SHA-256."""

OTHER_WAYS = (
    "Other ways to get a model: add a model file you have (`photo-search models add "
    "FILE.onnx`, or Library > Models in the window), or train one on your own labelled "
    "folders (`desktop-trainer finetune`)."
)


class ModelDownloadError(Exception):
    """The weights could not be downloaded or failed their check; the message says what to do."""


class DownloadCancelled(ModelDownloadError):
    """The user cancelled; what was downloaded is kept and the next run resumes."""


@dataclass(frozen=True)
class DownloadProgress:
    done: int
    """Bytes of the weights on disk, a resumed download's earlier bytes included."""
    total: int | None
    rate: float
    """Bytes per second in this run."""
    eta_s: float | None


DownloadCallback = Callable[[DownloadProgress], None]


@dataclass(frozen=True)
class DownloadedModel:
    weights: Path
    """model.safetensors in huggingface_hub's cache."""
    config: dict
    """timm's config.json from the repository (architecture, pretrained_cfg)."""
    sha256: str
    commit: str | None
    """The repository commit the weights come from, when the hub was asked."""


@dataclass(frozen=True)
class Hub:
    """huggingface_hub's settings as the environment gives them now."""

    endpoint: str
    cache_dir: Path
    offline: bool

    @classmethod
    def from_environment(cls) -> Hub:
        offline = os.environ.get("HF_HUB_OFFLINE")
        return cls(
            endpoint=os.environ.get("HF_ENDPOINT", constants.ENDPOINT).rstrip("/"),
            cache_dir=Path(os.environ.get("HF_HUB_CACHE", constants.HF_HUB_CACHE)),
            offline=(
                offline.upper() in constants.ENV_VARS_TRUE_VALUES
                if offline is not None
                else constants.is_offline_mode()
            ),
        )


def cached_weights(model: CatalogModel) -> Path | None:
    """The model's weights if huggingface_hub's cache holds them at the catalog's revision."""
    found = try_to_load_from_cache(
        model.repo, WEIGHTS_FILE, Hub.from_environment().cache_dir, revision=model.revision
    )
    return Path(found) if isinstance(found, str) else None


def download_model(
    model: CatalogModel,
    *,
    checksums: Path,
    progress: DownloadCallback | None = None,
    cancel: threading.Event | None = None,
) -> DownloadedModel:
    """The model's config and checked weights, downloaded unless the cache has them.

    `checksums` is the JSON file where the SHA-256 of weights the catalog gives none for is
    recorded at the first download and checked against afterwards.
    """
    hub = Hub.from_environment()
    if not hub.offline:
        _check_reachable(model, hub)
    config = _read_config(_hub_file(model, hub, CONFIG_FILE, local_files_only=hub.offline), model)
    if hub.offline:
        weights, commit = cached_weights(model), None
        if weights is None:
            raise ModelDownloadError(
                _not_available(model, hub, "downloads are off (HF_HUB_OFFLINE)")
            )
    else:
        weights, commit = _fetch_weights(model, hub, checksums, progress, cancel)
    digest = _sha256(weights)
    _check_digest(model, checksums, digest, weights)
    _record(checksums, model, digest, commit)
    return DownloadedModel(weights, config, digest, commit)


def _hub_file(model: CatalogModel, hub: Hub, filename: str, local_files_only: bool = False) -> Path:
    """A file of the model's repository through huggingface_hub's cache (downloaded if it is
    not there), with its errors turned into a message for the user."""
    with _hub_errors(model, hub):
        return Path(
            hf_hub_download(
                model.repo,
                filename,
                revision=model.revision,
                cache_dir=hub.cache_dir,
                endpoint=hub.endpoint,
                local_files_only=local_files_only,
            )
        )


def _check_reachable(model: CatalogModel, hub: Hub) -> None:
    """One quick request before the first download of a model.

    hf_hub_download retries an unreachable hub for about 25 s when nothing is cached, and
    cancelling cannot stop it; one try answers in the time of a failed connection.
    """
    cached = try_to_load_from_cache(model.repo, CONFIG_FILE, hub.cache_dir, revision=model.revision)
    if isinstance(cached, str):
        return  # hf_hub_download falls back to this copy without retrying
    url = hf_hub_url(model.repo, CONFIG_FILE, revision=model.revision, endpoint=hub.endpoint)
    with _hub_errors(model, hub):
        get_hf_file_metadata(url, token=False, endpoint=hub.endpoint)


def _fetch_weights(
    model: CatalogModel,
    hub: Hub,
    checksums: Path,
    progress: DownloadCallback | None,
    cancel: threading.Event | None,
) -> tuple[Path, str | None]:
    url = hf_hub_url(model.repo, WEIGHTS_FILE, revision=model.revision, endpoint=hub.endpoint)
    try:
        with _hub_errors(model, hub):
            metadata = get_hf_file_metadata(url, token=False, endpoint=hub.endpoint)
    except ModelDownloadError:
        cached = cached_weights(
            model
        )  # the hub is down: a cached copy will do, as in hf_hub_download
        if cached is None:
            raise
        return cached, None
    if metadata.commit_hash is None or metadata.etag is None:
        raise ModelDownloadError(
            f"{hub.endpoint} does not answer like a Hugging Face hub (no X-Repo-Commit or ETag "
            f"header for {url}); check HF_ENDPOINT. {OTHER_WAYS}"
        )
    cached = try_to_load_from_cache(
        model.repo, WEIGHTS_FILE, hub.cache_dir, revision=metadata.commit_hash
    )
    if isinstance(cached, str):
        return Path(cached), metadata.commit_hash
    blob = hub.cache_dir / repo_folder_name(repo_id=model.repo, repo_type="model") / "blobs"
    blob = blob / metadata.etag
    if not blob.exists():
        partial = blob.with_name(blob.name + PARTIAL_SUFFIX)
        _stream(metadata.location, partial, metadata.size, model, hub, progress, cancel)
        digest = _sha256(partial)
        try:
            _check_digest(model, checksums, digest, partial)
            if _SHA256.fullmatch(metadata.etag) and digest != metadata.etag:
                raise ModelDownloadError(
                    f"the download of {model.name} is corrupt: its SHA-256 is {digest[:16]}..., "
                    f"the hub gives {metadata.etag[:16]}...; it was discarded: run again"
                )
        except ModelDownloadError:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, blob)
    return _hub_file(model, hub, WEIGHTS_FILE), metadata.commit_hash


def _stream(
    url: str,
    partial: Path,
    size: int | None,
    model: CatalogModel,
    hub: Hub,
    progress: DownloadCallback | None,
    cancel: threading.Event | None,
) -> None:
    """Append the rest of the file at `url` to `partial`, reporting progress."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    done = partial.stat().st_size if partial.exists() else 0
    if size is not None and done > size:
        done = 0
    if size is not None and done == size:
        return
    headers = build_hf_headers(token=False)
    if done:
        headers["Range"] = f"bytes={done}-"
    started, start_done = time.monotonic(), done
    with _hub_errors(model, hub):
        try:
            with http_stream_backoff(
                "GET",
                url,
                headers=headers,
                timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
                retry_on_exceptions=(),
                retry_on_status_codes=(408, 429),
            ) as response:
                hf_raise_for_status(response)
                if done and response.status_code != 206:  # the server ignored the Range header
                    done = start_done = 0
                with open(partial, "ab" if done else "wb") as stream:
                    for chunk in response.iter_bytes(CHUNK_BYTES):
                        if cancel is not None and cancel.is_set():
                            raise DownloadCancelled(
                                f"download of {model.name} cancelled; the {_mb(done)} "
                                "downloaded are kept and the next download resumes from there"
                            )
                        stream.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(_progress(done, size, done - start_done, started))
        except httpx2.TransportError as exc:  # refused, reset, timed out, cut short
            raise ModelDownloadError(
                f"the connection to {urlsplit(url).netloc} was lost after {_mb(done)} of "
                f"{_mb(size)} of {model.name}; what arrived is kept: run again to resume "
                f"({exc})"
            ) from exc
    if size is not None and done != size:
        raise ModelDownloadError(
            f"the download of {model.name} stopped at {_mb(done)} of {_mb(size)}: "
            "run again to resume"
        )


def _progress(done: int, total: int | None, this_run: int, started: float) -> DownloadProgress:
    elapsed = time.monotonic() - started
    rate = this_run / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if total is not None and rate > 0 else None
    return DownloadProgress(done, total, rate, eta)


@contextmanager
def _hub_errors(model: CatalogModel, hub: Hub) -> Iterator[None]:
    """Turn huggingface_hub's and httpx2's exceptions into a message for the user."""
    try:
        yield
    except ModelDownloadError:
        raise
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as exc:
        reason = (
            "downloads are off (HF_HUB_OFFLINE)"
            if hub.offline or isinstance(exc, OfflineModeIsEnabled)
            else f"{hub.endpoint} cannot be reached"
        )
        raise ModelDownloadError(_not_available(model, hub, reason)) from exc
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
        raise ModelDownloadError(
            f"{hub.endpoint} has no {model.repo} at revision {model.revision} with "
            f"{CONFIG_FILE} and {WEIGHTS_FILE}. {OTHER_WAYS}"
        ) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "an error"
        raise ModelDownloadError(
            f"{hub.endpoint} answered HTTP {status} for {model.name}; try again later. {OTHER_WAYS}"
        ) from exc
    except httpx2.HTTPError as exc:
        raise ModelDownloadError(
            f"{model.name} cannot be downloaded: {hub.endpoint} cannot be reached ({exc}). "
            f"{OTHER_WAYS}"
        ) from exc
    except OSError as exc:  # the cache folder: full disk, permissions
        raise ModelDownloadError(f"cannot write {model.name} to {hub.cache_dir}: {exc}") from exc


def _not_available(model: CatalogModel, hub: Hub, reason: str) -> str:
    return (
        f"{model.name} is not downloaded yet and {reason}: connect to the internet and try "
        f"again. {OTHER_WAYS}"
    )


def _read_config(path: Path, model: CatalogModel) -> dict:
    """timm's config.json, which must name the catalog's architecture."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelDownloadError(
            f"{model.repo}'s {CONFIG_FILE} is not readable JSON: {exc}"
        ) from exc
    architecture = config.get("architecture") if isinstance(config, dict) else None
    if architecture != model.architecture:
        raise ModelDownloadError(
            f"{model.repo}'s {CONFIG_FILE} names the architecture {architecture!r}, the "
            f"catalog {model.architecture!r}: the repository is not the model it should be"
        )
    return config


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_digest(model: CatalogModel, checksums: Path, digest: str, path: Path) -> None:
    """Refuse weights whose SHA-256 is not the catalog's, or not the one recorded before."""
    if model.sha256 is not None and digest != model.sha256:
        raise ModelDownloadError(
            f"{WEIGHTS_FILE} of {model.repo} has the SHA-256 {digest}, but the catalog expects "
            f"{model.sha256}: the repository changed or the file was tampered with; it was "
            f"refused ({path})"
        )
    recorded = _records(checksums).get(_record_key(model))
    if model.sha256 is None and recorded is not None and recorded["sha256"] != digest:
        raise ModelDownloadError(
            f"{WEIGHTS_FILE} of {model.repo} has the SHA-256 {digest}, but the copy downloaded "
            f"first had {recorded['sha256']}: the repository changed or the file was tampered "
            f"with; it was refused ({path})"
        )


def _record_key(model: CatalogModel) -> str:
    return f"{model.repo}@{model.revision}/{WEIGHTS_FILE}"


def _records(checksums: Path) -> dict:
    try:
        return json.loads(checksums.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelDownloadError(f"cannot read the recorded checksums {checksums}: {exc}") from exc


def _record(checksums: Path, model: CatalogModel, digest: str, commit: str | None) -> None:
    """Remember the SHA-256 of weights the catalog has none for, on their first download."""
    records = _records(checksums)
    if model.sha256 is not None or _record_key(model) in records:
        return
    records[_record_key(model)] = {"sha256": digest, "commit": commit, "recorded": time.time()}
    text = json.dumps(records, indent=2, sort_keys=True).encode()
    atomic_write(checksums, lambda stream: stream.write(text))


def _mb(size: int | None) -> str:
    return "an unknown size" if size is None else f"{size / 1e6:.1f} MB"
