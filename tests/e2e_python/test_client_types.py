"""The client package is typed throughout (it ships py.typed): mypy --strict passes on it
as installed, generated stubs included, and on the README's example that uses it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cfsupport import REPO

CONFIG = REPO / "clients" / "python" / "pyproject.toml"


@pytest.mark.parametrize(
    "target",
    [["-p", "complaintflow"], [str(REPO / "examples" / "walkthrough.py")]],
    ids=["package", "walkthrough"],
)
def test_mypy_strict_passes(tmp_path, target):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(CONFIG), "--cache-dir", str(tmp_path), *target],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # so that -p finds the installed package, not a source tree
    )
    assert result.returncode == 0, result.stdout + result.stderr
