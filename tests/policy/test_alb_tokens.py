"""pulumi-aws declares each load balancer resource under aws:lb/* and again under the alias module
aws:alb/* (pulumi_aws.alb): every load balancer rule holds for both spellings."""

from __future__ import annotations

import pytest

from ops.offline.stacks import evaluate_stack
from tests.policy.adapter import violations
from tests.policy.builders import changed, ingress_rule, plus, registration, retyped

PREFIX = "backend-on-eks:"
DOMAIN = {PREFIX + "domainName": "api.example.com", PREFIX + "hostedZoneId": "Z0123456789ABCDEFGHIJ"}
ALIASES = {  # the tokens pulumi_aws/lb/*.py and pulumi_aws/alb/*.py register
    "aws:lb/loadBalancer:LoadBalancer": "aws:alb/loadBalancer:LoadBalancer",
    "aws:lb/listener:Listener": "aws:alb/listener:Listener",
    "aws:lb/targetGroup:TargetGroup": "aws:alb/targetGroup:TargetGroup",
}
ALB_LISTENER = ALIASES["aws:lb/listener:Listener"]
ALB_LOAD_BALANCER = ALIASES["aws:lb/loadBalancer:LoadBalancer"]


def through_alb(evaluation):
    for old, new in ALIASES.items():
        evaluation = retyped(evaluation, old, new)
    return evaluation


@pytest.fixture(scope="module")
def prod_alb(prod):
    return through_alb(prod)


@pytest.fixture(scope="module")
def prod_tls_alb():
    return through_alb(evaluate_stack("prod", DOMAIN))


def test_prod_declared_through_aws_alb_passes_every_policy(prod_alb, prod_tls_alb):
    # Its listener rule is the load balancer's own group's, on the listener's port: not "the nodePort".
    assert violations(prod_alb) == {}
    assert violations(prod_tls_alb) == {}


@pytest.mark.parametrize("policy", [None, "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-1-2021-06"])
def test_an_old_tls_policy_on_an_aws_alb_listener_is_stopped(prod_tls_alb, policy):
    found = violations(changed(prod_tls_alb, ALB_LISTENER, lambda i: i.update(sslPolicy=policy)))
    assert list(found) == ["listener-modern-tls"]


def test_a_plain_aws_alb_listener_is_stopped_in_production_with_a_domain(prod_tls_alb):
    plain = registration(prod_tls_alb, ALB_LISTENER, "plain-http", {"port": 80.0, "protocol": "HTTP"})
    assert violations(plus(prod_tls_alb, plain)) == {"listener-tls-in-production": [
        "aws:alb/listener:Listener 'plain-http' serves 'HTTP' on port 80: a production stack with a domain serves "
        "TLS only."]}


def test_behind_an_aws_alb_load_balancer_the_node_port_admits_its_group_only(prod_alb):
    found = violations(plus(prod_alb, ingress_rule(prod_alb, "vpn", 30080.0, "10.8.0.0/16")))
    assert list(found) == ["node-port-behind-load-balancer"]


def test_behind_an_aws_alb_load_balancer_the_node_port_open_to_the_internet_is_stopped(prod_alb):
    found = violations(plus(prod_alb, ingress_rule(prod_alb, "nodeport-world", 30080.0)))
    assert set(found) == {"world-open-only-on-node-port", "node-port-behind-load-balancer"}


def test_an_aws_alb_load_balancer_carrying_the_nodes_group_is_stopped(prod_alb):
    found = violations(changed(prod_alb, ALB_LOAD_BALANCER, lambda i: i["securityGroups"].append("sg-0eksclustersg00001")))
    assert list(found) == ["load-balancer-own-security-groups"]
    assert found["load-balancer-own-security-groups"][0].startswith(f"{ALB_LOAD_BALANCER} 'front-door-nlb' must carry")
