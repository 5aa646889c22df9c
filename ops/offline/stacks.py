"""Each stack of the repository, evaluated under mocks with the standard fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ops.offline import harness
from ops.offline.fakes import INVOKE_FAKES, PREVIEW_FAKES, RESOURCE_FAKES

IMAGE = "docker:index/image:Image"


def evaluate_stack(
    stack: str,
    overrides: dict[str, Any] | None = None,
    project_dir: Path = harness.PROJECT_DIR,
    **kwargs,
) -> harness.Evaluation:
    """`harness.evaluate` for a stack file of the repository; `preview=True` previews a new stack
    (and `deployed=...` one that exists), `caller_arn=` and `existing_clusters=` set who runs it
    and which EKS clusters the account already has."""
    values = {**harness.stack_file_config(stack, project_dir), **(overrides or {})}
    kwargs.setdefault("preview_fakes", PREVIEW_FAKES)
    return harness.evaluate(stack, values, RESOURCE_FAKES, INVOKE_FAKES, project_dir=project_dir, **kwargs)


def evaluate_app_change_preview(stack: str, overrides: dict[str, Any] | None = None, **kwargs) -> harness.Evaluation:
    """`pulumi preview` of a stack already up, for a change to app/ alone (the usual pull request):
    every resource exists unchanged but the image, whose new content tag makes pulumi-docker
    rebuild it in preview."""
    return evaluate_stack(stack, overrides, preview=True, deployed=lambda type_: type_ != IMAGE, **kwargs)
