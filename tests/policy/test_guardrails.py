"""The policy pack passes both stacks as declared and stops each thing that must never ship."""

from __future__ import annotations

import copy
import json

import pytest

from policy.guardrails import POLICIES
from ops.offline.harness import Evaluation, Registration
from tests.policy.builders import BACKEND_RESOURCE
from tests.policy.adapter import violations
from tests.support.types import DEPLOYMENT



def mutated(evaluation: Evaluation, type_: str, change) -> Evaluation:
    """A copy of `evaluation` in which `change(inputs)` was applied to the one resource of `type_`."""
    copied = copy.deepcopy(evaluation)
    change(copied.one(type_, BACKEND_RESOURCE.get(type_)).inputs)
    return copied


def container(inputs: dict) -> dict:
    return inputs["spec"]["template"]["spec"]["containers"][0]


def with_resource(evaluation: Evaluation, registration: Registration) -> Evaluation:
    copied = copy.deepcopy(evaluation)
    copied.registrations.append(registration)
    return copied


def test_the_pack_has_one_uniquely_named_policy_per_rule():
    names = [policy.name for policy in POLICIES]
    assert len(names) == len(set(names)) == 32


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_policy_passes_the_stack_as_declared(stack, request):
    assert violations(request.getfixturevalue(stack)) == {}


