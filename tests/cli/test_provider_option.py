"""`--provider`: the CLI runs the model where asked, refuses what it cannot, and `status`
names the provider the model really runs on."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from desktop.main import build_parser, main


def test_status_says_where_the_model_runs(capsys, tmp_path, tiny_model_path):
    library = str(tmp_path / "lib")
    assert main(["models", "add", str(tiny_model_path), "--library", library]) == 0
    capsys.readouterr()
    assert main(["status", "--library", library, "--provider", "CPU"]) == 0
    assert "runs on: CPU" in capsys.readouterr().out


def test_the_cli_refuses_an_unknown_provider(capsys, monkeypatch):
    with pytest.raises(SystemExit) as exited:
        main(["status", "--provider", "tpu"])
    assert exited.value.code == 2
    assert "invalid choice: 'tpu'" in capsys.readouterr().err
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert main(["status", "--provider", "cuda"]) == 2
    assert "no CUDA provider" in capsys.readouterr().err


def test_the_gui_takes_the_same_option():
    assert build_parser().parse_args(["gui", "--provider", "cuda"]).provider == "cuda"
