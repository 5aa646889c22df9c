"""A Service is held to the load balancer rule wherever it sits: a ServiceList's or a List's items,
a ConfigGroup's objs, or the items of any object, as pod specs are."""

from __future__ import annotations

import pytest

from ops.offline.harness import UNKNOWN
from tests.policy.adapter import analyze, violations
from tests.policy.builders import plus, registration

POLICY = "service-not-open-to-world"


def service(*, kind=True, **spec):
    body = {"metadata": {"name": "hidden", "namespace": "backend"},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}], **spec}}
    return {"apiVersion": "v1", "kind": "Service", **body} if kind else body


OPEN = {"type": "LoadBalancer"}
EXTERNAL_IPS = {"externalIPs": ["203.0.113.10"]}
LIMITED = {"type": "LoadBalancer", "loadBalancerSourceRanges": ["203.0.113.0/24"]}

# (resource type, inputs around one Service)
CONTAINERS = {
    "ServiceList": ("kubernetes:core/v1:ServiceList", lambda s: {"items": [s]}),
    "ServiceList item without a kind": ("kubernetes:core/v1:ServiceList", lambda s: {"items": [
        {k: v for k, v in s.items() if k not in ("kind", "apiVersion")}]}),
    "ConfigGroup objs": ("kubernetes:yaml/v2:ConfigGroup", lambda s: {"objs": [s]}),
    "v1/List in a ConfigGroup": ("kubernetes:yaml/v2:ConfigGroup", lambda s: {"objs": [
        {"apiVersion": "v1", "kind": "List", "items": [s]}]}),
    "ServiceList in a ConfigGroup": ("kubernetes:yaml/v2:ConfigGroup", lambda s: {"objs": [
        {"apiVersion": "v1", "kind": "ServiceList",
         "items": [{k: v for k, v in s.items() if k not in ("kind", "apiVersion")}]}]}),
    "custom resource's items": ("kubernetes:example.com/v1:Bundle", lambda s: {"spec": {"items": [s]}}),
}


def carrying(evaluation, container, spec):
    type_, wrap = CONTAINERS[container]
    return plus(evaluation, registration(evaluation, type_, "bundle", wrap(service(**spec))))


@pytest.mark.parametrize("container", CONTAINERS)
def test_an_open_load_balancer_service_inside_a_container_is_stopped(prod, container):
    found = violations(carrying(prod, container, OPEN))
    assert list(found) == [POLICY]


@pytest.mark.parametrize("container", CONTAINERS)
def test_a_service_claiming_external_ips_inside_a_container_is_stopped(prod, container):
    assert list(violations(carrying(prod, container, EXTERNAL_IPS))) == [POLICY]


@pytest.mark.parametrize("container", CONTAINERS)
def test_a_limited_load_balancer_service_inside_a_container_passes(prod, container):
    assert violations(carrying(prod, container, LIMITED)) == {}


def test_the_message_names_the_service_and_what_carries_it(prod):
    found = violations(carrying(prod, "ServiceList", OPEN))
    assert found[POLICY] == [
        "Service 'hidden' inside kubernetes:core/v1:ServiceList 'bundle' of type LoadBalancer must limit who reaches it "
        "(loadBalancerSourceRanges, not covering every public address); got none, so 0.0.0.0/0."]


def test_an_item_without_a_kind_outside_a_service_list_is_not_taken_for_a_service(prod):
    # A List's items must name their kind; a kindless one the API refuses is no Service.
    bundle = registration(prod, "kubernetes:yaml/v2:ConfigGroup", "bundle", {"objs": [service(kind=False, **OPEN)]})
    assert violations(plus(prod, bundle)) == {}


@pytest.mark.parametrize(("type_", "inputs"), [
    ("kubernetes:core/v1:ServiceList", {"items": UNKNOWN}),
    ("kubernetes:yaml/v2:ConfigGroup", {"objs": UNKNOWN}),
    ("kubernetes:yaml/v2:ConfigGroup", {"objs": [{"apiVersion": "v1", "kind": UNKNOWN, "spec": {"type": "LoadBalancer"}}]}),
], ids=["items", "objs", "kind"])
def test_an_unknown_value_where_a_service_may_hide_skips_the_service_policy(prod, type_, inputs):
    analysis = analyze(plus(prod, registration(prod, type_, "bundle", inputs)))
    assert analysis.violations == {}
    assert POLICY in analysis.skipped
