"""The desktop app runs where torch cannot be imported (README, "Layout"), and the window's
controllers run without widgets. (import-linter keeps the layers; these run the imports.)"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

BLOCK_TORCH = """
import importlib.abc, sys

class BlockTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'timm', 'torchvision', 'trainer'):
            raise ImportError(f'{name} is blocked in this test')
        return None

sys.meta_path.insert(0, BlockTorch())
"""


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TORCH + code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_blocker_really_blocks_torch():
    result = run_without_torch("import torch")
    assert result.returncode != 0 and "blocked in this test" in result.stderr


def test_core_ui_and_cli_help_work_without_torch():
    code = """
import pkgutil, importlib
import desktop, desktop.core, desktop.ui, desktop.cli
names = [
    module.name
    for package in (desktop.core, desktop.ui, desktop.cli)
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.')
]
assert 'desktop.ui.controllers.search' in names  # subpackages too
for name in names:
    importlib.import_module(name)
from desktop.main import main
main(['--help'])
"""
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr
    assert "usage: photo-search" in result.stdout


def test_controllers_need_no_widgets():
    code = """
import importlib, pkgutil, sys
import desktop.ui.controllers as controllers
names = [m.name for m in pkgutil.iter_modules(controllers.__path__, 'desktop.ui.controllers.')]
for name in names:
    importlib.import_module(name)
assert len(names) >= 4, names
assert 'PySide6.QtWidgets' not in sys.modules, 'a controller imports widgets'
"""
    result = run_without_torch(code)
    assert result.returncode == 0, result.stderr
