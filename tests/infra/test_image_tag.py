"""The image tag follows the build context docker would send, file for file."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.image import content_tag


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "app.py").write_text("print('hello')\n")
    (tmp_path / "requirements.txt").write_text("flask==3.1.3\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / ".dockerignore").write_text("notes/\n*.md\n**/__pycache__\n")
    return tmp_path


def test_the_same_sources_give_the_same_tag(context):
    assert content_tag(context) == content_tag(context)


def test_a_changed_source_file_gives_a_new_tag(context):
    before = content_tag(context)
    (context / "backend" / "app.py").write_text("print('changed')\n")
    assert content_tag(context) != before


def test_a_renamed_file_gives_a_new_tag(context):
    before = content_tag(context)
    (context / "backend" / "app.py").rename(context / "backend" / "main.py")
    assert content_tag(context) != before


def test_a_changed_dockerfile_gives_a_new_tag(context):
    before = content_tag(context)
    (context / "Dockerfile").write_text("FROM scratch\nUSER 10001\n")
    assert content_tag(context) != before


def test_files_the_dockerignore_excludes_do_not_change_the_tag(context):
    before = content_tag(context)
    (context / "notes").mkdir()
    (context / "notes" / "todo.txt").write_text("later\n")
    (context / "README.md").write_text("# docs\n")
    (context / "backend" / "__pycache__").mkdir()
    (context / "backend" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    assert content_tag(context) == before


def test_a_root_anchored_pattern_does_not_exclude_nested_files_docker_would_send(context):
    # docker's `*.md` matches only at the context root; a nested one is sent, so it must count.
    before = content_tag(context)
    (context / "backend" / "NOTES.md").write_text("sent to docker\n")
    assert content_tag(context) != before


def test_an_exception_pattern_brings_a_file_back_into_the_tag(context):
    (context / ".dockerignore").write_text("*\n!backend/\n")
    before = content_tag(context)
    (context / "backend" / "app.py").write_text("print('changed')\n")
    (context / "ignored.txt").write_text("not sent\n")
    assert content_tag(context) != before
    after = content_tag(context)
    (context / "ignored.txt").write_text("still not sent\n")
    assert content_tag(context) == after


def test_the_tag_is_sixteen_hex_characters(context):
    tag = content_tag(context)
    assert len(tag) == 16 and int(tag, 16) >= 0
