"""The ONNX runner: real exported models work, every contract violation gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

from desktop.core import model_contract as contract
from desktop.core.descriptor_model import DescriptorSession, ModelError, check_model_file
from desktop.core.images import load_input
from tests.models import contract_metadata, write_model

SIZE, DIM = 8, 4


def good_metadata(**overrides: str) -> dict[str, str]:
    return {**contract_metadata(name="hand-made", dim=DIM, input_size=SIZE), **overrides}


def write_small(path, **kwargs):
    return write_model(path, size=SIZE, dim=DIM, **kwargs)


def test_hand_made_valid_model_embeds(tmp_path):
    model = DescriptorSession(write_small(tmp_path / "ok.onnx", name="hand-made"))
    images = np.random.default_rng(1).integers(0, 256, (3, SIZE, SIZE, 3), np.uint8)
    descriptors = model.embed(images)
    assert descriptors.shape == (3, DIM) and descriptors.dtype == np.float32
    assert np.allclose(np.linalg.norm(descriptors, axis=1), 1.0, atol=1e-5)
    assert model.info.name == "hand-made"


def test_model_embeds_photos_alone_or_in_a_batch(tiny_model_path, made_photos):
    model = DescriptorSession(tiny_model_path, threads=1)
    info = model.info
    assert (info.architecture, info.descriptor_dim) == ("pixel-projection", 48)
    descriptors = model.embed_images(made_photos[:5])
    assert descriptors.shape == (5, 48)
    assert np.allclose(np.linalg.norm(descriptors, axis=1), 1.0, atol=1e-5)
    single = model.embed(load_input(made_photos[2], info.input_spec)[None])
    assert np.allclose(single[0], descriptors[2], atol=1e-5)
    assert model.embed_images([]).shape == (0, 48)


def test_embed_rejects_wrong_arrays(tmp_path):
    model = DescriptorSession(write_small(tmp_path / "ok.onnx"))
    with pytest.raises(ValueError, match="uint8 batch"):
        model.embed(np.zeros((1, SIZE, SIZE, 3), np.float32))
    with pytest.raises(ValueError, match="uint8 batch"):
        model.embed(np.zeros((1, 3, SIZE, SIZE), np.uint8))


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        DescriptorSession(tmp_path / "nope.onnx")


def test_not_onnx(tmp_path):
    path = tmp_path / "fake.onnx"
    path.write_text("this is not a protobuf")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        DescriptorSession(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_name": "pixels"}, "one input named 'images'"),
        ({"input_type": TensorProto.FLOAT}, "must be uint8"),
        ({"input_shape": ("batch", 3, SIZE, SIZE)}, "channels last"),
        ({"input_shape": (1, SIZE, SIZE, 3)}, "batch axis must be dynamic"),
        ({"output_name": "features"}, "no output named 'descriptors'"),
        ({"output_dim": DIM + 1}, r"shape \[batch, 4\]"),
        ({"drop_keys": (contract.KEY_CONTENT_HASH,)}, "lacks the photo-search metadata"),
        ({"metadata": good_metadata(**{contract.KEY_FORMAT_VERSION: "99"})}, "version 99"),
        ({"metadata": good_metadata(**{contract.KEY_INPUT_SIZE: "big"})}, "positive integer"),
        ({"metadata": good_metadata(**{contract.KEY_TRAINING: "{oops"})}, "not JSON"),
        (
            {"metadata": good_metadata(**{contract.KEY_RESIZE_SIZE: str(SIZE - 1)})},
            "invalid resize policy",
        ),
    ],
)
def test_contract_violations_are_named(tmp_path, kwargs, message):
    path = write_small(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(ModelError, match=message):
        DescriptorSession(path)


def test_an_honest_model_file_passes_the_full_check(tmp_path):
    info = check_model_file(write_small(tmp_path / "ok.onnx")).info
    assert info.content_hash == contract.file_content_hash(tmp_path / "ok.onnx")


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("raw", "not L2-normalised"),
        ("nan", "not finite"),
        ("constant", "ignores its input"),
    ],
)
def test_outputs_that_break_the_contract_are_refused(tmp_path, head, message):
    path = write_small(tmp_path / f"{head}.onnx", head=head)
    DescriptorSession(path)  # the graph and metadata alone look fine
    with pytest.raises(ModelError, match=message):
        check_model_file(path)


def test_the_content_hash_is_computed_not_read(tmp_path):
    """A file that claims another model's hash is refused: it is a different model."""
    original = write_small(tmp_path / "original.onnx", seed=1)
    claimed = DescriptorSession(original).info.content_hash
    impostor = write_small(
        tmp_path / "impostor.onnx", seed=2, metadata={contract.KEY_CONTENT_HASH: claimed}
    )
    assert DescriptorSession(impostor).info.content_hash == claimed
    with pytest.raises(ModelError, match="changed after it was exported"):
        check_model_file(impostor)
