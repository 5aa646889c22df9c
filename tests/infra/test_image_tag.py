"""The image tag follows everything docker reads for the build, and nothing a checkout adds.

ECR's tags are immutable: a change docker sees but the tag misses rebuilds under a tag ECR
already holds, and the push is refused; a difference the tag sees but docker ignores (a file
mode under another umask) makes one commit two images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components.image import content_tag, sent_files
from ops.offline import harness
from ops.offline.stacks import evaluate_stack

PLATFORM = "linux/amd64"
GOLDEN_TAG = "24df891eaf3d2d83"


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "app.py").write_text("print('hello')\n")
    (tmp_path / "requirements.txt").write_text("flask==3.1.3\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("notes/\n*.md\n**/__pycache__\n")
    return tmp_path


def tag(context: Path, **kwargs) -> str:
    return content_tag(context, kwargs.pop("platform", PLATFORM), **kwargs)


def test_the_same_sources_give_the_same_tag(context):
    assert tag(context) == tag(context)


def test_the_tag_does_not_depend_on_the_order_the_file_system_lists_files(context, monkeypatch):
    # Directory order differs between file systems and checkouts: the same files in another
    # listing order are the same build context.
    (context / "backend" / "a.py").write_text("a = 1\n")
    (context / "backend" / "z.py").write_text("z = 1\n")
    listed_order = tag(context)
    listing = Path.rglob
    monkeypatch.setattr(Path, "rglob", lambda self, pattern: reversed(list(listing(self, pattern))))
    assert tag(context) == listed_order


def test_the_files_sent_are_listed_in_sorted_order(context, monkeypatch):
    listing = Path.rglob
    monkeypatch.setattr(Path, "rglob", lambda self, pattern: reversed(sorted(listing(self, pattern))))
    assert sent_files(context) == [".dockerignore", "Dockerfile", "backend/app.py", "requirements.txt"]


def test_the_order_build_arguments_are_given_in_does_not_change_the_tag(context):
    forward = {"A_ARG": "1", "B_ARG": "2"}
    assert tag(context, build_args=forward) == tag(context, build_args=dict(reversed(forward.items())))


def test_a_changed_source_file_gives_a_new_tag(context):
    before = tag(context)
    (context / "backend" / "app.py").write_text("print('changed')\n")
    assert tag(context) != before


def test_a_renamed_file_gives_a_new_tag(context):
    before = tag(context)
    (context / "backend" / "app.py").rename(context / "backend" / "main.py")
    assert tag(context) != before


def test_a_changed_dockerfile_gives_a_new_tag(context):
    before = tag(context)
    (context / "Dockerfile").write_text("FROM scratch\nUSER 10001\n")
    assert tag(context) != before


def test_a_changed_dockerfile_gives_a_new_tag_even_when_the_dockerignore_excludes_it(context):
    # app/.dockerignore starts with `*`; docker still reads the Dockerfile.
    (context / ".dockerignore").write_text("*\n!backend/\n")
    before = tag(context)
    (context / "Dockerfile").write_text("FROM scratch\nUSER 10001\n")
    assert tag(context) != before


def test_a_changed_dockerignore_gives_a_new_tag_even_when_it_excludes_itself(context):
    (context / ".dockerignore").write_text("*\n!backend/\n")
    before = tag(context)
    (context / ".dockerignore").write_text("*\n!backend/\n!requirements.txt\n")
    assert tag(context) != before


def test_another_platform_gives_a_new_tag(context):
    assert tag(context, platform="linux/arm64") != tag(context, platform="linux/amd64")


def test_another_build_argument_gives_a_new_tag(context):
    base = {"PYTHON_IMAGE": "python:3.11.14-slim-bookworm"}
    assert tag(context, build_args=base) != tag(context)
    assert tag(context, build_args=base) != tag(context, build_args={"PYTHON_IMAGE": "python:3.12-slim"})


def test_files_the_dockerignore_excludes_do_not_change_the_tag(context):
    before = tag(context)
    (context / "notes").mkdir()
    (context / "notes" / "todo.txt").write_text("later\n")
    (context / "README.md").write_text("# docs\n")
    (context / "backend" / "__pycache__").mkdir()
    (context / "backend" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    assert tag(context) == before


def test_a_root_anchored_pattern_does_not_exclude_nested_files_docker_would_send(context):
    # docker's `*.md` matches only at the context root; a nested one is sent, so it must count.
    before = tag(context)
    (context / "backend" / "NOTES.md").write_text("sent to docker\n")
    assert tag(context) != before


def test_an_exception_pattern_brings_a_file_back_into_the_tag(context):
    (context / ".dockerignore").write_text("*\n!backend/\n")
    before = tag(context)
    (context / "backend" / "app.py").write_text("print('changed')\n")
    (context / "ignored.txt").write_text("not sent\n")
    assert tag(context) != before
    after = tag(context)
    (context / "ignored.txt").write_text("still not sent\n")
    assert tag(context) == after


def test_a_double_star_pattern_also_matches_at_the_context_root(context):
    # docker: `**/` may match no directory at all, so `**/__pycache__` excludes ./__pycache__ too.
    (context / "__pycache__").mkdir()
    (context / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert "__pycache__/x.pyc" not in sent_files(context)


def test_a_character_class_pattern_excludes_what_docker_excludes(context):
    # docker passes `[...]` through as a character class: app/.dockerignore's `**/*.py[co]`.
    (context / ".dockerignore").write_text("**/*.py[co]\n")
    (context / "backend" / "old.pyc").write_bytes(b"\0")
    (context / "backend" / "old.pyo").write_bytes(b"\0")
    assert [f for f in sent_files(context) if f.startswith("backend/")] == ["backend/app.py"]


def test_group_and_other_permission_bits_do_not_change_the_tag(context):
    # Another umask (002 instead of 022) is the same commit: git records no such bits.
    before = tag(context)
    for path in (context / "backend" / "app.py", context / "requirements.txt", context / "Dockerfile"):
        path.chmod(0o664)
    assert tag(context) == before


def test_the_executable_bit_changes_the_tag(context):
    # git records it, and it changes what the image can run.
    before = tag(context)
    (context / "backend" / "app.py").chmod(0o755)
    assert tag(context) != before


def test_the_tag_is_sixteen_hex_characters(context):
    value = tag(context)
    assert len(value) == 16 and int(value, 16) >= 0


def test_the_files_sent_from_app_are_exactly_what_the_image_runs():
    # Only what runs goes in: requirements, the gunicorn config and the backend package.
    tracked = subprocess.run(
        ["git", "ls-files", "app"], cwd=harness.PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    expected = sorted(
        os.path.relpath(f, "app") for f in tracked
        if f.startswith("app/backend/") or f in ("app/requirements.txt", "app/gunicorn.conf.py")
    )
    assert sent_files(harness.PROJECT_DIR / "app") == expected


def test_a_changed_symlink_target_gives_a_new_tag(context):
    # docker sends a symlink as a link: its target is what the image gets, not the file's bytes.
    (context / "backend" / "other.py").write_text("print('other')\n")
    (context / "backend" / "current.py").symlink_to("app.py")
    before = tag(context)
    (context / "backend" / "current.py").unlink()
    (context / "backend" / "current.py").symlink_to("other.py")
    assert tag(context) != before


def test_a_pattern_docker_cannot_read_stops_the_program_naming_it(context):
    (context / ".dockerignore").write_text("backend/[\n")
    with pytest.raises(ValueError, match=r"\.dockerignore: docker cannot read the pattern 'backend/\['"):
        sent_files(context)


def test_the_tag_of_a_known_context_never_changes_silently(context):
    # ECR holds images under these tags: a change to what or how the tag hashes must change every
    # tag (components/image.py's _TAG_SCHEME), never give an old tag to new content. Update this
    # value only together with the scheme.
    assert tag(context) == GOLDEN_TAG


def test_an_absolute_build_context_is_refused(tmp_path):
    # An absolute path is stored in state and differs in every checkout: every run would rebuild.
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    copy = tmp_path / "project"
    shutil.copytree(harness.PROJECT_DIR, copy, ignore=shutil.ignore_patterns(".git", ".venv*", "mutants", "tests"))
    source = (copy / "__main__.py").read_text()
    assert 'APP_CONTEXT = "app"' in source
    (copy / "__main__.py").write_text(source.replace('APP_CONTEXT = "app"', f'APP_CONTEXT = {str(tmp_path)!r}'))
    with pytest.raises(harness.ProgramFailed, match="must be relative to the project directory"):
        evaluate_stack("dev", project_dir=copy)


def test_a_comment_line_in_the_dockerignore_excludes_nothing(context):
    # docker reads `# notes` as a comment, not a pattern: a file of that name is still sent.
    (context / ".dockerignore").write_text("# notes\n\n")
    (context / "# notes").write_text("sent to docker\n")
    before = tag(context)
    (context / "# notes").write_text("changed, and still sent\n")
    assert tag(context) != before
