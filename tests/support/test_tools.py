"""A check tool that is missing fails the run on CI and only skips its tests elsewhere.

CI runs `.ci/run` with CI=true after installing every tool: a missing one there means the
install step broke, and a skip would turn the checkov and actionlint tests into silent passes.
"""

from __future__ import annotations

import pytest

from tests.support import tools


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """A checkout without the tools' venv, and a PATH that holds nothing."""
    monkeypatch.setattr(tools, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


def outcome_of_finding_checkov() -> type[BaseException]:
    # Caught either way: an uncaught skip would make the test itself skip instead of failing.
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception), match="checkov is not installed") as caught:
        tools.find_tool("checkov", ".venv-tools")
    return caught.type


def test_a_missing_tool_fails_the_test_under_ci(nowhere, monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert outcome_of_finding_checkov() is pytest.fail.Exception


def test_a_missing_tool_skips_the_test_outside_ci(nowhere, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert outcome_of_finding_checkov() is pytest.skip.Exception


def test_the_tool_in_the_repos_venv_is_preferred_to_one_on_path(monkeypatch, tmp_path):
    in_venv = tmp_path / ".venv-tools" / "bin" / "checkov"
    on_path = tmp_path / "bin" / "checkov"
    for tool in (in_venv, on_path):
        tool.parent.mkdir(parents=True)
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    monkeypatch.setattr(tools, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert tools.find_tool("checkov", ".venv-tools") == str(in_venv)
    in_venv.unlink()
    assert tools.find_tool("checkov", ".venv-tools") == str(on_path)
