"""Getting a catalog model from a stand-in hub (a real HTTP server under HF_ENDPOINT): the good
path end to end, and every way a download goes wrong, each leaving the library unchanged and
no bad file in the cache."""

from __future__ import annotations

import dataclasses
import hashlib
import threading

import pytest

from desktop.core.library import Library
from desktop.core.model_catalog import ModelCatalog, load_catalog
from desktop.core.model_download import (
    PARTIAL_SUFFIX,
    DownloadCancelled,
    ModelDownloadError,
    cached_weights,
)
from desktop.core.model_provisioning import (
    CHECKSUMS_FILE,
    catalog_models_in_library,
    get_catalog_model,
)
from desktop.core.paths import app_paths
from tests.hub import serving, timm_weights, use_fake_assembly

DEFAULT = "vit_small_patch14_dinov2.lvd142m"
DEIT = "deit_small_patch16_224.fb_in1k"
OTHER_WAYS = ("photo-search models add", "desktop-trainer finetune")


@pytest.fixture
def hub(tmp_path, monkeypatch):
    with serving(tmp_path, monkeypatch) as fake:
        yield fake


@pytest.fixture
def assembled(monkeypatch, tmp_path):
    return use_fake_assembly(monkeypatch, tmp_path)


@pytest.fixture
def empty_library():
    with Library(app_paths()) as library:
        yield library


def _blobs(tmp_path):
    """The weights' files in the cache (config.json's blob, named by its git hash, aside)."""
    blobs = (tmp_path / "hf-cache").glob("models--*/blobs/*")
    return sorted(p.name for p in blobs if len(p.name) != 40)


def _catalog_with(key: str, **changes) -> ModelCatalog:
    catalog = load_catalog()
    models = tuple(dataclasses.replace(m, **changes) if m.key == key else m for m in catalog.models)
    return ModelCatalog(models, catalog.path)


def _weights_sha(hub, key=DEFAULT) -> str:
    return hashlib.sha256(hub.files[(f"timm/{key}", "model.safetensors")]).hexdigest()


def test_a_catalog_model_is_downloaded_assembled_checked_and_searches(
    hub, assembled, empty_library, photo_folder, tmp_path
):
    library = empty_library
    reports = []
    record = get_catalog_model(library, DEFAULT, progress=reports.append, activate=True)

    assert library.active_model() == record
    assert record.name == "DINOv2 ViT-S/14"
    (call,) = assembled
    assert call["template"].name == "template.onnx"
    assert call["catalog_key"] == DEFAULT
    assert call["weights_sha256"] == _weights_sha(hub)
    assert call["weights"] == f"timm/{DEFAULT}@0123456789abcdef0123456789abcdef01234567"
    assert catalog_models_in_library(library)[DEFAULT] == [record]
    assert catalog_models_in_library(library)[DEIT] == []
    size = len(hub.files[(f"timm/{DEFAULT}", "model.safetensors")])
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    assert reports[-1].done == reports[-1].total == size
    assert all(r.rate > 0 for r in reports) and reports[-1].eta_s == 0
    # the weights sit in huggingface_hub's own cache layout, and its SHA-256 was recorded
    cached = cached_weights(load_catalog().get(DEFAULT))
    assert cached is not None and cached.is_symlink()
    assert _blobs(tmp_path).count(_weights_sha(hub)) == 1
    assert _weights_sha(hub) in (library.paths.data / CHECKSUMS_FILE).read_text()

    library.add_folder(photo_folder)
    library.sync()
    query = sorted(photo_folder.glob("*/*.jpg"))[3]
    assert library.search_images([query], top=1)[0].photo.path == str(query)

    gets = len(hub.weights_gets())
    get_catalog_model(library, DEFAULT)  # a second time: from the cache, same model
    assert len(hub.weights_gets()) == gets
    assert library.models() == [record]


def test_a_server_error_is_a_plain_message_and_changes_nothing(hub, assembled, empty_library):
    hub.fail_status = 500
    with pytest.raises(ModelDownloadError, match="answered HTTP 500") as error:
        get_catalog_model(empty_library, DEFAULT)
    assert all(way in str(error.value) for way in OTHER_WAYS)
    assert empty_library.models() == [] and assembled == []


def test_a_truncated_body_is_an_error_and_the_next_run_resumes(
    hub, assembled, empty_library, tmp_path
):
    hub.close_after = 100_000
    with pytest.raises(ModelDownloadError, match="lost after .* MB of 0.3 MB .* resume"):
        get_catalog_model(empty_library, DEFAULT)
    assert empty_library.models() == []
    (partial,) = _blobs(tmp_path)
    assert partial.endswith(PARTIAL_SUFFIX)

    get_catalog_model(empty_library, DEFAULT)
    first, resumed = hub.weights_gets()
    assert first is None and resumed.startswith("bytes=") and resumed != "bytes=0-"
    assert _blobs(tmp_path) == [_weights_sha(hub)]  # complete, checked, no partial left
    assert len(empty_library.models()) == 1


