"""Fixtures shared across suites: each stack's program evaluated once per session, under mocks."""

from __future__ import annotations

import pytest

from ops.offline import harness
from ops.offline.stacks import evaluate_stack


@pytest.fixture(scope="session")
def dev() -> harness.Evaluation:
    return evaluate_stack("dev")


@pytest.fixture(scope="session")
def prod() -> harness.Evaluation:
    return evaluate_stack("prod")
