"""The pack in front of a load balancer: the nodePort admits the load balancer alone, the internet
reaches the listener alone, and a production name is served over modern TLS only."""

from __future__ import annotations

import pytest

from ops.offline.stacks import evaluate_stack
from tests.policy.adapter import violations
from tests.policy.builders import changed, ingress_rule, plus, registration
from tests.support.types import INGRESS_RULE, LISTENER

PREFIX = "backend-on-eks:"
DOMAIN = {PREFIX + "domainName": "api.example.com", PREFIX + "hostedZoneId": "Z0123456789ABCDEFGHIJ"}


@pytest.fixture(scope="module")
def prod_tls():
    return evaluate_stack("prod", DOMAIN)


@pytest.fixture(scope="module")
def dev_behind_load_balancer():
    return evaluate_stack("dev", {PREFIX + "exposure": "loadBalancer", **DOMAIN})


def urn_of(evaluation, type_, name):
    return next(r.urn for r in evaluation.registrations if r.type == type_ and r.name == name)


def test_prod_with_a_domain_passes_every_policy(prod_tls):
    assert violations(prod_tls) == {}


def test_a_node_port_rule_from_a_private_range_is_stopped_behind_a_load_balancer(prod):
    found = violations(plus(prod, ingress_rule(prod, "vpn", 30080.0, "10.8.0.0/16")))
    assert list(found) == ["node-port-behind-load-balancer"]


def test_a_node_port_rule_from_another_security_group_is_stopped(prod):
    bastion = registration(prod, "aws:ec2/securityGroup:SecurityGroup", "bastion", {"vpcId": "vpc-1"})
    rule = registration(prod, INGRESS_RULE, "from-bastion", {
        "securityGroupId": "sg-nodes", "ipProtocol": "tcp", "fromPort": 30080.0, "toPort": 30080.0,
        "referencedSecurityGroupId": "sg-bastion",
    }, property_dependencies={"referencedSecurityGroupId": [bastion.urn]})
    assert list(violations(plus(prod, bastion, rule))) == ["node-port-behind-load-balancer"]


def test_a_rule_over_every_port_from_a_cidr_counts_as_a_node_port_rule(prod):
    found = violations(plus(prod, ingress_rule(prod, "all-from-office", 0.0, "10.8.0.0/16",
                                               to_port=65535.0)))
    assert list(found) == ["node-port-behind-load-balancer"]


def test_the_node_port_open_to_the_internet_is_stopped_behind_a_load_balancer(prod):
    found = violations(plus(prod, ingress_rule(prod, "nodeport-world", 30080.0)))
    assert set(found) == {"world-open-only-on-node-port", "node-port-behind-load-balancer"}


def test_the_listener_port_open_to_the_internet_on_another_group_is_stopped(prod):
    found = violations(plus(prod, ingress_rule(prod, "http-world-elsewhere", 80.0)))
    assert list(found) == ["world-open-only-on-node-port"]
    assert "on the load balancer's own security group" in found["world-open-only-on-node-port"][0]


def test_the_program_admits_the_node_port_from_the_load_balancer_group_only(prod):
    rule = next(r for r in prod.registrations if r.type == INGRESS_RULE and r.name == "front-door-nodeport-from-lb")
    assert rule.property_dependencies["referencedSecurityGroupId"] == [
        urn_of(prod, "aws:ec2/securityGroup:SecurityGroup", "front-door-sg")]
    assert "cidrIpv4" not in rule.inputs


def test_a_plain_tcp_listener_beside_the_tls_one_is_stopped_in_production(prod_tls):
    plain = registration(prod_tls, LISTENER, "plain-http", {"port": 80.0, "protocol": "TCP"})
    found = violations(plus(prod_tls, plain))
    assert found == {"listener-tls-in-production": [
        "aws:lb/listener:Listener 'plain-http' serves 'TCP' on port 80: a production stack with a domain serves TLS only."]}


def test_prod_without_a_domain_may_serve_plain_tcp(prod):
    assert prod.one(LISTENER).inputs["protocol"] == "TCP"
    assert "listener-tls-in-production" not in violations(prod)


def test_a_non_production_stack_with_a_domain_may_serve_plain_tcp(dev_behind_load_balancer):
    plain = registration(dev_behind_load_balancer, LISTENER, "plain-http", {"port": 80.0, "protocol": "TCP"})
    assert violations(plus(dev_behind_load_balancer, plain)) == {}


@pytest.mark.parametrize("policy", [
    None, "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS-1-1-2017-01", "ELBSecurityPolicy-TLS13-1-0-2021-06",
    "ELBSecurityPolicy-TLS13-1-1-2021-06", "ELBSecurityPolicy-FS-2018-06", "ELBSecurityPolicy-TLS13-1-2-2021-06 ",
    "elbsecuritypolicy-tls13-1-2-2021-06",
])
def test_a_tls_listener_with_a_policy_that_takes_old_tls_is_stopped(prod_tls, policy):
    found = violations(changed(prod_tls, LISTENER, lambda inputs: inputs.update(sslPolicy=policy)))
    assert list(found) == ["listener-modern-tls"]


@pytest.mark.parametrize("policy", [
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10",
])
def test_a_tls_listener_with_a_tls_1_2_minimum_policy_passes(prod_tls, policy):
    assert violations(changed(prod_tls, LISTENER, lambda inputs: inputs.update(sslPolicy=policy))) == {}


def test_an_https_listener_is_held_to_the_same_tls_policy_rule(prod_tls):
    found = violations(changed(prod_tls, LISTENER, lambda inputs: inputs.update(
        protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08")))
    assert list(found) == ["listener-modern-tls"]


def test_a_port_of_the_load_balancers_own_group_that_no_listener_serves_is_stopped(prod):
    group = next(r for r in prod.registrations if r.type == "aws:ec2/securityGroup:SecurityGroup" and r.name == "front-door-sg")
    rule = registration(prod, INGRESS_RULE, "lb-443-world", {
        "securityGroupId": "sg-front-door", "ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrIpv4": "0.0.0.0/0",
    }, property_dependencies={"securityGroupId": [group.urn]})
    found = violations(plus(prod, rule))
    assert list(found) == ["world-open-only-on-node-port"]
    assert found["world-open-only-on-node-port"][0].startswith(f"{INGRESS_RULE} 'lb-443-world' opens tcp 443-443")
