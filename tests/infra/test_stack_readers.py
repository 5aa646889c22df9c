"""The stack's readers (viewerPrincipalArns: CI's preview role, drift checks) can read every
Kubernetes object the stack owns, and the program grants them nothing beyond that.

`pulumi preview --refresh` GETs each object in the state by name; a 403 on any one fails the drift
check and opens a false "Drift" issue. What a reader may do is judged here the way the API server
does: the union of AmazonEKSViewPolicy's rules (as the EKS access policy reference lists them) and
the RBAC rules the program binds to the readers' Kubernetes group.
"""

from __future__ import annotations

import pytest

import access
from components import stack_readers
from ops.offline import harness
from ops.offline.stacks import evaluate_stack

PREFIX = "backend-on-eks:"
READER = "arn:aws:iam::123456789012:role/backend-on-eks-preview"
SECRET_URL = "https://user:hunter2@search.example.com/api/v1/search"

# AmazonEKSViewPolicy (EKS User Guide, "Review access policy permissions"): (API group, resources),
# all with get, list and watch. No rbac.authorization.k8s.io object and no Secret.
VIEW_POLICY = [
    ("apps", {"controllerrevisions", "daemonsets", "deployments", "replicasets", "statefulsets"}),
    ("autoscaling", {"horizontalpodautoscalers"}),
    ("batch", {"cronjobs", "jobs"}),
    ("discovery.k8s.io", {"endpointslices"}),
    ("networking.k8s.io", {"ingresses", "networkpolicies"}),
    ("policy", {"poddisruptionbudgets"}),
    ("", {"configmaps", "endpoints", "persistentvolumeclaims", "pods", "replicationcontrollers", "serviceaccounts",
          "services", "bindings", "events", "limitranges", "resourcequotas", "namespaces"}),
]
PLURALS = {"Namespace": "namespaces", "Deployment": "deployments", "Service": "services",
           "NetworkPolicy": "networkpolicies", "PodDisruptionBudget": "poddisruptionbudgets",
           "HorizontalPodAutoscaler": "horizontalpodautoscalers", "ServiceAccount": "serviceaccounts",
           "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings", "Role": "roles",
           "RoleBinding": "rolebindings", "Secret": "secrets"}


def _objects(evaluation: harness.Evaluation) -> list[tuple[str, str, str | None, str]]:
    """(API group, resource, namespace, name) of every Kubernetes object the stack declares."""
    found = []
    for registration in evaluation.registrations:
        if not registration.type.startswith("kubernetes:") or registration.type.startswith("kubernetes:yaml"):
            continue
        group_version, kind = registration.type.removeprefix("kubernetes:").split(":")
        group = group_version.rsplit("/", 1)[0]
        metadata = registration.outputs.get("metadata") or registration.inputs.get("metadata") or {}
        found.append(("" if group == "core" else group, PLURALS[kind], metadata.get("namespace"), metadata["name"]))
    return found


def _bound_rules(evaluation: harness.Evaluation, group: str) -> list[tuple[str | None, dict]]:
    """(namespace or None for cluster-wide, rule) of every role bound to the Kubernetes group."""
    roles = {}
    for registration in evaluation.registrations:
        if registration.type in ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
                                 "kubernetes:rbac.authorization.k8s.io/v1:Role"):
            metadata = registration.inputs["metadata"]
            roles[(registration.type.rsplit(":", 1)[1], metadata.get("namespace"), metadata["name"])] = \
                registration.inputs["rules"]
    bound = []
    for registration in evaluation.registrations:
        if registration.type not in ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
                                     "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"):
            continue
        if not any(s["kind"] == "Group" and s["name"] == group for s in registration.inputs["subjects"]):
            continue
        namespace = registration.inputs["metadata"].get("namespace")
        reference = registration.inputs["roleRef"]
        role_namespace = None if reference["kind"] == "ClusterRole" else namespace
        bound += [(namespace, rule) for rule in roles[(reference["kind"], role_namespace, reference["name"])]]
    return bound