BAD_CHANGES = [
    ("ecr-scan-on-push", "aws:ecr/repository:Repository",
     lambda i: i.update(imageScanningConfiguration={"scanOnPush": False}), "must scan images on push"),
    ("ecr-immutable-tags", "aws:ecr/repository:Repository",
     lambda i: i.update(imageTagMutability="MUTABLE"), "must have immutable tags"),
    ("image-by-digest", DEPLOYMENT,
     lambda i: container(i).update(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"),
     "must reference its image by digest"),
    ("container-limits", DEPLOYMENT,
     lambda i: container(i)["resources"].pop("limits"), "must set resource limits for cpu and memory"),
    ("container-non-root", DEPLOYMENT,
     lambda i: i["spec"]["template"]["spec"]["securityContext"].update(runAsUser=0), "must not run as root"),
    ("container-not-privileged", DEPLOYMENT,
     lambda i: container(i)["securityContext"].update(privileged=True), "must not be privileged"),
    ("container-no-privilege-escalation", DEPLOYMENT,
     lambda i: container(i)["securityContext"].pop("allowPrivilegeEscalation"),
     "must set allowPrivilegeEscalation: false"),
    ("eks-secrets-encryption", "eks:index:Cluster",
     lambda i: i.pop("encryptionConfigKeyArn"), "must envelope-encrypt Kubernetes secrets"),
    ("eks-audit-logs", "eks:index:Cluster",
     lambda i: i.update(enabledClusterLogTypes=["api", "authenticator"]), "audit log"),
    ("eks-endpoint-restricted-in-production", "eks:index:Cluster",
     lambda i: i.update(publicAccessCidrs=["0.0.0.0/0"]), "must not be open to the internet"),
]


@pytest.mark.parametrize(("policy", "type_", "change", "message"), BAD_CHANGES, ids=[c[0] for c in BAD_CHANGES])
def test_a_bad_resource_is_stopped_by_its_own_policy_alone(prod, policy, type_, change, message):
    found = violations(mutated(prod, type_, change))
    assert list(found) == [policy]
    assert message in found[policy][0]


@pytest.mark.parametrize("type_", ["aws:ecr/repository:Repository", "aws:kms/key:Key", "eks:index:Cluster"])
def test_an_unprotected_stateful_resource_is_stopped_in_production(prod, type_):
    copied = copy.deepcopy(prod)
    next(r for r in copied.registrations if r.type == type_).protect = False
    found = violations(copied)
    assert list(found) == ["stateful-protected-in-production"]
    assert "must be protected (protect: true) in production stack 'prod'" in found["stateful-protected-in-production"][0]


def test_dev_may_leave_its_endpoint_open_and_its_resources_unprotected(dev):
    assert dev.one("eks:index:Cluster").inputs["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert dev.one("aws:kms/key:Key").protect is False
    assert violations(dev) == {}


def test_which_stacks_count_as_production_is_policy_config(dev):
    found = violations(dev, config={"productionStacks": ["dev"]})
    assert set(found) == {"eks-endpoint-restricted-in-production", "stateful-protected-in-production"}


def test_an_endpoint_with_no_cidrs_counts_as_open_to_the_internet(prod):
    found = violations(mutated(prod, "eks:index:Cluster", lambda i: i.pop("publicAccessCidrs")))
    assert "unset, so 0.0.0.0/0" in found["eks-endpoint-restricted-in-production"][0]


def aws_eks_cluster(prod: Evaluation, **props) -> Registration:
    template = prod.one("eks:index:Cluster")
    base = {
        "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}},
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
        "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
    }
    return Registration(type="aws:eks/cluster:Cluster", name="cluster-eks-eksCluster",
                        urn=template.urn.replace("eks:index:Cluster", "eks:index:Cluster$aws:eks/cluster:Cluster")
                        + "-eksCluster", parent=template.urn, dependencies=[], provider="", custom=True,
                        remote=False, protect=True, inputs={**base, **props})


def test_the_aws_cluster_that_pulumi_eks_creates_passes_when_configured_as_ours(prod):
    assert violations(with_resource(prod, aws_eks_cluster(prod))) == {}


@pytest.mark.parametrize(("props", "policy"), [
    ({"encryptionConfig": None}, "eks-secrets-encryption"),
    ({"enabledClusterLogTypes": ["api"]}, "eks-audit-logs"),
    ({"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
     "eks-endpoint-restricted-in-production"),
])
def test_the_aws_cluster_that_pulumi_eks_creates_is_held_to_the_same_rules(prod, props, policy):
    assert list(violations(with_resource(prod, aws_eks_cluster(prod, **props)))) == [policy]


def test_a_node_role_with_a_fourth_policy_is_stopped(prod):
    role = prod.one("aws:iam/role:Role", "cluster-node-role")
    template = prod.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")[0]
    extra = copy.deepcopy(template)
    extra.name, extra.urn = "cluster-node-admin", template.urn.rsplit("::", 1)[0] + "::cluster-node-admin"
    extra.inputs["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert extra.property_dependencies["role"] == [role.urn]
    found = violations(with_resource(prod, extra))
    assert list(found) == ["node-role-least-privilege"]
    assert "it also has AdministratorAccess" in found["node-role-least-privilege"][0]


def test_a_role_that_nodes_cannot_assume_is_not_held_to_the_node_rule(prod):
    copied = mutated(prod, "aws:iam/role:Role", lambda i: i.update(assumeRolePolicy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    })))
    assert violations(copied) == {}


def ingress_rule(prod: Evaluation, name: str, port: int, cidr: str = "0.0.0.0/0") -> Registration:
    return Registration(type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name=name,
                        urn=f"urn:pulumi:prod::backend-on-eks::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::{name}",
                        parent="", dependencies=[], provider="", custom=True, remote=False, protect=False,
                        inputs={"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": port, "toPort": port,
                                "cidrIpv4": cidr})


def test_without_a_load_balancer_the_node_port_may_be_open_to_the_internet(prod_node_port):
    assert violations(with_resource(prod_node_port, ingress_rule(prod_node_port, "nodeport-world", 30080))) == {}


def test_any_other_port_open_to_the_internet_is_stopped(prod_node_port):
    found = violations(with_resource(prod_node_port, ingress_rule(prod_node_port, "ssh-world", 22)))
    assert list(found) == ["world-open-only-on-node-port"]
    assert "opens tcp 22-22 to the internet; only the Service's nodePort ([30080])" in found["world-open-only-on-node-port"][0]


def test_another_port_open_to_a_private_range_is_not_this_policys_concern(prod):
    assert violations(with_resource(prod, ingress_rule(prod, "ssh-office", 22, "203.0.113.0/24"))) == {}


def test_a_world_open_security_group_rule_with_both_address_families_is_stopped(prod):
    # The analyzer hands lists as read-only sequences: the policy must not add them with `+`.
    rule = Registration(type="aws:ec2/securityGroupRule:SecurityGroupRule", name="ssh-world",
                        urn="urn:pulumi:prod::backend-on-eks::aws:ec2/securityGroupRule:SecurityGroupRule::ssh-world",
                        parent="", dependencies=[], provider="", custom=True, remote=False, protect=False,
                        inputs={"type": "ingress", "securityGroupId": "sg-1", "protocol": "tcp", "fromPort": 22,
                                "toPort": 22, "cidrBlocks": ["0.0.0.0/0"], "ipv6CidrBlocks": ["::/0"]})
    found = violations(with_resource(prod, rule))
    assert list(found) == ["world-open-only-on-node-port"]
    assert "opens tcp 22-22 to the internet" in found["world-open-only-on-node-port"][0]
