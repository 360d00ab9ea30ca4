"""`photo-search self-test` from source; the frozen bundle's run is in tests/packaging."""

from __future__ import annotations

import json
import subprocess
import sys

from desktop import self_test
from desktop.core import model_provisioning


def test_self_test_passes_every_check_and_prints_one_json_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "desktop", "self-test"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["self_test"] == "passed" and report["frozen"] is False
    assert report["passed"] == [name for name, _ in self_test.SelfTest(tmp_path).checks()]
    assert report["image_formats"] == ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF"]
    assert report["photos_indexed"] == 6 and report["top_score"] >= 0.99


def test_a_missing_template_fails_the_check_that_needs_it_and_names_it(qapp, tmp_path, monkeypatch):
    missing = tmp_path / "templates" / "missing.onnx"
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(model_provisioning, "template_path", lambda model: missing)
    report = self_test.run_self_test()
    assert report["self_test"] == "failed"
    assert report["failed"] == "model_catalog"
    assert str(missing) in report["error"]
    assert report["passed"] == ["qt_platform", "image_formats", "icon"]


def test_the_command_exits_1_when_a_check_fails(qapp, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(model_provisioning, "template_path", lambda model: tmp_path / "none")
    assert self_test.cmd_self_test(None) == 1
    assert json.loads(capsys.readouterr().out)["failed"] == "model_catalog"
