"""Locating the command-line check tools that .ci/run installs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_tool(name: str, venv: str) -> str:
    """The tool in the repo's venv for it, else on PATH; missing is a failure on CI, a skip elsewhere."""
    candidate = REPO_ROOT / venv / "bin" / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed ({venv}/bin/{name} or PATH); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found
