"""Puts a Python script on PATH as `aws`, for tests of commands that shell out to the AWS CLI.

The script reads and writes its account in the JSON file $FAKE_AWS_STATE (returned here), so a
test sets what the account holds and reads back every call the command made.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def install(tmp_path: Path, monkeypatch, script: str) -> Path:
    state = tmp_path / "account.json"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable = bin_dir / "aws"
    executable.write_text(f"#!{sys.executable}\n{script}")
    executable.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_AWS_STATE", str(state))
    return state