def _may_get(object_: tuple, bound: list[tuple[str | None, dict]]) -> bool:
    group, resource, namespace, name = object_
    if any(group == g and resource in resources for g, resources in VIEW_POLICY):
        return True
    return any((scope is None or scope == namespace) and group in rule["apiGroups"] and resource in rule["resources"]
               and "get" in rule["verbs"] and (not rule.get("resourceNames") or name in rule["resourceNames"])
               for scope, rule in bound)


@pytest.fixture(scope="module", params=["dev", "prod"])
def with_a_reader(request) -> harness.Evaluation:
    return evaluate_stack(request.param, {PREFIX + "viewerPrincipalArns": [READER], PREFIX + "upstreamUrl": SECRET_URL},
                          secret_keys=[PREFIX + "upstreamUrl"])


def test_a_reader_may_get_every_kubernetes_object_the_stack_declares(with_a_reader):
    bound = _bound_rules(with_a_reader, access.STACK_READERS_GROUP)
    unreadable = [object_ for object_ in _objects(with_a_reader) if not _may_get(object_, bound)]
    assert unreadable == []


def test_the_stack_declares_rbac_objects_and_a_secret_that_the_view_policy_alone_cannot_read(with_a_reader):
    # What makes the group necessary: without its bindings these would answer 403.
    hidden = {(group, resource) for group, resource, _, _ in _objects(with_a_reader)
              if not _may_get((group, resource, None, ""), [])}
    assert ("", "secrets") in hidden
    assert ("rbac.authorization.k8s.io", "rolebindings") in hidden


def test_the_readers_group_may_only_get_named_objects_and_secrets_in_the_stacks_own_namespace(with_a_reader):
    namespace = with_a_reader.config.get(PREFIX + "namespace", "backend")
    for scope, rule in _bound_rules(with_a_reader, access.STACK_READERS_GROUP):
        assert rule["verbs"] == ["get"], rule
        if rule["resources"] == ["secrets"]:
            assert scope == namespace and rule["apiGroups"] == [""], (scope, rule)
        else:
            assert rule.get("resourceNames"), rule


def test_every_name_the_readers_group_may_get_is_an_object_of_the_stack(with_a_reader):
    declared = {(group, resource, name) for group, resource, _, name in _objects(with_a_reader)}
    for _, rule in _bound_rules(with_a_reader, access.STACK_READERS_GROUP):
        for name in rule.get("resourceNames") or []:
            assert (rule["apiGroups"][0], rule["resources"][0], name) in declared, rule


def test_each_reader_entry_carries_the_view_policy_and_the_readers_group(with_a_reader):
    entries = with_a_reader.one("eks:index:Cluster").inputs["accessEntries"]
    [entry] = [entry for entry in entries.values() if entry["principalArn"] == READER]
    assert entry["kubernetesGroups"] == [access.STACK_READERS_GROUP]
    assert entry["accessPolicies"]["view"]["policyArn"].endswith(":cluster-access-policy/AmazonEKSViewPolicy")
    assert entry["accessPolicies"]["view"]["accessScope"] == {"type": "cluster"}


def test_admin_and_deploy_entries_carry_no_kubernetes_group():
    evaluation = evaluate_stack("prod", {PREFIX + "viewerPrincipalArns": [READER]})
    for entry in evaluation.one("eks:index:Cluster").inputs["accessEntries"].values():
        if entry["principalArn"] != READER:
            assert "kubernetesGroups" not in entry, entry


def test_the_readers_group_is_not_a_system_group_eks_refuses():
    assert not access.STACK_READERS_GROUP.startswith("system:")


def test_a_stack_without_readers_declares_no_reader_rbac():
    evaluation = evaluate_stack("prod", {PREFIX + "viewerPrincipalArns": []})
    assert evaluation.of_type("backend-on-eks:index:StackReaders") == []
    assert stack_readers.NAME not in {name for _, _, _, name in _objects(evaluation)}
