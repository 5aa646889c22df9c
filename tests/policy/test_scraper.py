"""metrics-scraper-reaches-only-metrics: the scraper reaches the API and its metrics ports, no more."""

from __future__ import annotations

import copy

import pytest

from tests.policy.adapter import assert_only_violation, violations
from tests.policy.builders import registration

POLICY = "metrics-scraper-reaches-only-metrics"
SCRAPER = "aws:amp/scraper:Scraper"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def edited(evaluation, type_, name, change):
    copied = copy.deepcopy(evaluation)
    change(copied.one(type_, name))
    return copied


def scraper_group_urn(evaluation) -> str:
    return evaluation.one("aws:ec2/securityGroup:SecurityGroup", "metrics-scraper-sg").urn


def test_the_prod_stack_as_declared_passes(prod):
    assert POLICY not in violations(prod)


def test_a_new_stacks_preview_judges_the_rules_though_the_group_ids_are_unknown(prod_preview):
    # A pending resource shows the pack its planned state (its outputs), unknown IDs included.
    def move(rule):
        assert rule.pending
        rule.outputs.update(fromPort=22.0, toPort=22.0)
    assert_only_violation(violations(edited(prod_preview, EGRESS, "metrics-scraper-to-8081", move)), POLICY)


def test_a_scraper_without_a_security_group_of_its_own_is_stopped(prod):
    def drop(scraper):
        scraper.inputs["source"]["eks"].pop("securityGroupIds")
        scraper.property_dependencies["source"] = [
            urn for urn in scraper.property_dependencies["source"] if urn != scraper_group_urn(prod)]
    [message] = assert_only_violation(violations(edited(prod, SCRAPER, "metrics-scraper", drop)), POLICY)
    assert "no security group of this stack" in message


def test_the_clusters_own_group_given_by_id_beside_its_own_is_stopped(prod):
    def add(scraper):
        scraper.inputs["source"]["eks"]["securityGroupIds"].append("sg-0eksclustersg00001")
    [message] = assert_only_violation(violations(edited(prod, SCRAPER, "metrics-scraper", add)), POLICY)
    assert "1 security group(s) named by ID" in message


@pytest.mark.parametrize("port", [22, 10250, 8080])
def test_an_egress_rule_to_a_port_it_does_not_scrape_is_stopped(prod, port):
    def move(rule):
        rule.inputs.update(fromPort=float(port), toPort=float(port))
    [message] = assert_only_violation(violations(edited(prod, EGRESS, "metrics-scraper-to-8081", move)), POLICY)
    assert f"reaches tcp {port}.0-{port}.0" in message and "[443, 8081, 8085]" in message


def test_an_egress_rule_over_a_port_range_is_stopped(prod):
    def widen(rule):
        rule.inputs.update(fromPort=0.0, toPort=65535.0)
    assert_only_violation(violations(edited(prod, EGRESS, "metrics-scraper-to-8081", widen)), POLICY)


def test_an_egress_rule_to_addresses_instead_of_a_group_is_stopped(prod):
    def to_vpc(rule):
        rule.inputs.pop("referencedSecurityGroupId")
        rule.inputs["cidrIpv4"] = "10.0.0.0/16"
    [message] = assert_only_violation(violations(edited(prod, EGRESS, "metrics-scraper-to-8081", to_vpc)), POLICY)
    assert "addresses (cidrIpv4)" in message


def test_the_nodes_admitting_the_scraper_on_the_kubelet_port_is_stopped(prod):
    def kubelet(rule):
        rule.inputs.update(fromPort=10250.0, toPort=10250.0)
    [message] = assert_only_violation(violations(edited(prod, INGRESS, "metrics-8081-from-scraper", kubelet)), POLICY)
    assert "admits it on tcp 10250.0-10250.0" in message


def test_a_rule_letting_anything_call_the_scraper_is_stopped(prod):
    rule = registration(prod, INGRESS, "into-scraper", {
        "securityGroupId": "sg-scraper", "ipProtocol": "tcp", "fromPort": 8081.0, "toPort": 8081.0,
        "referencedSecurityGroupId": "sg-0eksclustersg00001"},
        property_dependencies={"securityGroupId": [scraper_group_urn(prod)]})
    copied = copy.deepcopy(prod)
    copied.registrations.append(rule)
    [message] = assert_only_violation(violations(copied), POLICY)
    assert "'into-scraper' lets something call the scraper" in message


def test_a_job_that_keeps_no_port_by_name_is_stopped(prod):
    def every_port(scraper):
        scraper.inputs["scrapeConfiguration"] = scraper.inputs["scrapeConfiguration"].replace(
            "__meta_kubernetes_pod_container_port_name", "__meta_kubernetes_pod_container_name")
    [message] = assert_only_violation(violations(edited(prod, SCRAPER, "metrics-scraper", every_port)), POLICY)
    assert "job 'nextwork-flask-backend' keeps no container port by name" in message


def test_a_port_kept_by_name_licenses_the_number_the_workload_gives_that_name(prod):
    # Keeping "http" instead of "admin" makes 8080 the scraped port: the rules to 8081 are now too wide.
    def http(scraper):
        scraper.inputs["scrapeConfiguration"] = scraper.inputs["scrapeConfiguration"].replace("regex: admin", "regex: http")
    [message] = assert_only_violation(violations(edited(prod, SCRAPER, "metrics-scraper", http)), POLICY)
    assert "[443, 8080, 8085]" in message
