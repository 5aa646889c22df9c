"""Fixtures that run `python -m ops verify` in-process against the fake Kubernetes API."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from ops.__main__ import main
from tests.ops.cluster_state import REPOSITORY_URL, STACK_DIGEST, Scenario
from tests.ops.fake_kube_api import FakeKubeApi


def stack_outputs(api: FakeKubeApi, **overrides: object) -> dict:
    """Outputs as `pulumi stack output --json --show-secrets` prints them for this fake cluster."""
    scenario = api.scenario
    outputs = {
        "clusterName": "backend-eks",
        "region": "us-west-2",
        "kubeconfig": json.dumps(api.kubeconfig()),
        "repositoryUrl": REPOSITORY_URL,
        "imageRef": f"{REPOSITORY_URL}@{STACK_DIGEST}",
        "namespace": scenario.namespace,
        "deploymentName": scenario.deployment_name,
        "serviceName": scenario.service_name,
        "nodePort": scenario.node_port,
        "containerPort": scenario.container_port,
        "updateKubeconfigCommand": "aws eks update-kubeconfig --name backend-eks --region us-west-2",
        "portForwardCommand": f"kubectl -n {scenario.namespace} port-forward svc/{scenario.service_name} 8080:80",
    }
    outputs.update(overrides)
    return {key: value for key, value in outputs.items() if value is not None}


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def failures(self) -> list[str]:
        """The one-line reasons listed under the FAILED verdict."""
        _, _, tail = self.out.partition("RESULT: FAILED")
        return [line.strip()[2:] for line in tail.splitlines() if line.strip().startswith("- ")]


@pytest.fixture
def kube_api():
    """Start a fake API server; a test tunes `kube_api.scenario` before running verify."""
    with FakeKubeApi(Scenario()) as api:
        yield api


@pytest.fixture
def run_verify(tmp_path, capsys):
    def run(outputs: dict, *args: str) -> Run:
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        code = main(
            ["verify", "--outputs-file", str(path), "--timeout", "2", "--poll-interval", "0.05", *args]
        )
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
