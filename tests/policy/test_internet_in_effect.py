"""Every rule that judges "the internet" reads it as every public address, not as 0.0.0.0/0 alone:
the world less 0.0.0.0/8, less the private ranges, or IPv6's 2000::/3 is the internet in effect."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from policy.internet import NOT_PUBLIC
from tests.policy.adapter import violations
from tests.policy.addresses import public_spans, world_less
from tests.policy.builders import SG_RULE, changed, ingress_rule, plus, registration
from tests.support.types import SECURITY_GROUP
from tests.support.types import SERVICE

WORLD_OPEN = "world-open-only-on-node-port"
SERVICE_POLICY = "service-not-open-to-world"
ENDPOINT_POLICY = "eks-endpoint-restricted-in-production"
PRIVATE = [b for name, b in NOT_PUBLIC.items() if name.startswith("private")]

IN_EFFECT = {
    "world less 'this network'": [str(b) for b in world_less([ipaddress.IPv4Network("0.0.0.0/8")])],
    "world less RFC 1918": [str(b) for b in world_less(PRIVATE)],
    "world less every non-public range": [str(b) for b in world_less(NOT_PUBLIC.values())],
    "IPv6 global unicast": ["2000::/3"],
    "IPv6 lower half": ["::/1"],
    "IPv6 global unicast in halves": ["2000::/4", "3000::/4"],
}
# The nearest sets that are not the internet: one public block is left out.
NEARLY = {
    "world less 8.8.8.0/24": [str(b) for b in world_less([ipaddress.IPv4Network("8.8.8.0/24")])],
    "IPv6 global unicast less 2001:db8::/32": [str(b) for b in ipaddress.IPv6Network("2000::/3").address_exclude(
        ipaddress.IPv6Network("2001:db8::/32"))],
}


def v4(blocks):
    return [b for b in blocks if ":" not in b]


def v6(blocks):
    return [b for b in blocks if ":" in b]


def ssh_rule(evaluation, blocks):
    return registration(evaluation, SG_RULE, "ssh", {
        "type": "ingress", "securityGroupId": "sg-1", "protocol": "tcp", "fromPort": 22, "toPort": 22,
        "cidrBlocks": v4(blocks), "ipv6CidrBlocks": v6(blocks)})


def load_balancer_service(evaluation, blocks):
    return registration(evaluation, SERVICE, "public", {
        "metadata": {"name": "public", "namespace": "backend"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}],
                 "loadBalancerSourceRanges": blocks}})


def endpoint_open_to(evaluation, blocks):
    return changed(evaluation, "eks:index:Cluster", lambda i: i.update(publicAccessCidrs=blocks))


@pytest.mark.parametrize("blocks", IN_EFFECT.values(), ids=IN_EFFECT)
def test_an_aws_ec2_rule_open_to_the_internet_in_effect_is_stopped(prod_node_port, blocks):
    found = violations(plus(prod_node_port, ssh_rule(prod_node_port, blocks)))
    assert list(found) == [WORLD_OPEN]
    assert "'ssh' opens tcp 22-22 to the internet" in found[WORLD_OPEN][0]


@pytest.mark.parametrize("blocks", IN_EFFECT.values(), ids=IN_EFFECT)
def test_rules_that_open_the_internet_in_effect_only_together_are_stopped(prod_node_port, blocks):
    rules = [ingress_rule(prod_node_port, f"ssh-{i}", 22, block, family="cidrIpv6" if ":" in block else "cidrIpv4")
             for i, block in enumerate(blocks)]
    assert list(violations(plus(prod_node_port, *rules))) == [WORLD_OPEN]


@pytest.mark.parametrize("blocks", IN_EFFECT.values(), ids=IN_EFFECT)
def test_an_inline_ingress_block_open_to_the_internet_in_effect_is_stopped(prod_node_port, blocks):
    group = registration(prod_node_port, SECURITY_GROUP, "bastion", {"vpcId": "vpc-1", "ingress": [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": v4(blocks), "ipv6CidrBlocks": v6(blocks)}]})
    assert list(violations(plus(prod_node_port, group))) == [WORLD_OPEN]


@pytest.mark.parametrize("blocks", IN_EFFECT.values(), ids=IN_EFFECT)
def test_a_load_balancer_service_open_to_the_internet_in_effect_is_stopped(prod_node_port, blocks):
    found = violations(plus(prod_node_port, load_balancer_service(prod_node_port, blocks)))
    assert list(found) == [SERVICE_POLICY]
    assert "not covering every public address" in found[SERVICE_POLICY][0]


@pytest.mark.parametrize("blocks", IN_EFFECT.values(), ids=IN_EFFECT)
def test_a_load_balancer_annotation_open_to_the_internet_in_effect_is_stopped(prod_node_port, blocks):
    service = load_balancer_service(prod_node_port, [])
    service.inputs["metadata"]["annotations"] = {"service.beta.kubernetes.io/load-balancer-source-ranges": ",".join(blocks)}
    assert list(violations(plus(prod_node_port, service))) == [SERVICE_POLICY]


@pytest.mark.parametrize("blocks", IN_EFFECT.values(), ids=IN_EFFECT)
def test_a_production_eks_endpoint_open_to_the_internet_in_effect_is_stopped(prod, blocks):
    found = violations(endpoint_open_to(prod, blocks))
    assert list(found) == [ENDPOINT_POLICY]


@pytest.mark.parametrize("blocks", IN_EFFECT.values(), ids=IN_EFFECT)
def test_an_aws_eks_cluster_endpoint_open_to_the_internet_in_effect_is_stopped(prod, blocks):
    cluster = registration(prod, "aws:eks/cluster:Cluster", "raw", {
        "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": blocks}}, protect=True)
    assert ENDPOINT_POLICY in violations(plus(prod, cluster))


@pytest.mark.parametrize("blocks", NEARLY.values(), ids=NEARLY)
def test_a_set_that_leaves_one_public_block_out_is_not_the_internet_to_any_rule(prod, prod_node_port, blocks):
    assert violations(plus(prod_node_port, ssh_rule(prod_node_port, blocks))) == {}
    assert violations(plus(prod_node_port, load_balancer_service(prod_node_port, blocks))) == {}
    assert violations(endpoint_open_to(prod, blocks)) == {}


def public_block():
    spans = public_spans(4)
    return st.builds(lambda i, at, prefix: ipaddress.IPv4Network((spans[i][0] + at % (spans[i][1] - spans[i][0] + 1),
                                                                  prefix), strict=False),
                     st.integers(0, len(spans) - 1), st.integers(0, 2**32), st.integers(8, 32))


RULES = {
    WORLD_OPEN: lambda prod, prod_node_port, blocks: plus(prod_node_port, ssh_rule(prod_node_port, blocks)),
    SERVICE_POLICY: lambda prod, prod_node_port, blocks: plus(prod_node_port, load_balancer_service(prod_node_port, blocks)),
    ENDPOINT_POLICY: lambda prod, prod_node_port, blocks: endpoint_open_to(prod, blocks),
}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rule=st.sampled_from(sorted(RULES)),
       holes=st.lists(st.sampled_from(list(NOT_PUBLIC.values())), unique=True),
       public_holes=st.lists(public_block(), max_size=2))
def test_every_internet_rule_refuses_the_world_less_holes_iff_every_hole_is_not_public(prod, prod_node_port, rule, holes,
                                                                                        public_holes):
    blocks = [str(b) for b in world_less([*holes, *public_holes])]
    found = violations(RULES[rule](prod, prod_node_port, blocks))
    assert (rule in found) == (not public_holes)
