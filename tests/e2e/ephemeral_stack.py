"""Lifecycle of the e2e test's throwaway stack: a private copy of the project, and a teardown that
never loses track of billed resources."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Source the image build copies (COPY backend/ in app/Dockerfile): editing it changes the digest.
APP_SOURCE = Path("app") / "backend" / "__init__.py"
_NOT_COPIED = (".git", ".venv*", "build", "__pycache__", ".pytest_cache", ".hypothesis")


def log(line: str) -> None:
    """Pulumi's progress lines, to stderr so `pytest -s` shows a long deployment as it goes."""
    print(line, end="" if line.endswith("\n") else "\n", file=sys.stderr)


def copy_project(destination: Path, source: Path = REPO_ROOT) -> Path:
    """The repository minus VCS and caches; the virtualenv is linked, not copied (hundreds of MB)."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    if (source / ".venv").is_dir():
        (destination / ".venv").symlink_to(source / ".venv", target_is_directory=True)
    return destination


def mark_app_changed(work_dir: Path, marker: str) -> None:
    """Change the app's source without changing its behaviour, so only the image digest moves."""
    source = work_dir / APP_SOURCE
    source.write_text(source.read_text() + f"\n# e2e rollout marker {marker}\n")


def tear_down(stack, name: str) -> None:
    """Destroy, then remove the stack; if destroy fails, keep the stack and say how to finish."""
    try:
        stack.destroy(on_output=log)
    except Exception as error:
        # Removing the stack now would lose track of what still runs (and bills).
        raise RuntimeError(
            f"destroying stack {name} failed, its resources remain; from {REPO_ROOT} run "
            f"`pulumi destroy --stack {name}` then `pulumi stack rm {name}`"
        ) from error
    stack.workspace.remove_stack(name)
