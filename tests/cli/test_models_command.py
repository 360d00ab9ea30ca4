"""`photo-search models add` refuses a model file whose outputs or identity are not what the
contract and its metadata say, and the library is left as it was."""

from __future__ import annotations

import pytest

from desktop.core import model_contract as contract
from desktop.core.descriptor_model import DescriptorSession
from desktop.core.library import Library
from desktop.core.paths import app_paths
from desktop.main import main
from tests.models import write_model


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ("raw", "not L2-normalised"),
        ("nan", "not finite"),
        ("constant", "ignores its input"),
    ],
)
def test_models_add_refuses_outputs_that_break_the_contract(capsys, tmp_path, head, message):
    home = tmp_path / "lib"
    model = write_model(tmp_path / f"{head}.onnx", head=head)
    assert main(["models", "add", str(model), "--library", str(home)]) == 2
    assert message in capsys.readouterr().err
    with Library(app_paths(home)) as library:
        assert library.models() == []
        assert not list((library.paths.data / "models").glob("*.onnx"))


def test_models_add_refuses_a_file_that_claims_another_models_hash(capsys, tmp_path):
    home = tmp_path / "lib"
    genuine = write_model(tmp_path / "genuine.onnx", seed=1)
    assert main(["models", "add", str(genuine), "--library", str(home)]) == 0
    claimed = DescriptorSession(genuine).info.content_hash
    impostor = write_model(
        tmp_path / "impostor.onnx", seed=2, metadata={contract.KEY_CONTENT_HASH: claimed}
    )
    capsys.readouterr()
    assert main(["models", "add", str(impostor), "--library", str(home)]) == 2
    assert "changed after it was exported" in capsys.readouterr().err
    with Library(app_paths(home)) as library:
        (only,) = library.models()
        assert only.content_hash == claimed
        stored = DescriptorSession(only.path)
        assert contract.file_content_hash(only.path) == claimed == stored.info.content_hash
