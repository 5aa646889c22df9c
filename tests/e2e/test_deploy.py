"""End to end on a real AWS account: deploy an ephemeral stack, verify it, roll a change, tear down.

Opt-in and billed (an EKS cluster for ~30 minutes): runs only with PULUMI_E2E=1, the pulumi
and aws CLIs and AWS credentials; otherwise every test here is skipped naming what is missing.
    PULUMI_E2E=1 .venv/bin/python -m pytest -m e2e -s

The stack works on a temporary copy of the repository, so changing the app for the rollout test
never touches the working tree, and the stack is destroyed and removed even when a test fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops.cluster import Cluster
from ops.endpoint import DirectEndpoint, ProxyEndpoint, check_contents
from ops.outputs import StackOutputs
from ops.verify import Options, Report, verify
from tests.e2e.ephemeral_stack import copy_project, log, mark_app_changed, tear_down
from tests.e2e.preconditions import missing_preconditions, skip_reason

pytestmark = pytest.mark.e2e

# Pulumi's own waits already cover most of a rollout; this bounds what is left plus image pulls.
ROLLOUT_TIMEOUT = 600.0


@dataclass
class E2EStack:
    stack: object  # pulumi.automation.Stack; imported lazily so collection works without the CLI
    name: str
    work_dir: Path


@pytest.fixture(scope="module")
def e2e_stack(tmp_path_factory):
    missing = missing_preconditions(os.environ)
    if missing:
        pytest.skip(skip_reason(missing))
    from pulumi import automation as auto

    work_dir = copy_project(tmp_path_factory.mktemp("e2e") / "project")
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    # dev's stack file copied whole keeps every value's YAML type (lists, integers) exactly, which
    # re-setting values one by one as strings would not.
    shutil.copyfile(work_dir / "Pulumi.dev.yaml", work_dir / f"Pulumi.{name}.yaml")
    stack = auto.create_stack(stack_name=name, work_dir=str(work_dir))
    try:
        # No names to set: the cluster, repository and log group are named after the stack.
        stack.up(on_output=log)
        yield E2EStack(stack, name, work_dir)
    finally:
        tear_down(stack, name)


def outputs_of(e2e: E2EStack) -> StackOutputs:
    return StackOutputs.from_mapping({key: out.value for key, out in e2e.stack.outputs().items()})


def run_verify(outputs: StackOutputs) -> Report:
    report = verify(outputs, Options(timeout=ROLLOUT_TIMEOUT, poll_interval=5), sys.stdout, sys.stderr)
    assert report.ok, "verify failed:\n" + "\n".join(report.failures)
    return report


def test_a_fresh_stack_passes_verify_on_the_image_it_built(e2e_stack):
    outputs = outputs_of(e2e_stack)

    report = run_verify(outputs)

    assert report.rollout_complete
    assert set(report.pod_digests.values()) == {outputs.image_digest}


def test_the_service_answers_contents_for_a_topic(e2e_stack):
    outputs = outputs_of(e2e_stack)
    with Cluster.from_kubeconfig(outputs.kubeconfig, outputs.namespace) as cluster:
        if outputs.service_url:
            endpoint = DirectEndpoint(outputs.service_url, timeout=30)
        else:
            service = cluster.service(outputs.service_name)
            endpoint = ProxyEndpoint(cluster, outputs.service_name, service.spec.ports[0].port, timeout=30)

        healthz = endpoint.get("healthz")
        contents = check_contents(endpoint, "kubernetes")

    assert healthz[0] == 200, healthz
    assert contents.ok, contents.detail


def test_an_app_change_rolls_the_deployment_to_the_new_digest(e2e_stack):
    before = outputs_of(e2e_stack)
    mark_app_changed(e2e_stack.work_dir, uuid.uuid4().hex)

    e2e_stack.stack.up(on_output=log)
    after = outputs_of(e2e_stack)
    report = run_verify(after)

    assert after.image_digest != before.image_digest
    assert set(report.pod_digests.values()) == {after.image_digest}


def test_a_second_up_without_changes_changes_nothing(e2e_stack):
    # expect_no_changes makes the engine itself fail the update if anything would change.
    result = e2e_stack.stack.up(on_output=log, expect_no_changes=True)

    changes = result.summary.resource_changes or {}
    assert set(changes) == {"same"}, changes
