"""Each stack of the repository, evaluated under mocks with the standard fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ops.offline import harness
from ops.offline.fakes import INVOKE_FAKES, RESOURCE_FAKES


def evaluate_stack(
    stack: str,
    overrides: dict[str, Any] | None = None,
    project_dir: Path = harness.PROJECT_DIR,
    **kwargs,
) -> harness.Evaluation:
    values = {**harness.stack_file_config(stack, project_dir), **(overrides or {})}
    return harness.evaluate(stack, values, RESOURCE_FAKES, INVOKE_FAKES, project_dir=project_dir, **kwargs)
