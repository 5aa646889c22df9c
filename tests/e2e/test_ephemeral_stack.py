"""The e2e stack's lifecycle helpers, which run offline: they decide what a failed run leaves behind."""

from __future__ import annotations

import pytest

from tests.e2e.ephemeral_stack import APP_SOURCE, REPO_ROOT, copy_project, mark_app_changed, tear_down


class RecordingStack:
    """Records the Automation API calls tear_down makes; `destroy_error` makes destroy fail."""

    def __init__(self, destroy_error: Exception | None = None):
        self.calls: list[str] = []
        self.destroy_error = destroy_error
        self.workspace = self

    def destroy(self, on_output=None) -> None:
        self.calls.append("destroy")
        if self.destroy_error:
            raise self.destroy_error

    def remove_stack(self, name: str) -> None:
        self.calls.append(f"remove_stack {name}")


def test_tear_down_destroys_then_removes_the_stack():
    stack = RecordingStack()

    tear_down(stack, "e2e-1234abcd")

    assert stack.calls == ["destroy", "remove_stack e2e-1234abcd"]


def test_a_failed_destroy_keeps_the_stack_and_says_how_to_finish():
    stack = RecordingStack(destroy_error=RuntimeError("DependencyViolation"))

    with pytest.raises(RuntimeError, match=r"pulumi destroy --stack e2e-1234abcd.*pulumi stack rm e2e-1234abcd"):
        tear_down(stack, "e2e-1234abcd")

    assert stack.calls == ["destroy"]


def test_the_app_source_the_rollout_test_edits_exists():
    assert (REPO_ROOT / APP_SOURCE).is_file()


def test_project_copy_leaves_out_git_and_other_venvs_and_links_the_project_venv(tmp_path):
    source = tmp_path / "repo"
    (source / ".git").mkdir(parents=True)
    (source / ".venv" / "bin").mkdir(parents=True)
    (source / ".venv-tools").mkdir()
    (source / "app").mkdir()
    (source / "app" / "main.py").write_text("x = 1\n")

    copy = copy_project(tmp_path / "copy", source=source)

    assert (copy / "app" / "main.py").read_text() == "x = 1\n"
    assert not (copy / ".git").exists() and not (copy / ".venv-tools").exists()
    assert (copy / ".venv").is_symlink() and (copy / ".venv").resolve() == (source / ".venv").resolve()


def test_marking_the_app_changed_appends_a_comment_to_the_app_source(tmp_path):
    source = tmp_path / APP_SOURCE
    source.parent.mkdir(parents=True)
    source.write_text('"""The backend."""\n')

    mark_app_changed(tmp_path, "abc123")

    assert source.read_text() == '"""The backend."""\n\n# e2e rollout marker abc123\n'
