"""mypy over the files pyproject.toml names (the program, ops/, the policy pack, the backend): no finding."""

from __future__ import annotations

import subprocess

from tests.support import tools


def mypy(*args: str, cwd=tools.REPO_ROOT) -> subprocess.CompletedProcess:
    # The project's own interpreter, so the installed SDKs' types (pulumi, pulumi_aws...) are read.
    return subprocess.run([tools.find_tool("mypy", ".venv"), "--python-executable",
                           str(tools.REPO_ROOT / ".venv" / "bin" / "python"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def test_mypy_finds_nothing_in_the_files_the_project_names():
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_with_the_projects_settings_reports_a_none_used_as_a_string(tmp_path):
    # The same settings on a file with one finding: the check above can fail.
    settings = (tools.REPO_ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(settings)
    (tmp_path / "module.py").write_text("import os\n\n\ndef home() -> str:\n    return os.environ.get('HOME')\n")
    result = mypy("module.py", cwd=tmp_path)
    assert result.returncode == 1 and "module.py:5: error: Incompatible return value type" in result.stdout
