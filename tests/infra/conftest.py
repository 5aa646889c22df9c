from __future__ import annotations

from typing import Any

import pytest

from tests.infra import harness
from tests.infra.fakes import INVOKE_FAKES, RESOURCE_FAKES


def evaluate_stack(stack: str, overrides: dict[str, Any] | None = None, **kwargs) -> harness.Evaluation:
    values = {**harness.stack_file_config(stack), **(overrides or {})}
    return harness.evaluate(stack, values, RESOURCE_FAKES, INVOKE_FAKES, **kwargs)


@pytest.fixture(scope="session")
def dev() -> harness.Evaluation:
    return evaluate_stack("dev")


@pytest.fixture(scope="session")
def prod() -> harness.Evaluation:
    return evaluate_stack("prod")
