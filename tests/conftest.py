"""Fixtures shared across suites: each stack's program evaluated once per session, under mocks."""

from __future__ import annotations

import pytest

import eks_versions
from ops.offline import harness
from ops.offline.stacks import evaluate_app_change_preview, evaluate_stack
from tests.support.clock import SUITE_TODAY


_CLOCK = pytest.MonkeyPatch()


def pytest_configure(config):
    """From collection on, the one clock of the program (`eks_versions.utc_today`, which
    `settings.load` and the harness ask when no `today` is given) answers the suite's date."""
    _CLOCK.setattr(eks_versions, "utc_today", lambda: SUITE_TODAY)


def pytest_unconfigure(config):
    _CLOCK.undo()


@pytest.fixture(scope="session")
def dev() -> harness.Evaluation:
    return evaluate_stack("dev")


@pytest.fixture(scope="session")
def prod() -> harness.Evaluation:
    return evaluate_stack("prod")


@pytest.fixture(scope="session")
def prod_node_port() -> harness.Evaluation:
    """prod as the tutorial exposes it: no load balancer, the nodePort open to the clients' networks."""
    return evaluate_stack("prod", {"backend-on-eks:exposure": "nodePort",
                                   "backend-on-eks:nodePortIngressCidrs": ["0.0.0.0/0"]})


@pytest.fixture(scope="session")
def dev_preview() -> harness.Evaluation:
    """`pulumi preview` of dev as a new stack: nothing exists yet."""
    return evaluate_stack("dev", preview=True)


@pytest.fixture(scope="session")
def prod_preview() -> harness.Evaluation:
    return evaluate_stack("prod", preview=True)


@pytest.fixture(scope="session")
def dev_pr_preview() -> harness.Evaluation:
    """A pull request's `pulumi preview` of dev, deployed already, when app/ changed."""
    return evaluate_app_change_preview("dev")


@pytest.fixture(scope="session")
def prod_pr_preview() -> harness.Evaluation:
    return evaluate_app_change_preview("prod")
