"""Static checks of app/Dockerfile: fast, no container tools needed."""

from __future__ import annotations

import re
import subprocess


from tests.support.tools import find_tool
from tools.container.buildenv import DOCKERFILE


def test_hadolint_finds_nothing():
    hadolint = find_tool("hadolint", ".venv")
    proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_checkov_dockerfile_checks_pass():
    checkov = find_tool("checkov", ".venv-tools")
    proc = subprocess.run(
        [checkov, "--file", str(DOCKERFILE), "--framework", "dockerfile", "--compact",
         "--quiet", "--skip-download", "--output", "cli"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed checks:" in proc.stdout


def test_every_checkov_skip_gives_a_reason():
    skips = re.findall(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?", DOCKERFILE.read_text())
    assert skips, "the Dockerfile carries checkov skips; this test must see them"
    assert [check for check, reason in skips if len(reason.strip()) < 20] == []


def test_default_base_is_an_exact_patch_tag_of_python_slim_bookworm():
    # An exact patch tag (or digest) keeps the build reproducible; bookworm keeps the
    # official base's Python minor equal to Debian's, which the tests' substitute uses.
    default = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert default, "the base must be the PYTHON_IMAGE build argument"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?",
                        default.group(1))


def test_every_stage_is_built_from_the_base_argument():
    # Both stages must share one interpreter: the venv is copied between them.
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert froms == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
