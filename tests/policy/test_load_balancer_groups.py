"""A load balancer carries only security groups of its own: its group is its inbound side, and a
group it shares with the nodes would open each of the nodes' rules to the load balancer's clients."""

from __future__ import annotations

import copy

import pytest

from tests.policy.adapter import violations
from tests.policy.builders import changed, ingress_rule, plus, registration
from tests.support.types import INGRESS_RULE, SECURITY_GROUP
from tests.support.types import LOAD_BALANCER

POLICY = "load-balancer-own-security-groups"
NODES_GROUP_ID = "sg-0eksclustersg00001"  # the EKS cluster's group, which managed node groups carry


def lb_group(prod):
    return prod.one(SECURITY_GROUP, "front-door-sg")


def cluster_urn(prod):
    return prod.one("eks:index:Cluster").urn


def with_load_balancer_groups(prod, values, deps):
    copied = copy.deepcopy(prod)
    load_balancer = copied.one(LOAD_BALANCER)
    load_balancer.inputs["securityGroups"] = values
    load_balancer.property_dependencies["securityGroups"] = deps
    return copied


def test_the_stacks_own_load_balancer_group_is_its_own(prod):
    assert POLICY not in violations(prod)


def test_a_load_balancer_carrying_the_nodes_group_by_id_is_stopped(prod):
    found = violations(changed(prod, LOAD_BALANCER, lambda i: i["securityGroups"].append(NODES_GROUP_ID)))
    assert list(found) == [POLICY]
    assert NODES_GROUP_ID in found[POLICY][0]


def test_a_load_balancer_carrying_the_eks_components_group_output_is_stopped(prod):
    # securityGroups: [cluster.clusterSecurityGroupId]: an output of the component, not a group of the stack.
    evaluation = with_load_balancer_groups(prod, [NODES_GROUP_ID], [cluster_urn(prod)])
    found = violations(evaluation)
    assert POLICY in found
    assert "eks:index:Cluster 'cluster-eks' (not a security group this stack creates)" in found[POLICY][0]


@pytest.mark.parametrize(("type_", "key", "inputs"), [
    ("aws:ec2/launchTemplate:LaunchTemplate", "vpcSecurityGroupIds", {"vpcSecurityGroupIds": ["front-door-sg-id"]}),
    ("aws:eks/nodeGroup:NodeGroup", "remoteAccess", {"remoteAccess": {"ec2SshKey": "k", "sourceSecurityGroupIds": ["front-door-sg-id"]}}),
    ("aws:ec2/instance:Instance", "vpcSecurityGroupIds", {"vpcSecurityGroupIds": ["front-door-sg-id"]}),
    (LOAD_BALANCER, "securityGroups", {"securityGroups": ["front-door-sg-id"], "loadBalancerType": "network"}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_load_balancer_group_that_anything_else_carries_is_stopped(prod, type_, key, inputs):
    other = registration(prod, type_, "sharer", inputs, property_dependencies={key: [lb_group(prod).urn]})
    found = violations(plus(prod, other))
    assert POLICY in found
    assert f"{SECURITY_GROUP} 'front-door-sg', also attached to {type_} 'sharer'" in found[POLICY][0]


def test_rules_of_the_load_balancer_group_or_from_it_do_not_share_it(prod):
    # A rule names the group it belongs to, or admits it as a source: it attaches the group to nothing.
    source = registration(prod, SECURITY_GROUP, "other", {"vpcId": "vpc-1", "ingress": [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroups": ["front-door-sg-id"]}]},
        property_dependencies={"ingress": [lb_group(prod).urn]})
    rule = registration(prod, INGRESS_RULE, "lb-from-office", {
        "securityGroupId": "front-door-sg-id", "ipProtocol": "tcp", "fromPort": 80.0, "toPort": 80.0,
        "cidrIpv4": "203.0.113.0/24"}, property_dependencies={"securityGroupId": [lb_group(prod).urn]})
    assert violations(plus(prod, source, rule)) == {}


def test_a_load_balancer_without_security_groups_shares_none(prod):
    assert POLICY not in violations(with_load_balancer_groups(prod, [], []))


def test_a_node_rule_on_a_group_shared_with_the_load_balancer_is_judged_as_the_nodes(prod):
    # The nodes' group on the load balancer must not make the nodes' rules its "inbound side".
    evaluation = with_load_balancer_groups(prod, ["front-door-sg-id", NODES_GROUP_ID],
                                           [lb_group(prod).urn, cluster_urn(prod)])
    office = registration(prod, INGRESS_RULE, "office", {
        "securityGroupId": NODES_GROUP_ID, "ipProtocol": "tcp", "fromPort": 30080.0, "toPort": 30080.0,
        "cidrIpv4": "10.8.0.0/16"}, property_dependencies={"securityGroupId": [cluster_urn(prod)]})
    listener_port = registration(prod, INGRESS_RULE, "nodes-80-world", {
        "securityGroupId": NODES_GROUP_ID, "ipProtocol": "tcp", "fromPort": 80.0, "toPort": 80.0,
        "cidrIpv4": "0.0.0.0/0"}, property_dependencies={"securityGroupId": [cluster_urn(prod)]})
    found = violations(plus(evaluation, office, listener_port))
    assert {POLICY, "node-port-behind-load-balancer", "world-open-only-on-node-port"} <= set(found)
    assert any("'office' admits nodePort [30080]" in m for m in found["node-port-behind-load-balancer"])
    assert any("'nodes-80-world' opens tcp 80-80" in m for m in found["world-open-only-on-node-port"])


def test_a_second_listener_rule_on_the_nodes_group_is_not_licensed_by_the_load_balancer(prod):
    rule = ingress_rule(prod, "nodes-80", 80.0)
    rule.property_dependencies = {"securityGroupId": [cluster_urn(prod)]}
    assert "world-open-only-on-node-port" in violations(plus(prod, rule))
