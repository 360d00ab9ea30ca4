"""A stand-in for the trainer's interpreter: a script the training controller runs instead of
Python, so the app's side of the protocol is tested where torch is not installed.

The controller runs `PYTHON -c PROBE` to check the trainer and `PYTHON -m trainer.cli
finetune ...` to train; the script runs `probe` or `train` (Python source, with `emit(**event)`
printing one protocol line and `arguments` those after `finetune`).
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

NO_TORCH = "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')"
CPU_ONLY = "print('False')"

_SCRIPT = """#!{python}
import json, os, sys, time

def emit(**event):
    print(json.dumps(event), flush=True)

if sys.argv[1] == "-c":
{probe}
else:
    assert sys.argv[1:4] == ["-m", "trainer.cli", "finetune"], sys.argv
    arguments = sys.argv[4:]
{train}
"""


def fake_python(folder: Path, *, probe: str = CPU_ONLY, train: str = "pass") -> str:
    """The path of an executable script that acts as the trainer's interpreter."""
    path = folder / "fake-python"
    path.write_text(
        _SCRIPT.format(
            python=sys.executable,
            probe=textwrap.indent(textwrap.dedent(probe), "    "),
            train=textwrap.indent(textwrap.dedent(train), "    "),
        )
    )
    os.chmod(path, 0o755)
    return str(path)
