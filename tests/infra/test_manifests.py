"""What each stack would send to Kubernetes, held against the official schemas of its version."""

from __future__ import annotations

import json
import subprocess

import kubernetes_validate
import pytest
import yaml

from ops.offline.manifests import manifests
from ops.render import render
from tests.support.tools import find_tool

PREFIX = "backend-on-eks:"


@pytest.fixture(params=["dev", "prod"])
def stack(request):
    return request.getfixturevalue(request.param)


def test_each_stack_renders_its_namespace_deployment_service_budget_and_network_policy(stack):
    namespace = stack.exports["namespace"]
    backend = [m["kind"] for m in manifests(stack) if m["metadata"].get("namespace") == namespace
               or (m["kind"] == "Namespace" and m["metadata"]["name"] == namespace)]
    assert sorted(backend) == sorted([
        "Deployment", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "Service",
        *(["HorizontalPodAutoscaler"] if stack.stack == "prod" else []),
        # The stack readers' Secret rights in the stack's own namespace (components/stack_readers.py).
        "Role", "RoleBinding",
    ])


def test_every_manifest_is_valid_under_the_strict_schema_of_the_stacks_kubernetes_version(stack):
    version = stack.config[PREFIX + "kubernetesVersion"]
    for manifest in manifests(stack):
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_schema_check_rejects_a_field_kubernetes_does_not_know(dev):
    deployment = next(m for m in manifests(dev) if m["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.33", strict=True)


def backend(stack, kind: str) -> dict:
    """The backend's manifest of `kind` (the node autoscaler brings its own Deployment)."""
    return next(m for m in manifests(stack) if m["kind"] == kind
                and m["metadata"].get("namespace") == stack.exports["namespace"])


def test_probe_ports_name_a_port_the_container_declares(stack):
    deployment = backend(stack, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {port["name"] for port in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in port_names, probe


def test_the_service_targets_a_port_the_container_listens_on(stack):
    deployment = backend(stack, "Deployment")
    service = backend(stack, "Service")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    container_ports = {port["containerPort"] for port in container["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= container_ports


def test_the_node_port_is_within_the_default_node_port_range(stack):
    service = next(m for m in manifests(stack) if m["kind"] == "Service")
    assert all(30000 <= port["nodePort"] <= 32767 for port in service["spec"]["ports"])


CLUSTER_SCOPED = ("Namespace", "ClusterRole", "ClusterRoleBinding")


def test_every_namespaced_object_lives_in_the_managed_namespace_or_is_the_node_autoscalers(stack):
    namespace = next(m for m in manifests(stack) if m["kind"] == "Namespace")["metadata"]["name"]
    for manifest in manifests(stack):
        if manifest["kind"] in CLUSTER_SCOPED:
            continue
        metadata = manifest["metadata"]
        # In kube-system: the node autoscaler's objects, and the stack readers' right to read its roles.
        assert metadata["namespace"] == namespace or (
            metadata["namespace"] == "kube-system"
            and metadata["name"] in ("cluster-autoscaler", "backend-on-eks-stack-reader")), manifest["kind"]


def checkov(directory) -> tuple[int, dict]:
    """checkov's Kubernetes checks over every manifest in `directory`: exit code and JSON report."""
    proc = subprocess.run(
        [find_tool("checkov", ".venv-tools"), "--directory", str(directory), "--framework", "kubernetes",
         "--skip-download", "--output", "json", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_checkov_finds_no_failing_kubernetes_check_in_either_stack(tmp_path):
    for stack in ("dev", "prod"):
        (tmp_path / f"{stack}.yaml").write_text(render(stack))
    returncode, report = checkov(tmp_path)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 80  # it really looked at both stacks' objects
    assert returncode == 0


def test_checkov_flags_a_container_that_may_escalate_privileges(tmp_path, dev):
    objects = manifests(dev)
    deployment = next(m for m in objects if m["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump_all(objects))
    _, report = checkov(tmp_path)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert "CKV_K8S_20" in failed


def test_the_disruption_budget_never_blocks_every_eviction(stack):
    objects = manifests(stack)
    # With an autoscaler the Deployment leaves its count to it: the fewest pods there are is its minimum.
    autoscaler = next((m for m in objects if m["kind"] == "HorizontalPodAutoscaler"), None)
    replicas = (autoscaler["spec"]["minReplicas"] if autoscaler
                else next(m for m in objects if m["kind"] == "Deployment")["spec"]["replicas"])
    budget = next(m for m in objects if m["kind"] == "PodDisruptionBudget")["spec"]
    if "maxUnavailable" in budget:
        assert budget["maxUnavailable"] >= 1
    else:
        assert budget["minAvailable"] < replicas
