"""Ruff over the whole tree with the project's own settings (pyproject.toml): no finding."""

from __future__ import annotations

import subprocess

from tests.support import tools


def ruff(*args: str, cwd=tools.REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([tools.find_tool("ruff", ".venv"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_ruff_finds_nothing_in_the_project():
    result = ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_with_the_projects_settings_reports_an_unused_import(tmp_path):
    # The same settings on a file with one finding: the check above can fail.
    (tmp_path / "pyproject.toml").write_text((tools.REPO_ROOT / "pyproject.toml").read_text())
    (tmp_path / "module.py").write_text("import os\n")
    result = ruff("check", "--output-format", "concise", ".", cwd=tmp_path)
    assert result.returncode == 1 and "F401" in result.stdout


def test_ruff_with_the_projects_settings_caps_a_functions_complexity_at_15(tmp_path):
    (tmp_path / "pyproject.toml").write_text((tools.REPO_ROOT / "pyproject.toml").read_text())
    branches = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(15))
    (tmp_path / "module.py").write_text(f"def sixteen_paths(x):\n{branches}    return -1\n")
    result = ruff("check", "--output-format", "concise", ".", cwd=tmp_path)
    assert result.returncode == 1 and "C901 `sixteen_paths` is too complex (16 > 15)" in result.stdout