def test_a_hub_that_goes_away_mid_file_is_an_error_and_a_retry_once_back_resumes(
    hub, assembled, empty_library, tmp_path
):
    hub.close_after = 150_000
    with pytest.raises(ModelDownloadError, match="connection to 127.0.0.1:.* was lost"):
        get_catalog_model(empty_library, DEFAULT)
    hub.stop()
    with pytest.raises(ModelDownloadError, match="cannot be reached") as error:
        get_catalog_model(empty_library, DEFAULT)
    assert all(way in str(error.value) for way in OTHER_WAYS)

    hub.start()
    record = get_catalog_model(empty_library, DEFAULT)
    resumed = hub.weights_gets()[-1]
    assert resumed is not None and int(resumed[len("bytes=") : -1]) > 0
    assert empty_library.models() == [record]
    assert _blobs(tmp_path) == [_weights_sha(hub)]


def test_weights_with_the_wrong_checksum_are_refused_and_not_kept(
    hub, assembled, empty_library, tmp_path
):
    wrong = _catalog_with(DEFAULT, sha256="0" * 64)
    with pytest.raises(ModelDownloadError, match="the catalog expects 0000"):
        get_catalog_model(empty_library, DEFAULT, catalog=wrong)
    assert empty_library.models() == [] and assembled == []
    assert _blobs(tmp_path) == []  # neither the blob nor a partial file
    assert cached_weights(load_catalog().get(DEFAULT)) is None

    right = _catalog_with(DEFAULT, sha256=_weights_sha(hub))
    get_catalog_model(empty_library, DEFAULT, catalog=right)
    assert hub.weights_gets() == [None, None]  # downloaded afresh, nothing reused
    assert len(empty_library.models()) == 1


def test_bytes_that_are_not_what_the_hub_announced_are_discarded(
    hub, assembled, empty_library, tmp_path
):
    hub.corrupt = True
    with pytest.raises(ModelDownloadError, match="is corrupt.*discarded"):
        get_catalog_model(empty_library, DEFAULT)
    assert _blobs(tmp_path) == [] and empty_library.models() == []


def test_weights_that_changed_since_the_first_download_are_refused(
    hub, assembled, empty_library, tmp_path
):
    get_catalog_model(empty_library, DEFAULT)
    for path in sorted((tmp_path / "hf-cache").rglob("*"), reverse=True):
        path.unlink() if not path.is_dir() or path.is_symlink() else path.rmdir()
    hub.add_model(load_catalog().get(DEFAULT), timm_weights(seed=99))
    with pytest.raises(ModelDownloadError, match="the copy downloaded first had"):
        get_catalog_model(empty_library, DEFAULT)
    assert len(empty_library.models()) == 1


def test_offline_with_nothing_cached_is_a_plain_message(hub, assembled, empty_library, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelDownloadError, match="not downloaded yet and downloads are off") as e:
        get_catalog_model(empty_library, DEFAULT)
    assert all(way in str(e.value) for way in OTHER_WAYS)
    assert hub.requests == [] and empty_library.models() == []


def test_an_unreachable_hub_is_reported_at_once_not_after_retries(hub, assembled, empty_library):
    """huggingface_hub alone retries a hub it cannot reach for about 25 s, uncancellable."""
    hub.stop()
    result: list[BaseException] = []

    def get() -> None:
        try:
            get_catalog_model(empty_library, DEFAULT)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            result.append(exc)

    worker = threading.Thread(target=get, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "still retrying after 10 s"
    assert isinstance(result[0], ModelDownloadError)
    assert "cannot be reached" in str(result[0])
    assert all(way in str(result[0]) for way in OTHER_WAYS)
    assert empty_library.models() == []


def test_offline_a_cached_model_can_still_be_added(hub, assembled, monkeypatch, tmp_path):
    with Library(app_paths(tmp_path / "first")) as first:
        get_catalog_model(first, DEFAULT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    requests = len(hub.requests)
    with Library(app_paths(tmp_path / "second")) as second:
        record = get_catalog_model(second, DEFAULT)
        assert second.models() == [record]
    assert len(hub.requests) == requests


def test_cancel_mid_download_keeps_what_arrived_and_the_next_run_resumes(
    hub, assembled, empty_library, tmp_path
):
    cancel = threading.Event()
    reports = []

    def cancel_after_two_chunks(report):
        reports.append(report)
        if len(reports) == 2:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled.*resumes"):
        get_catalog_model(empty_library, DEFAULT, progress=cancel_after_two_chunks, cancel=cancel)
    assert len(reports) == 2 and reports[-1].done < reports[-1].total
    assert empty_library.models() == [] and assembled == []
    (partial,) = (tmp_path / "hf-cache").glob(f"models--*/blobs/*{PARTIAL_SUFFIX}")
    assert partial.stat().st_size == reports[-1].done

    get_catalog_model(empty_library, DEFAULT)
    assert hub.weights_gets()[-1] == f"bytes={reports[-1].done}-"
    assert len(empty_library.models()) == 1
