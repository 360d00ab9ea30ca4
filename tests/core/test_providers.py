"""Execution providers: the best one offered is used, a failing one falls back to the CPU,
an impossible choice is a clear error, and the library's status says where the model runs.

The machine running the tests has only the CPU provider, so GPU providers are faked: the
list onnxruntime offers is patched, and so is the session it creates for a GPU provider.
"""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort
import pytest

from desktop.core.descriptor_model import (
    CPU,
    DescriptorSession,
    ProviderError,
    provider_candidates,
)
from desktop.core.library import Library
from desktop.core.paths import app_paths
from tests.models import write_model

CUDA, DML, COREML = "CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider"
REAL_SESSION = ort.InferenceSession


@pytest.fixture
def offered(monkeypatch):
    """Pretend the installed onnxruntime offers the given providers."""

    def offer(*providers: str) -> None:
        monkeypatch.setattr(ort, "get_available_providers", lambda: list(providers))

    return offer


@pytest.fixture
def sessions(monkeypatch):
    """Sessions created, by the providers asked for; those in `failing` raise, the others
    run on the CPU but report the first provider asked for, as a GPU session would."""
    created: list[list[str]] = []
    failing: set[str] = set()

    class FakeGpuSession(REAL_SESSION):
        def __init__(self, path, options=None, providers=None):
            created.append(list(providers))
            if providers[0] in failing:
                raise RuntimeError(f"{providers[0]}: libcudart.so.12: cannot open shared object")
            super().__init__(path, options, providers=[CPU])
            self._asked = providers

        def get_providers(self):
            return self._asked

    monkeypatch.setattr(ort, "InferenceSession", FakeGpuSession)
    return created, failing


def test_the_best_offered_provider_comes_first(offered):
    offered("AzureExecutionProvider", CPU, COREML, DML, CUDA)
    assert provider_candidates() == [CUDA, DML, COREML, CPU]
    offered(COREML, CPU)
    assert provider_candidates("auto") == [COREML, CPU]
    offered(CPU)
    assert provider_candidates() == [CPU]


def test_a_chosen_provider_is_tried_before_the_cpu(offered):
    offered(CUDA, DML, CPU)
    assert provider_candidates("dml") == [DML, CPU]
    assert provider_candidates("CPU") == [CPU]


def test_the_model_runs_on_the_best_provider(tmp_path, offered, sessions):
    created, _ = sessions
    offered(CPU, CUDA)
    model = DescriptorSession(write_model(tmp_path / "m.onnx"))
    assert model.provider == "cuda"
    assert created == [[CUDA, CPU]]  # the CPU runs what the GPU provider cannot


def test_a_provider_that_fails_falls_back_to_the_cpu_and_says_why(
    tmp_path, offered, sessions, caplog
):
    created, failing = sessions
    offered(CUDA, COREML, CPU)
    failing.update({CUDA, COREML})
    with caplog.at_level(logging.WARNING, logger="desktop.core.descriptor_model"):
        model = DescriptorSession(write_model(tmp_path / "m.onnx"), provider="auto")
    assert model.provider == "cpu"
    assert created == [[CUDA, CPU], [COREML, CPU], [CPU]]
    assert "CUDAExecutionProvider provider failed" in caplog.text
    assert "libcudart.so.12" in caplog.text
    assert model.embed(model_inputs(model)).shape == (1, model.info.descriptor_dim)


def test_unknown_or_missing_providers_are_clear_errors(tmp_path, offered):
    path = write_model(tmp_path / "m.onnx")
    with pytest.raises(ProviderError, match="unknown execution provider 'tpu': choose auto, cuda"):
        DescriptorSession(path, provider="tpu")
    offered(CPU)
    with pytest.raises(ProviderError, match="no CUDA provider .*it offers cpu"):
        DescriptorSession(path, provider="cuda")
    with pytest.raises(ProviderError, match="no DirectML provider"):
        Library(app_paths(), provider="dml")


def test_library_status_names_the_provider_once_loaded(library):
    (model,) = library.status().models
    assert model.provider is None  # not loaded: where it would run is not claimed
    library.session(library.serving_model())
    assert library.status().models[0].provider == "cpu"


def model_inputs(model: DescriptorSession) -> np.ndarray:
    size = model.input_spec.input_size
    return np.zeros((1, size, size, 3), np.uint8)
