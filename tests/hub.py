"""A stand-in for the Hugging Face hub: a real HTTP server on 127.0.0.1 for HF_ENDPOINT.

It answers what huggingface_hub asks of `/<repo>/resolve/<revision>/<file>` (file_download.py,
`get_hf_file_metadata` and the GET that follows): X-Repo-Commit, ETag (for the weights, as
for any LFS file, X-Linked-Etag: the SHA-256 of the content) and X-Linked-Size on HEAD and
GET, Content-Length, and Range requests answered with 206 and Content-Range. Switches make
it misbehave: answer the weights' GET with an error status, close the connection after some
bytes, or serve bytes that are not the ones its ETag names. It can stop ("goes away") and
start again on the same port. Every request is logged with its Range header.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from safetensors.numpy import load_file, save

from desktop.core import model_contract as contract
from desktop.core import model_provisioning
from desktop.core.model_catalog import CONFIG_FILE, WEIGHTS_FILE, CatalogModel, load_catalog
from tests.models import write_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")


def timm_weights(seed: int = 0, dim: int = 384, tokens: int = 197) -> bytes:
    """A small safetensors file with some of a timm ViT's keys, random values (~300 KB)."""
    rng = np.random.default_rng(seed)
    tensors = {
        "cls_token": rng.normal(size=(1, 1, dim)),
        "pos_embed": rng.normal(size=(1, tokens, dim)),
        "norm.weight": np.ones(dim),
        "norm.bias": np.zeros(dim),
    }
    return save({name: value.astype(np.float32) for name, value in tensors.items()})


def timm_config(model: CatalogModel) -> bytes:
    """timm's config.json for a catalog model."""
    return json.dumps(
        {
            "architecture": model.architecture,
            "num_classes": 0,
            "num_features": model.descriptor_dim,
            "pretrained_cfg": {
                "crop_pct": model.crop_pct,
                "interpolation": model.interpolation,
                "input_size": [3, model.input_size, model.input_size],
            },
        }
    ).encode()


class FakeHub:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.fail_status: int | None = None
        """Answer the weights' GET with this status."""
        self.close_after: int | None = None
        """Close the connection after sending this many bytes of the weights (once)."""
        self.corrupt = False
        """Serve the weights with one byte changed, under the genuine file's ETag."""
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_model(self, model: CatalogModel, weights: bytes) -> None:
        self.files[(model.repo, CONFIG_FILE)] = timm_config(model)
        self.files[(model.repo, WEIGHTS_FILE)] = weights

    def weights_gets(self) -> list[str | None]:
        """The Range header of every GET of a weights file."""
        return [
            rng for method, path, rng in self.requests if method == "GET" and WEIGHTS_FILE in path
        ]

    def start(self) -> FakeHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """The hub goes away: connections are refused until `start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, *, body: bool) -> None:
            hub.requests.append((self.command, self.path, self.headers.get("Range")))
            match = _RESOLVE.match(self.path)
            content = hub.files.get((match["repo"], match["file"])) if match else None
            if content is None or match["revision"] not in ("main", COMMIT):
                self._empty(404, {"X-Error-Code": "EntryNotFound"})
                return
            weights = match["file"] == WEIGHTS_FILE
            if weights and body and hub.fail_status:
                self._empty(hub.fail_status, {})
                return
            sha256 = hashlib.sha256(content).hexdigest()
            headers = {
                "X-Repo-Commit": COMMIT,
                "ETag": f'"{hashlib.sha1(content).hexdigest()}"',
                "Accept-Ranges": "bytes",
            }
            if weights:
                headers["X-Linked-Etag"] = f'"{sha256}"'
                headers["X-Linked-Size"] = str(len(content))
            if weights and hub.corrupt:
                content = bytes([content[0] ^ 0xFF]) + content[1:]
            start = _range_start(self.headers.get("Range"))
            status = 206 if start else 200
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(content) - 1}/{len(content)}"
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(content) - start)}.items():
                self.send_header(name, value)
            self.end_headers()
            if not body:
                return
            payload = content[start:]
            if weights and hub.close_after is not None:
                payload, hub.close_after = payload[: hub.close_after], None
                self.close_connection = True
            self.wfile.write(payload)

        def _empty(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "X-Repo-Commit": COMMIT, "Content-Length": "0"}.items():
                self.send_header(name, value)
            self.end_headers()

    return Handler


def _range_start(header: str | None) -> int:
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match[1]) if match else 0


@contextmanager
def serving(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The stand-in hub with every catalog model, under HF_ENDPOINT; a cache of the test's own."""
    hub = FakeHub()
    for seed, model in enumerate(load_catalog().models):
        hub.add_model(model, timm_weights(seed))
    hub.start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    try:
        yield hub
    finally:
        hub.stop()


def use_fake_assembly(monkeypatch: pytest.MonkeyPatch, tmp_path) -> list[dict]:
    """Stand in for `assemble_model` and the shipped templates (none in this tree yet).

    The fake reads the downloaded file as safetensors in timm's layout, then writes the tests'
    small contract model (`tests.models`) with the name and training summary it is given.
    Returns the calls it got.
    """
    calls: list[dict] = []

    def assemble_model(template, weights, out, *, name, training):
        tensors = load_file(str(weights))
        assert {"cls_token", "pos_embed", "norm.weight"} <= set(tensors)
        calls.append({"template": template, "weights": weights, "name": name, **training})
        seed = int(abs(tensors["cls_token"]).sum() * 1000) % 2**31
        write_model(
            out,
            size=32,
            dim=48,
            seed=seed,
            name=name,
            metadata={contract.KEY_TRAINING: json.dumps(training)},
        )

    template = tmp_path / "template.onnx"
    template.write_bytes(b"a weights-free graph")
    monkeypatch.setattr(model_provisioning, "assemble_model", assemble_model)
    monkeypatch.setattr(model_provisioning, "template_path", lambda model: template)
    return calls
