"""Nodes follow pods: prod's Cluster Autoscaler, its AWS rights and its place in the cluster.

Evaluated as `pulumi up` of prod under the offline mocks, with the autoscaler wired as
__main__.py wires it (components/node_autoscaler.py).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import kubernetes_validate
import pytest
import yaml

import autoscaler_releases
import eks_versions
from tests.support.clock import SUITE_TODAY
from ops.offline import harness
from ops.offline.manifests import manifests
from ops.offline.stacks import evaluate_stack
from tests.policy.adapter import violations
from tests.support.tools import find_tool

COMPONENT = "backend-on-eks:index:NodeAutoscaler"
PREFIX = "backend-on-eks:"
SCALING_ACTIONS = {"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}

@pytest.fixture(scope="module")
def prod_graph(prod) -> harness.Evaluation:
    return prod


@pytest.fixture(scope="module")
def prod_preview_graph(prod_preview) -> harness.Evaluation:
    """`pulumi preview` of prod as a new stack: nothing exists yet."""
    return prod_preview


def _mine(evaluation: harness.Evaluation) -> list[harness.Registration]:
    [component] = evaluation.of_type(COMPONENT)
    return [r for r in evaluation.registrations if r is component or component in evaluation.ancestors(r)]


def _one(evaluation: harness.Evaluation, type_: str) -> harness.Registration:
    [found] = [r for r in _mine(evaluation) if r.type == type_]
    return found


def _manifests(evaluation: harness.Evaluation) -> list[dict]:
    return manifests(dataclasses.replace(evaluation, registrations=_mine(evaluation)))


def _manifest(evaluation: harness.Evaluation, kind: str) -> dict:
    [found] = [m for m in _manifests(evaluation) if m["kind"] == kind]
    return found


def _cluster_name(evaluation: harness.Evaluation) -> str:
    return evaluation.one("eks:index:Cluster").inputs["name"]


def _policy(evaluation: harness.Evaluation) -> dict:
    return json.loads(_one(evaluation, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])


def _statements(document: dict) -> list[dict]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _container(evaluation: harness.Evaluation) -> dict:
    [container] = _manifest(evaluation, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


# --- AWS ----------------------------------------------------------------------------------------


def test_prod_declares_the_autoscaler_with_no_missing_fake_output(prod_graph):
    assert {r.type for r in _mine(prod_graph)} >= {
        "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation", "kubernetes:apps/v1:Deployment",
    }
    assert prod_graph.missing_fake_outputs() == []


def test_scaling_actions_are_allowed_only_on_auto_scaling_groups_tagged_for_this_cluster(prod_graph):
    cluster = _cluster_name(prod_graph)
    granting = [s for s in _statements(_policy(prod_graph))
                if s["Effect"] == "Allow" and SCALING_ACTIONS & set(_listed(s["Action"]))]
    assert granting
    for statement in granting:
        assert statement["Condition"] == {"StringEquals": {
            "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
            f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned",
        }}


def test_no_statement_grants_a_wildcard_action(prod_graph):
    actions = [a for s in _statements(_policy(prod_graph)) for a in _listed(s["Action"])]
    assert actions and not [a for a in actions if "*" in a]


def test_the_node_group_description_is_readable_only_for_this_clusters_node_groups(prod_graph):
    [statement] = [s for s in _statements(_policy(prod_graph)) if "eks:DescribeNodegroup" in _listed(s["Action"])]
    assert statement["Resource"] == f"arn:aws:eks:us-east-1:*:nodegroup/{_cluster_name(prod_graph)}/*/*"


def test_the_role_trusts_eks_pod_identity_and_nothing_else(prod_graph):
    trust = json.loads(_one(prod_graph, "aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert _statements(trust) == [{
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }]


def test_the_policy_belongs_to_the_autoscalers_role(prod_graph):
    role = _one(prod_graph, "aws:iam/role:Role")
    assert _one(prod_graph, "aws:iam/rolePolicy:RolePolicy").inputs["role"] == role.outputs["name"]


def test_the_association_gives_the_role_to_kube_system_cluster_autoscaler_in_this_cluster(prod_graph):
    association = _one(prod_graph, "aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs
    service_account = _manifest(prod_graph, "ServiceAccount")["metadata"]
    assert (association["clusterName"], association["namespace"], association["serviceAccount"]) == (
        _cluster_name(prod_graph), service_account["namespace"], service_account["name"])
    assert association["roleArn"] == _one(prod_graph, "aws:iam/role:Role").outputs["arn"]


def test_the_deployment_runs_as_the_associated_service_account(prod_graph):
    spec = _manifest(prod_graph, "Deployment")["spec"]["template"]["spec"]
    association = _one(prod_graph, "aws:eks/podIdentityAssociation:PodIdentityAssociation").inputs
    assert spec["serviceAccountName"] == association["serviceAccount"]
    assert _manifest(prod_graph, "Deployment")["metadata"]["namespace"] == association["namespace"]


def _pod_identity_agent(evaluation: harness.Evaluation) -> harness.Registration:
    [agent] = [r for r in evaluation.of_type("aws:eks/addon:Addon") if r.inputs["addonName"] == "eks-pod-identity-agent"]
    return agent


def test_the_pod_identity_agent_add_on_is_the_clusters_and_waits_for_the_node_group(prod_graph):
    agent = _pod_identity_agent(prod_graph)
    assert prod_graph.by_urn(agent.parent).type == "backend-on-eks:index:Cluster"
    assert agent.inputs["clusterName"] == _cluster_name(prod_graph)
    assert prod_graph.one("eks:index:ManagedNodeGroup").urn in prod_graph.transitive_dependencies(agent)


def test_the_pod_identity_agent_keeps_the_identity_it_had_under_the_autoscaler(prod_graph):
    # Declared under NodeAutoscaler before the CloudWatch agent needed it too. Without the alias
    # the engine would create a second add-on of the same name (EKS refuses it) and then delete
    # the one CA's pod gets its credentials from.
    agent = _pod_identity_agent(prod_graph)
    [alias] = agent.aliases
    parent_type = alias["spec"]["parentUrn"].split("::")[2]
    earlier = f"{parent_type}${agent.type}::{alias['spec']['name']}"
    assert earlier == "backend-on-eks:index:NodeAutoscaler$aws:eks/addon:Addon::node-autoscaler-pod-identity-agent"
    assert alias["spec"]["parentUrn"].endswith("::backend-on-eks:index:NodeAutoscaler::node-autoscaler")


def test_the_autoscaler_starts_only_once_its_credentials_can_be_served(prod_graph):
    # A pod created before its association exists gets no credentials until it restarts.
    deployment = _one(prod_graph, "kubernetes:apps/v1:Deployment")
    waits_for = prod_graph.transitive_dependencies(deployment)
    for type_ in ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:iam/rolePolicy:RolePolicy"):
        assert _one(prod_graph, type_).urn in waits_for, type_
    assert _pod_identity_agent(prod_graph).urn in waits_for


# --- The autoscaler's image and flags -----------------------------------------------------------


def test_the_autoscaler_minor_equals_the_clusters_kubernetes_minor(prod_graph):
    version = prod_graph.config[PREFIX + "kubernetesVersion"]
    tag = re.fullmatch(r"registry\.k8s\.io/autoscaling/cluster-autoscaler:v(\d+)\.(\d+)\.\d+(@.*)?",
                       _container(prod_graph)["image"])
    assert tag and f"{tag[1]}.{tag[2]}" == version


def test_every_release_in_the_table_is_of_its_own_minor():
    for minor, release in autoscaler_releases.RELEASES.items():
        assert release.tag.startswith(f"v{minor}."), minor


def test_every_version_in_standard_support_on_the_suites_day_has_an_autoscaler_release():
    standard = {row.version for row in eks_versions.VERSIONS
                if eks_versions.support_status(row.version, SUITE_TODAY) == eks_versions.STANDARD}
    assert standard and standard <= set(autoscaler_releases.RELEASES)


def test_a_kubernetes_version_without_a_release_is_refused_by_name():
    with pytest.raises(ValueError, match="Kubernetes 1.99"):
        autoscaler_releases.release_for("1.99")


def test_prods_autoscaler_image_is_pinned_by_digest(prod_graph):
    assert re.fullmatch(r"[^@]+:v[0-9.]+@sha256:[0-9a-f]{64}", _container(prod_graph)["image"])


def test_auto_discovery_looks_for_both_tags_naming_this_cluster(prod_graph):
    cluster = _cluster_name(prod_graph)
    discovery = [f for f in _container(prod_graph)["command"] if f.startswith("--node-group-auto-discovery=")]
    assert discovery == [
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}"
    ]


@pytest.mark.parametrize("flag", [
    "--cloud-provider=aws",
    "--balance-similar-node-groups",
    "--skip-nodes-with-system-pods=false",
    "--skip-nodes-with-local-storage=false",
    "--expander=least-waste",
])
def test_the_autoscaler_runs_with(prod_graph, flag):
    assert flag in _container(prod_graph)["command"]


def test_the_autoscaler_is_told_its_region(prod_graph):
    # IMDS is closed to pods (hop limit 1): the AWS SDK learns the region from the environment.
    assert {"name": "AWS_REGION", "value": prod_graph.config["aws:region"]} in _container(prod_graph)["env"]


# --- Kubernetes ---------------------------------------------------------------------------------

# The namespaced rights of the official example manifest (kubernetes/autoscaler, cluster-autoscaler/
# cloudprovider/aws/examples/cluster-autoscaler-autodiscover.yaml): (API groups, resources,
# resource names or None for any, verbs).
OFFICIAL_NAMESPACE_RULES = [
    ({""}, {"configmaps"}, None, {"create", "list", "watch"}),
    ({""}, {"configmaps"}, {"cluster-autoscaler-status", "cluster-autoscaler-priority-expander"},
     {"delete", "get", "update", "watch"}),
]
# The resource.k8s.io kinds CA waits to list and watch before its first loop from 1.35, where
# --enable-dynamic-resource-allocation is locked to true (config/flags/flags.go at
# cluster-autoscaler-1.35.2 exits unless it is); its DRA snapshot reads these three.
DRA_KINDS = ("resourceslices", "resourceclaims", "deviceclasses")


def _uncovered(rules: list[dict], official) -> list[tuple]:
    """Each (group, resource, name, verb) a rule grants that no official rule grants."""
    missing = []
    for rule in rules:
        names = rule.get("resourceNames") or [None]
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for name in names:
                    for verb in rule.get("verbs", []):
                        if not any(group in g and resource in r and (n is None or name in n) and verb in v
                                   for g, r, n, v in official):
                            missing.append((group, resource, name, verb))
    return missing


def _granted(rules: list[dict]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for rule in rules if not rule.get("resourceNames")
            for group in rule["apiGroups"] for resource in rule["resources"] for verb in rule["verbs"]}


# Every minor with a release pinned by digest (settings refuse one without) that a stack may still
# run on the suite's day.
RUNNABLE_MINORS = [minor for minor, release in autoscaler_releases.RELEASES.items()
                   if release.digest and minor in eks_versions.accepted_versions(SUITE_TODAY)]


@pytest.fixture(scope="module", params=RUNNABLE_MINORS)
def graph_of_minor(request) -> harness.Evaluation:
    # EXTENDED: a version already past standard support is refused with the STANDARD policy.
    return evaluate_stack("prod", {PREFIX + "kubernetesVersion": request.param,
                                   PREFIX + "kubernetesUpgradePolicy": "EXTENDED"})


def test_a_stack_on_each_pinned_minor_grants_exactly_its_releases_chart_rules(graph_of_minor):
    minor = graph_of_minor.config[PREFIX + "kubernetesVersion"]
    rules = _manifest(graph_of_minor, "ClusterRole")["rules"]
    assert rules == list(autoscaler_releases.RELEASES[minor].cluster_rules)


def test_a_stack_on_each_pinned_minor_lets_ca_list_and_watch_what_its_release_waits_for(graph_of_minor):
    minor = graph_of_minor.config[PREFIX + "kubernetesVersion"]
    granted = _granted(_manifest(graph_of_minor, "ClusterRole")["rules"])
    waited_for = [("", kind) for kind in ("pods", "nodes", "services", "namespaces", "replicationcontrollers",
                                          "persistentvolumeclaims", "persistentvolumes")]
    waited_for += [("apps", kind) for kind in ("statefulsets", "replicasets", "daemonsets")]
    waited_for += [("storage.k8s.io", kind) for kind in ("storageclasses", "csinodes", "csidrivers",
                                                         "csistoragecapacities")]
    waited_for += [("policy", "poddisruptionbudgets"), ("batch", "jobs")]
    if eks_versions.minor(minor) >= 35:
        waited_for += [("resource.k8s.io", kind) for kind in DRA_KINDS]
    assert [(group, kind) for group, kind in waited_for
            if not {(group, kind, "list"), (group, kind, "watch")} <= granted] == []


def test_the_default_versions_autoscaler_may_list_and_watch_the_dynamic_resource_allocation_kinds(prod_graph):
    # Prod runs the declared default (1.35 as this is written): the release that never starts
    # without these.
    granted = _granted(_manifest(prod_graph, "ClusterRole")["rules"])
    if eks_versions.minor(prod_graph.config[PREFIX + "kubernetesVersion"]) >= 35:
        assert {("resource.k8s.io", kind, verb) for kind in DRA_KINDS for verb in ("list", "watch")} <= granted


def test_no_release_lets_ca_create_or_delete_nodes_on_aws():
    # The Auto Scaling group adds and removes the machines; the chart grants these verbs only to
    # providers that create Node objects themselves (kwok, huaweicloud).
    for minor, release in autoscaler_releases.RELEASES.items():
        assert not {("", "nodes", "create"), ("", "nodes", "delete")} & _granted(list(release.cluster_rules)), minor


def test_no_release_grants_the_extensions_api_group_that_kubernetes_no_longer_serves():
    for minor, release in autoscaler_releases.RELEASES.items():
        assert all("extensions" not in rule["apiGroups"] for rule in release.cluster_rules), minor


def test_the_namespace_role_grants_nothing_the_official_manifest_does_not(prod_graph):
    role = _manifest(prod_graph, "Role")
    assert role["metadata"]["namespace"] == "kube-system"
    assert _uncovered(role["rules"], OFFICIAL_NAMESPACE_RULES) == []


@pytest.mark.parametrize("kind, role_kind", [("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")])
def test_each_binding_gives_its_role_to_the_autoscalers_service_account_alone(prod_graph, kind, role_kind):
    binding = _manifest(prod_graph, kind)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                                  "name": _manifest(prod_graph, role_kind)["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "cluster-autoscaler", "namespace": "kube-system"}]


def test_the_autoscaler_pod_passes_every_pod_policy_of_the_pack(prod_graph):
    # The pack holds pods in every namespace to the restricted Pod Security Standard and more.
    assert violations(dataclasses.replace(prod_graph, registrations=_mine(prod_graph))) == {}


def test_the_autoscaler_pod_is_cluster_critical(prod_graph):
    assert _manifest(prod_graph, "Deployment")["spec"]["template"]["spec"]["priorityClassName"] == \
        "system-cluster-critical"


def test_the_autoscaler_may_reach_only_dns_https_and_the_pod_identity_agent(prod_graph):
    policy = _manifest(prod_graph, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= \
        _manifest(prod_graph, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    reachable = sorted(
        (port["protocol"], port["port"], json.dumps(rule.get("to"), sort_keys=True))
        for rule in policy["egress"] for port in rule["ports"]
    )
    dns = json.dumps([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                       "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], sort_keys=True)
    agent = json.dumps([{"ipBlock": {"cidr": "169.254.170.23/32"}}], sort_keys=True)
    assert reachable == sorted([("UDP", 53, dns), ("TCP", 53, dns), ("TCP", 443, "null"), ("TCP", 80, agent)])


def test_every_kubernetes_object_goes_through_a_provider_built_from_the_clusters_kubeconfig(prod_graph):
    [provider] = [r for r in _mine(prod_graph) if r.type == "pulumi:providers:kubernetes"]
    assert json.loads(provider.inputs["kubeconfig"])["users"][0]["user"]["exec"]["args"][-3] == _cluster_name(prod_graph)
    assert "deleteUnreachable" not in provider.inputs
    for registration in _mine(prod_graph):
        if registration.type.startswith("kubernetes:"):
            assert registration.provider.startswith(provider.urn + "::"), registration.name


def test_the_autoscalers_manifests_are_valid_under_the_strict_schema_of_prods_version(prod_graph):
    version = prod_graph.config[PREFIX + "kubernetesVersion"]
    objects = _manifests(prod_graph)
    assert {m["kind"] for m in objects} == {
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "NetworkPolicy"}
    for manifest in objects:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_checkov_finds_no_failing_kubernetes_check_in_the_autoscalers_manifests(prod_graph, tmp_path):
    (tmp_path / "autoscaler.yaml").write_text(yaml.safe_dump_all(_manifests(prod_graph)))
    proc = subprocess.run(
        [find_tool("checkov", ".venv-tools"), "--directory", str(tmp_path), "--framework", "kubernetes",
         "--skip-download", "--output", "json", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    report = json.loads(proc.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 40  # it looked at the Deployment and the RBAC objects


def test_a_preview_of_a_new_stack_already_shows_the_pinned_image_and_this_clusters_flags(prod_preview_graph):
    # Nothing the pod spec holds waits for AWS: the policy pack judges it in the pull request.
    deployment = _one(prod_preview_graph, "kubernetes:apps/v1:Deployment")
    assert deployment.unknown_inputs == set()
    assert _container(prod_preview_graph)["image"] == autoscaler_releases.RELEASES["1.35"].image
    assert violations(dataclasses.replace(prod_preview_graph, registrations=_mine(prod_preview_graph))) == {}


def test_in_a_preview_the_association_waits_for_the_roles_arn(prod_preview_graph):
    # The role is yet to be created: its ARN, and so the association's, is known only after `up`.
    association = _one(prod_preview_graph, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert association.unknown_inputs == {"roleArn"}
