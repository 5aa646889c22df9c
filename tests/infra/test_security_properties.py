"""Every security-relevant property of the resource graph, one behaviour per test.

Each test names the fact it pins, so that a one-line change a real bug could make (a seccomp
profile, a subnet mask, a secret that is no longer one) fails a test that says what broke. The
graph is the real __main__.py evaluated under mocks (tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from ops.offline import harness
from ops.offline.fakes import INVOKE_FAKES, RESOURCE_FAKES
from ops.offline.stacks import evaluate_stack
from tests.support.types import DEPLOYMENT, EKS_CLUSTER, IMAGE, INGRESS_RULE, NETWORK_POLICY, REPOSITORY, ROLE, SERVICE

PREFIX = "backend-on-eks:"
APP = "nextwork-flask-backend"
SELECTOR = {"app": APP}
VPC = "awsx:ec2:Vpc"
KMS_KEY = "aws:kms/key:Key"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
K8S_PROVIDER = "pulumi:providers:kubernetes"
NAMESPACE = "kubernetes:core/v1:Namespace"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
GET_INSTANCES = "aws:ec2/getInstances:getInstances"
OPEN_CIDRS = ["203.0.113.0/24", "198.51.100.7/32"]


@pytest.fixture(params=["dev", "prod"])
def stack(request) -> harness.Evaluation:
    return request.getfixturevalue(request.param)


def pod_spec(evaluation: harness.Evaluation) -> dict:
    return evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]


def container(evaluation: harness.Evaluation) -> dict:
    [only] = pod_spec(evaluation)["containers"]
    return only


def backend_server_settings(environment: dict[str, str]):
    """The server settings the backend would read from this environment: its own config module
    (app/backend/config.py, standard library only), not a copy of its defaults."""
    path = harness.PROJECT_DIR / "app" / "backend" / "config.py"
    name = "backend_config_under_test"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up while being defined
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module.ServerSettings.from_env(environment)


# --- Network ------------------------------------------------------------------------------------


def test_the_vpc_resolves_dns_names_and_gives_instances_dns_hostnames(stack):
    # EKS's private API endpoint is a Route 53 private zone: without both, nodes cannot reach it.
    vpc = stack.one(VPC).inputs
    assert vpc["enableDnsHostnames"] is True
    assert vpc["enableDnsSupport"] is True


def test_a_16_vpc_gets_22_public_and_20_private_subnets(stack):
    masks = {spec["type"]: spec["cidrMask"] for spec in stack.one(VPC).inputs["subnetSpecs"]}
    assert masks == {"Public": 22, "Private": 20}


def test_the_subnet_masks_follow_the_size_of_the_vpc_block():
    # A private subnet is 1/16 of the VPC (nodes and pods draw their IPs from it), a public 1/64.
    evaluation = evaluate_stack("dev", {PREFIX + "vpcCidr": "10.20.0.0/18"})
    masks = {spec["type"]: spec["cidrMask"] for spec in evaluation.one(VPC).inputs["subnetSpecs"]}
    assert masks == {"Public": 24, "Private": 22}


def test_awsx_lays_the_subnets_out_itself(stack):
    assert stack.one(VPC).inputs["subnetStrategy"] == "Auto"


# --- Cluster: control plane ---------------------------------------------------------------------


def test_the_api_endpoint_is_reachable_privately_from_the_vpc_as_well_as_publicly(stack):
    # Private access keeps the nodes' traffic to the API inside the VPC; public access stays
    # limited to the configured CIDRs (test_graph pins those).
    cluster = stack.one(EKS_CLUSTER).inputs
    assert cluster["endpointPrivateAccess"] is True
    assert cluster["endpointPublicAccess"] is True


def test_the_cluster_creates_no_security_groups_beside_the_one_eks_manages(stack):
    assert stack.one(EKS_CLUSTER).inputs["skipDefaultSecurityGroups"] is True


def test_the_secrets_key_stays_recoverable_for_the_configured_days_after_deletion(dev, prod):
    assert dev.one(KMS_KEY).inputs["deletionWindowInDays"] == 7
    assert prod.one(KMS_KEY).inputs["deletionWindowInDays"] == 30


def test_the_control_plane_log_group_is_the_one_eks_writes_to(dev):
    assert dev.one(LOG_GROUP).inputs["name"] == "/aws/eks/backend-on-eks-dev/cluster"


def test_a_viewers_access_policy_association_is_named_view():
    # The association's key is part of its identity: renaming it replaces the association.
    evaluation = evaluate_stack("prod", {PREFIX + "viewerPrincipalArns": ["arn:aws:iam::123456789012:role/Auditor"]})
    entries = evaluation.one(EKS_CLUSTER).inputs["accessEntries"]
    [viewer] = [e for e in entries.values() if e["principalArn"].endswith(":role/Auditor")]
    assert viewer["accessPolicies"] == {"view": {
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        "accessScope": {"type": "cluster"},
    }}


def test_the_kubeconfig_handed_to_the_kubernetes_provider_is_secret(stack):
    # Whoever reads it learns the endpoint, its CA and how to get a token: state holds it encrypted.
    assert stack.one(K8S_PROVIDER, "workload-provider").secret_inputs == {"kubeconfig"}


# --- Cluster: nodes -----------------------------------------------------------------------------


def test_only_ec2_may_assume_the_node_role(stack):
    policy = json.loads(stack.one(ROLE, "cluster-node-role").inputs["assumeRolePolicy"])
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def test_a_nodes_root_volume_is_an_encrypted_gp3_volume_deleted_with_the_node(stack):
    [root] = stack.one(LAUNCH_TEMPLATE).inputs["blockDeviceMappings"]
    assert root["ebs"] == {"volumeSize": 20, "volumeType": "gp3", "encrypted": "true", "deleteOnTermination": "true"}


# --- Registry and image -------------------------------------------------------------------------


def test_the_repository_encrypts_images_with_kms(stack):
    assert stack.one(REPOSITORY).inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]


def test_the_lifecycle_policy_applies_to_the_stacks_repository(stack):
    assert stack.one(LIFECYCLE_POLICY).inputs["repository"] == stack.one(REPOSITORY).inputs["name"]


def test_the_lifecycle_rule_counts_every_image_tagged_or_not(stack):
    # "untagged" alone would never expire the content-tagged images: the repository would grow
    # without bound.
    [rule] = json.loads(stack.one(LIFECYCLE_POLICY).inputs["policy"])["rules"]
    assert rule["selection"]["tagStatus"] == "any"


def test_the_lifecycle_rule_expires_only_images_beyond_the_newest_n(dev):
    [rule] = json.loads(dev.one(LIFECYCLE_POLICY).inputs["policy"])["rules"]
    assert rule == {
        "rulePriority": 1,
        "description": "Keep the last 10 images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
        "action": {"type": "expire"},
    }


def test_the_registry_password_is_secret(stack):
    # ECR's token is a 12-hour credential for the whole registry: never in state in the clear.
    image = stack.one(IMAGE)
    assert image.secret_inputs == {"registry.password"}
    assert image.inputs["registry"]["password"] == "fake-ecr-password"


# --- Kubernetes: namespace and provider ---------------------------------------------------------


def test_the_namespace_enforces_the_latest_restricted_pod_security_standard(stack):
    labels = stack.one(NAMESPACE).inputs["metadata"]["labels"]
    assert labels == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }


def test_the_kubernetes_provider_never_deletes_unreachable_objects_from_the_state_on_its_own(stack):
    # Unset, the provider takes PULUMI_K8S_DELETE_UNREACHABLE from the destroy's environment; a value
    # in the state would win over it, in either direction, on every refresh.
    assert "deleteUnreachable" not in stack.one(K8S_PROVIDER, "workload-provider").inputs


# --- Kubernetes: pod and container --------------------------------------------------------------


def test_pods_run_under_the_runtime_default_seccomp_profile(stack):
    assert pod_spec(stack)["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_pods_run_as_the_images_non_root_user_group_and_file_group(stack):
    assert pod_spec(stack)["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_the_pre_stop_hook_waits_five_seconds_for_kube_proxy_to_drop_the_pod(stack):
    assert container(stack)["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}


def test_the_grace_period_covers_the_pre_stop_wait_and_the_servers_graceful_shutdown(stack):
    # The kubelet counts the grace period from the start of the preStop hook; the server then gets
    # SIGTERM and lets in-flight requests finish for its graceful timeout (app/backend/serve.py).
    # A shorter grace period SIGKILLs them mid-request.
    environment = {variable["name"]: variable["value"] for variable in container(stack)["env"]}
    graceful_timeout = backend_server_settings(environment).graceful_timeout
    pre_stop = int(container(stack)["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pre_stop + graceful_timeout < pod_spec(stack)["terminationGracePeriodSeconds"]


def test_the_grace_period_is_thirty_seconds(stack):
    assert pod_spec(stack)["terminationGracePeriodSeconds"] == 30


def test_pods_spread_softly_across_zones_and_strictly_across_nodes(stack):
    constraints = {c["topologyKey"]: c["whenUnsatisfiable"] for c in pod_spec(stack)["topologySpreadConstraints"]}
    assert constraints == {"topology.kubernetes.io/zone": "ScheduleAnyway", "kubernetes.io/hostname": "DoNotSchedule"}


def test_each_spread_allows_a_skew_of_one_counted_per_revision(stack):
    for constraint in pod_spec(stack)["topologySpreadConstraints"]:
        assert constraint["maxSkew"] == 1
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]
        assert constraint["labelSelector"] == {"matchLabels": SELECTOR}


def test_the_image_is_pulled_only_when_the_node_lacks_it(stack):
    # The reference is a digest, so a cached copy is the same image.
    app = container(stack)
    assert app["imagePullPolicy"] == "IfNotPresent"
    assert "@sha256:" in app["image"]


def test_the_startup_probe_gives_the_backend_a_minute_on_its_liveness_path(stack):
    assert container(stack)["startupProbe"] == {
        "httpGet": {"path": "/healthz", "port": "admin"},
        "periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 30,
    }


def test_the_liveness_probe_restarts_after_three_missed_checks_ten_seconds_apart(stack):
    assert container(stack)["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "admin"},
        "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3,
    }


def test_the_readiness_probe_drops_the_pod_after_two_missed_checks_five_seconds_apart(stack):
    assert container(stack)["readinessProbe"] == {
        "httpGet": {"path": "/readyz", "port": "admin"},
        "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2,
    }


def test_the_only_writable_path_is_a_small_memory_backed_tmp(stack):
    assert container(stack)["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod_spec(stack)["volumes"] == [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}]


def test_the_pod_runs_one_container_and_no_init_or_sidecar_containers(stack):
    spec = pod_spec(stack)
    assert [c["name"] for c in spec["containers"]] == [APP]
    assert "initContainers" not in spec


# --- Kubernetes: deployment and the objects around it -------------------------------------------


def test_a_stuck_rollout_fails_after_five_minutes(stack):
    assert stack.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["progressDeadlineSeconds"] == 300


def test_five_old_revisions_are_kept_for_a_rollback(stack):
    assert stack.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["revisionHistoryLimit"] == 5


# The workload component's objects (the node autoscaler has a Deployment and a NetworkPolicy too).
WORKLOAD_NAMES = {DEPLOYMENT: "workload-deployment", SERVICE: "workload-service", PDB: "workload-pdb",
                  NETWORK_POLICY: "workload-network-policy"}


@pytest.mark.parametrize("type_", [DEPLOYMENT, SERVICE, PDB, NETWORK_POLICY])
def test_every_object_is_named_after_the_app_in_the_managed_namespace(stack, type_):
    metadata = stack.one(type_, WORKLOAD_NAMES[type_]).inputs["metadata"]
    assert (metadata["name"], metadata["namespace"]) == (APP, "backend")


@pytest.mark.parametrize("type_", [DEPLOYMENT, SERVICE, PDB, NETWORK_POLICY])
def test_every_object_carries_the_recommended_labels(stack, type_):
    assert stack.one(type_, WORKLOAD_NAMES[type_]).inputs["metadata"]["labels"] == {
        "app": APP,
        "app.kubernetes.io/name": APP,
        "app.kubernetes.io/component": "backend",
        "app.kubernetes.io/part-of": "backend-on-eks",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def test_the_pods_carry_the_same_labels_as_their_deployment(stack):
    deployment = stack.one(DEPLOYMENT, "workload-deployment").inputs
    assert deployment["spec"]["template"]["metadata"]["labels"] == deployment["metadata"]["labels"]


# --- Who may reach the NodePort -----------------------------------------------------------------


def evaluate_open(stack: str = "dev", **kwargs) -> harness.Evaluation:
    return evaluate_stack(stack, {PREFIX + "nodePortIngressCidrs": OPEN_CIDRS}, **kwargs)


def test_each_ingress_rule_says_which_port_it_opens_to_which_cidr():
    rules = evaluate_open().of_type(INGRESS_RULE)
    assert sorted(r.inputs["description"] for r in rules) == [
        "Backend NodePort 30080 from 198.51.100.7/32", "Backend NodePort 30080 from 203.0.113.0/24",
    ]


def test_the_service_url_is_looked_up_among_this_clusters_running_nodes_only():
    [lookup] = [i for i in evaluate_open().invokes if i.token == GET_INSTANCES]
    assert lookup.args["instanceTags"] == {"eks:cluster-name": "backend-on-eks-dev"}
    assert lookup.args["instanceStateNames"] == ["running"]


def test_a_new_stacks_preview_does_not_look_up_nodes_that_do_not_exist_yet():
    # The lookup waits for the node group: before it exists there is no address to find.
    preview = evaluate_open(preview=True)
    assert [i for i in preview.invokes if i.token == GET_INSTANCES] == []


def test_with_no_running_node_the_service_url_says_so():
    invoke_fakes = {**INVOKE_FAKES, GET_INSTANCES: lambda args: {
        "ids": [], "publicIps": [], "privateIps": [], "ipv6Addresses": [], "id": "us-east-1",
    }}
    values = {**harness.stack_file_config("dev"), PREFIX + "nodePortIngressCidrs": OPEN_CIDRS}
    evaluation = harness.evaluate("dev", values, dict(RESOURCE_FAKES), invoke_fakes)
    assert evaluation.exports["serviceUrl"] == "no running node yet"
