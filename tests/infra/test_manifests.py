"""What each stack would send to Kubernetes, held against the official schemas of its version."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.infra.manifests import manifests

PREFIX = "backend-on-eks:"


@pytest.fixture(params=["dev", "prod"])
def stack(request):
    return request.getfixturevalue(request.param)


def test_each_stack_renders_a_namespace_deployment_service_and_disruption_budget(stack):
    assert [m["kind"] for m in manifests(stack)] == ["Deployment", "Namespace", "PodDisruptionBudget", "Service"]


def test_every_manifest_is_valid_under_the_strict_schema_of_the_stacks_kubernetes_version(stack):
    version = stack.config[PREFIX + "kubernetesVersion"]
    for manifest in manifests(stack):
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_schema_check_rejects_a_field_kubernetes_does_not_know(dev):
    deployment = next(m for m in manifests(dev) if m["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.33", strict=True)


def test_probe_ports_name_a_port_the_container_declares(stack):
    deployment = next(m for m in manifests(stack) if m["kind"] == "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {port["name"] for port in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in port_names, probe


def test_the_service_targets_a_port_the_container_listens_on(stack):
    deployment = next(m for m in manifests(stack) if m["kind"] == "Deployment")
    service = next(m for m in manifests(stack) if m["kind"] == "Service")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    container_ports = {port["containerPort"] for port in container["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= container_ports


def test_the_node_port_is_within_the_default_node_port_range(stack):
    service = next(m for m in manifests(stack) if m["kind"] == "Service")
    assert all(30000 <= port["nodePort"] <= 32767 for port in service["spec"]["ports"])


def test_every_namespaced_object_lives_in_the_managed_namespace(stack):
    namespace = next(m for m in manifests(stack) if m["kind"] == "Namespace")["metadata"]["name"]
    for manifest in manifests(stack):
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"]["namespace"] == namespace, manifest["kind"]
