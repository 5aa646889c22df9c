"""What the internet may reach: addresses read as sets, every way AWS and Kubernetes open a port."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.policy.adapter import analyze, assert_only_violation, violations
from tests.policy.addresses import covers_public
from tests.policy.builders import SG_RULE, changed, ingress_rule, plus, registration
from tests.support.types import SECURITY_GROUP, SERVICE

POLICY = "world-open-only-on-node-port"
NODE_PORT = 30080


def sg_rule(evaluation, name, **props):
    inputs = {"type": "ingress", "securityGroupId": "sg-1", "protocol": "tcp", "fromPort": 22, "toPort": 22, **props}
    return registration(evaluation, SG_RULE, name, inputs)


def security_group(evaluation, name, *ingress):
    return registration(evaluation, SECURITY_GROUP, name, {"vpcId": "vpc-1", "ingress": list(ingress)})


# --- Address sets, not strings ------------------------------------------------------------------------

WORLD_SPELLINGS = [
    ["0.0.0.0/0"], ["::/0"], ["::0/0"], ["0:0:0:0:0:0:0:0/0"], [" 0.0.0.0/0 "], ["10.1.2.3/0"],
    ["0.0.0.0/1", "128.0.0.0/1"], ["::/1", "8000::/1"], ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"],
    ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2", "10.0.0.0/8"],
    # Every IPv6 internet address is global unicast, 2000::/3, and ::/1 holds all of it.
    ["2000::/3"], ["::/1"], ["2000::/4", "3000::/4"],
]


@pytest.mark.parametrize("cidrs", WORLD_SPELLINGS, ids=[",".join(c) for c in WORLD_SPELLINGS])
def test_cidrs_that_together_cover_the_internet_are_the_internet(prod_node_port, cidrs):
    rules = [ingress_rule(prod_node_port, f"ssh-{i}", 22, cidr, family="cidrIpv6" if ":" in cidr else "cidrIpv4")
             for i, cidr in enumerate(cidrs)]
    messages = assert_only_violation(violations(plus(prod_node_port, *rules)), POLICY)
    assert all("opens tcp 22-22 to the internet" in m for m in messages)


NOT_THE_WORLD = [["0.0.0.0/1"], ["128.0.0.0/1", "0.0.0.0/2"], ["2000::/4"], ["0.0.0.0/1", "2000::/4"],
                 ["4000::/2", "8000::/1"], ["203.0.113.0/24"]]


@pytest.mark.parametrize("cidrs", NOT_THE_WORLD, ids=[",".join(c) for c in NOT_THE_WORLD])
def test_cidrs_that_leave_part_of_the_internet_out_are_not_this_policys_concern(prod_node_port, cidrs):
    rules = [ingress_rule(prod_node_port, f"ssh-{i}", 22, cidr, family="cidrIpv6" if ":" in cidr else "cidrIpv4")
             for i, cidr in enumerate(cidrs)]
    assert violations(plus(prod_node_port, *rules)) == {}


def test_a_cidr_the_pack_cannot_read_counts_as_the_internet(prod_node_port):
    messages = assert_only_violation(violations(plus(prod_node_port, ingress_rule(prod_node_port, "ssh-garbage", 22, "everyone"))), POLICY)
    assert "opens tcp 22-22" in messages[0]


def test_only_the_rules_that_open_the_world_alone_are_named(prod_node_port):
    found = violations(plus(prod_node_port, ingress_rule(prod_node_port, "ssh-world", 22), ingress_rule(prod_node_port, "ssh-office", 22, "203.0.113.0/24")))
    assert len(assert_only_violation(found, POLICY)) == 1
    assert "'ssh-world'" in found[POLICY][0]


def test_halves_that_cover_the_world_together_are_both_named(prod_node_port):
    found = violations(plus(prod_node_port, ingress_rule(prod_node_port, "low-half", 22, "0.0.0.0/1"),
                            ingress_rule(prod_node_port, "high-half", 22, "128.0.0.0/1")))
    assert sorted(m.split("'")[1] for m in assert_only_violation(found, POLICY)) == ["high-half", "low-half"]


# Networks biased toward the big ones, so that unions covering the internet are common.
V4 = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 3))
V6 = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, 2**128 - 1), st.integers(0, 3))


@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(networks=st.lists(V4 | V6, min_size=1, max_size=5), port=st.sampled_from([22, 443, 30080]),
       one_rule=st.booleans())
def test_a_port_is_refused_iff_the_union_of_its_sources_covers_every_public_address_of_a_family(prod_node_port, networks, port, one_rule):
    if one_rule:  # all the CIDRs in one aws:ec2 rule, or one vpc rule per CIDR
        rules = [sg_rule(prod_node_port, "generated", fromPort=port, toPort=port,
                         cidrBlocks=[str(n) for n in networks if n.version == 4],
                         ipv6CidrBlocks=[str(n) for n in networks if n.version == 6])]
    else:
        rules = [ingress_rule(prod_node_port, f"generated-{i}", port, str(n), family=f"cidrIpv{n.version}")
                 for i, n in enumerate(networks)]
    world = covers_public(networks)
    refused = POLICY in violations(plus(prod_node_port, *rules))
    assert refused == (world and port != NODE_PORT)


# --- Every resource that opens a port --------------------------------------------------------------------

def test_an_aws_ec2_rule_open_to_the_world_is_stopped(prod_node_port):
    found = violations(plus(prod_node_port, sg_rule(prod_node_port, "ssh", cidrBlocks=["0.0.0.0/0"])))
    assert "aws:ec2/securityGroupRule:SecurityGroupRule 'ssh' opens tcp 22-22" in assert_only_violation(found, POLICY)[0]


def test_an_aws_ec2_egress_rule_is_not_ingress(prod_node_port):
    assert violations(plus(prod_node_port, sg_rule(prod_node_port, "out", type="egress", cidrBlocks=["0.0.0.0/0"]))) == {}


def test_an_aws_ec2_rule_typed_in_capitals_is_still_ingress(prod_node_port):
    assert_only_violation(violations(plus(prod_node_port, sg_rule(prod_node_port, "ssh", type=" Ingress", cidrBlocks=["0.0.0.0/0"]))), POLICY)


def test_an_inline_ingress_block_of_a_security_group_is_stopped(prod_node_port):
    group = security_group(prod_node_port, "bastion", {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]})
    assert "SecurityGroup 'bastion' opens tcp 22-22" in assert_only_violation(violations(plus(prod_node_port, group)), POLICY)[0]


def test_the_default_security_group_inline_ingress_is_stopped_too(prod_node_port):
    group = registration(prod_node_port, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default",
                         {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]}]})
    assert_only_violation(violations(plus(prod_node_port, group)), POLICY)


def test_an_inline_ingress_block_from_a_private_range_passes(prod_node_port):
    group = security_group(prod_node_port, "bastion", {"protocol": "tcp", "fromPort": 22, "toPort": 22,
                                             "cidrBlocks": ["10.0.0.0/8"]})
    assert violations(plus(prod_node_port, group)) == {}


# --- Ports and protocols --------------------------------------------------------------------------------

@pytest.mark.parametrize(("protocol", "from_port", "to_port"), [
    ("tcp", 30000, 32767), ("tcp", 30080, 30081), ("tcp", 0, 65535), ("-1", -1, -1), ("-1", 0, 0),
    ("all", 30080, 30080), (-1.0, 30080, 30080), ("udp", 30080, 30080), ("17", 30080, 30080),
    ("icmp", -1, -1), ("tcp", None, None), ("tcp", 30081, 30079),
], ids=lambda v: str(v))
def test_more_than_the_node_port_open_to_the_world_is_stopped(prod_node_port, protocol, from_port, to_port):
    rule = ingress_rule(prod_node_port, "wide", from_port, to_port=to_port, protocol=protocol)
    assert_only_violation(violations(plus(prod_node_port, rule)), POLICY)


@pytest.mark.parametrize("protocol", ["tcp", "TCP", "6", 6.0, " tcp "], ids=repr)
def test_exactly_the_node_port_over_tcp_may_be_open_to_the_world(prod_node_port, protocol):
    assert violations(plus(prod_node_port, ingress_rule(prod_node_port, "nodeport", NODE_PORT, protocol=protocol))) == {}


def test_the_node_port_may_be_open_through_several_rules_and_families(prod_node_port):
    rules = [ingress_rule(prod_node_port, "v4", NODE_PORT), ingress_rule(prod_node_port, "v6", NODE_PORT, "::/0", family="cidrIpv6"),
             sg_rule(prod_node_port, "both", fromPort=NODE_PORT, toPort=NODE_PORT, cidrBlocks=["0.0.0.0/0"])]
    assert violations(plus(prod_node_port, *rules)) == {}


def test_a_private_range_across_all_ports_does_not_widen_the_node_port(prod_node_port):
    rules = [ingress_rule(prod_node_port, "nodeport", NODE_PORT), ingress_rule(prod_node_port, "vpc", 0, "10.0.0.0/8", to_port=65535)]
    assert violations(plus(prod_node_port, *rules)) == {}


def second_node_port_service(prod_node_port, node_port=30081):
    template = prod_node_port.one(SERVICE)
    inputs = {"metadata": {"name": "second", "namespace": "backend"},
              "spec": {"type": "NodePort", "selector": {"app": "x"},
                       "ports": [{"port": 80, "targetPort": 80, "nodePort": float(node_port), "protocol": "TCP"}]}}
    return registration(prod_node_port, template.type, "second-service", inputs)


def test_a_second_node_port_open_to_the_world_is_stopped(prod_node_port):
    found = violations(plus(prod_node_port, second_node_port_service(prod_node_port), ingress_rule(prod_node_port, "first", NODE_PORT),
                            ingress_rule(prod_node_port, "second", 30081)))
    [message] = assert_only_violation(found, POLICY)
    assert "'second' opens tcp 30081-30081" in message and "only one of them" in message


def test_a_second_node_port_open_to_a_private_range_is_fine(prod_node_port):
    found = violations(plus(prod_node_port, second_node_port_service(prod_node_port), ingress_rule(prod_node_port, "first", NODE_PORT),
                            ingress_rule(prod_node_port, "second", 30081, "10.0.0.0/8")))
    assert found == {}


def test_a_port_that_no_node_port_service_declares_is_not_the_node_port(prod_node_port):
    # The app's Service turned ClusterIP: its old nodePort is just a port now.
    evaluation = changed(prod_node_port, SERVICE, lambda i: i["spec"].update(type="ClusterIP"))
    assert_only_violation(violations(plus(evaluation, ingress_rule(prod_node_port, "nodeport", NODE_PORT))), POLICY)


# --- Prefix lists ---------------------------------------------------------------------------------------

def test_a_prefix_list_the_stack_does_not_show_counts_as_the_internet(prod_node_port):
    rule = registration(prod_node_port, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "via-list", {
        "securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "prefixListId": "pl-0123"})
    assert_only_violation(violations(plus(prod_node_port, rule)), POLICY)


def prefix_list(prod_node_port, *cidrs):
    return registration(prod_node_port, "aws:ec2/managedPrefixList:ManagedPrefixList", "office",
                        {"addressFamily": "IPv4", "maxEntries": 5, "entries": [{"cidr": c} for c in cidrs]})


def rule_via(prod_node_port, prefix):
    return registration(prod_node_port, SG_RULE, "via-list", {
        "type": "ingress", "securityGroupId": "sg-1", "protocol": "tcp", "fromPort": 22, "toPort": 22,
        "prefixListIds": ["pl-office"]}, property_dependencies={"prefixListIds": [prefix.urn]})


def test_a_prefix_list_of_the_stack_is_read_for_its_entries(prod_node_port):
    office = prefix_list(prod_node_port, "203.0.113.0/24")
    assert violations(plus(prod_node_port, office, rule_via(prod_node_port, office))) == {}


def test_a_prefix_list_of_the_stack_that_holds_the_world_is_the_world(prod_node_port):
    halves = prefix_list(prod_node_port, "0.0.0.0/1")
    entry = registration(prod_node_port, "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "other-half",
                         {"prefixListId": "pl-office", "cidr": "128.0.0.0/1"},
                         property_dependencies={"prefixListId": [halves.urn]})
    assert_only_violation(violations(plus(prod_node_port, halves, entry, rule_via(prod_node_port, halves))), POLICY)


# --- Kubernetes Services --------------------------------------------------------------------------------

LB_POLICY = "service-not-open-to-world"


def load_balancer(prod_node_port, **spec):
    inputs = {"metadata": {"name": "public", "namespace": "backend"},
              "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}], **spec}}
    return registration(prod_node_port, SERVICE, "public", inputs)


@pytest.mark.parametrize("spec", [
    {}, {"loadBalancerSourceRanges": []}, {"loadBalancerSourceRanges": ["0.0.0.0/0"]},
    {"loadBalancerSourceRanges": ["0.0.0.0/1", "128.0.0.0/1"]}, {"loadBalancerSourceRanges": ["::/0"]},
    {"loadBalancerSourceRanges": ["anyone"]},
], ids=repr)
def test_a_load_balancer_open_to_the_world_is_stopped(prod_node_port, spec):
    found = violations(plus(prod_node_port, load_balancer(prod_node_port, **spec)))
    assert list(found) == [LB_POLICY]


def test_a_load_balancer_limited_to_known_ranges_passes(prod_node_port):
    assert violations(plus(prod_node_port, load_balancer(prod_node_port, loadBalancerSourceRanges=["203.0.113.0/24"]))) == {}


def test_a_load_balancer_limited_by_the_annotation_passes(prod_node_port):
    service = load_balancer(prod_node_port)
    service.inputs["metadata"]["annotations"] = {
        "service.beta.kubernetes.io/load-balancer-source-ranges": "203.0.113.0/24, 198.51.100.0/24"}
    assert violations(plus(prod_node_port, service)) == {}


def test_a_load_balancer_annotation_that_opens_the_world_is_stopped(prod_node_port):
    service = load_balancer(prod_node_port)
    service.inputs["metadata"]["annotations"] = {
        "service.beta.kubernetes.io/load-balancer-source-ranges": "0.0.0.0/1,128.0.0.0/1"}
    assert list(violations(plus(prod_node_port, service))) == [LB_POLICY]


def test_a_service_claiming_external_ips_is_stopped(prod_node_port):
    evaluation = changed(prod_node_port, SERVICE, lambda i: i["spec"].update(externalIPs=["203.0.113.10"]))
    assert list(violations(evaluation)) == [LB_POLICY]


def test_a_world_open_rule_in_a_preview_is_stopped_when_its_ports_are_known(prod_preview):
    found = analyze(plus(prod_preview, ingress_rule(prod_preview, "ssh-world", 22))).violations
    assert list(found) == [POLICY]


def test_a_cidr_with_host_bits_set_is_read_as_its_network(prod_node_port):
    # 203.0.113.5/24 is 203.0.113.0/24, as AWS reads it: not unreadable, and not the internet.
    assert violations(plus(prod_node_port, ingress_rule(prod_node_port, "ssh-office", 22, "203.0.113.5/24"))) == {}


@pytest.mark.parametrize(("protocol", "refused"), [
    ("-1", True), ("all", True), ("6", False), ("tcp", False), ("17", True), ("udp", True),
    ("1", True), ("icmp", True), ("58", True), ("icmpv6", True),
])
def test_every_protocol_spelling_reaches_the_right_protocol(prod_node_port, protocol, refused):
    # On the nodePort itself: only TCP (by name or number) may be open; every other protocol,
    # and "all", reaches more than that port.
    found = violations(plus(prod_node_port, ingress_rule(prod_node_port, "p", NODE_PORT, protocol=protocol)))
    assert (found != {}) == refused


@pytest.mark.parametrize(("protocol", "world"), [("udp", "0.0.0.0/0"), ("icmp", "::/0"), ("icmpv6", "::/0")])
def test_a_protocol_open_only_to_a_private_range_passes_and_to_the_world_is_stopped(prod_node_port, protocol, world):
    private = ingress_rule(prod_node_port, "private", 53, "10.0.0.0/8", protocol=protocol)
    assert violations(plus(prod_node_port, private)) == {}
    assert_only_violation(violations(plus(prod_node_port, private, ingress_rule(prod_node_port, "world", 53, world, protocol=protocol,
                                                            family="cidrIpv6" if ":" in world else "cidrIpv4"))), POLICY)


def test_an_inline_ipv6_ingress_block_is_read(prod_node_port):
    group = security_group(prod_node_port, "v6", {"protocol": "tcp", "fromPort": 22, "toPort": 22, "ipv6CidrBlocks": ["::/0"]})
    assert_only_violation(violations(plus(prod_node_port, group)), POLICY)


def test_an_inline_prefix_list_counts_as_the_internet(prod_node_port):
    group = security_group(prod_node_port, "pl", {"protocol": "tcp", "fromPort": 22, "toPort": 22, "prefixListIds": ["pl-1"]})
    assert_only_violation(violations(plus(prod_node_port, group)), POLICY)


def test_a_prefix_list_entry_of_the_stack_that_is_private_passes(prod_node_port):
    office = prefix_list(prod_node_port)
    entry = registration(prod_node_port, "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "office-entry",
                         {"prefixListId": "pl-office", "cidr": "203.0.113.0/24"},
                         property_dependencies={"prefixListId": [office.urn]})
    unrelated = registration(prod_node_port, "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "elsewhere",
                             {"prefixListId": "pl-other", "cidr": "0.0.0.0/0"})
    assert violations(plus(prod_node_port, office, entry, unrelated, rule_via(prod_node_port, office))) == {}


def test_a_service_port_without_a_node_port_is_not_a_node_port(prod_node_port):
    evaluation = changed(prod_node_port, SERVICE, lambda i: i["spec"]["ports"].append({"port": 9090, "protocol": "TCP"}))
    assert violations(plus(evaluation, ingress_rule(prod_node_port, "nodeport", NODE_PORT))) == {}


def test_a_single_world_open_node_port_gets_the_plain_message(prod_node_port):
    found = violations(plus(prod_node_port, ingress_rule(prod_node_port, "nodeport", NODE_PORT), ingress_rule(prod_node_port, "ssh", 22)))
    assert assert_only_violation(found, POLICY) == ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'ssh' opens tcp 22-22 "
                                  "to the internet; only the Service's nodePort ([30080]) may be."]


def test_with_no_node_port_service_the_message_says_none(prod_node_port):
    evaluation = changed(prod_node_port, SERVICE, lambda i: i["spec"].update(type="ClusterIP"))
    assert "only the Service's nodePort (none) may be." in assert_only_violation(violations(plus(evaluation, ingress_rule(prod_node_port, "s", 22))), POLICY)[0]


def test_every_offending_rule_is_named_once(prod_node_port):
    found = violations(plus(prod_node_port, ingress_rule(prod_node_port, "ssh", 22, to_port=23), ingress_rule(prod_node_port, "dns", 53, protocol="udp")))
    assert sorted(m.split("'")[1] for m in assert_only_violation(found, POLICY)) == ["dns", "ssh"]


def test_a_service_patch_is_held_to_the_load_balancer_rule(prod_node_port):
    patch = load_balancer(prod_node_port)
    patch.type, patch.urn = "kubernetes:core/v1:ServicePatch", patch.urn.replace(SERVICE, "kubernetes:core/v1:ServicePatch")
    assert list(violations(plus(prod_node_port, patch))) == [LB_POLICY]


def test_the_external_ips_message(prod_node_port):
    evaluation = changed(prod_node_port, SERVICE, lambda i: i["spec"].update(externalIPs=["203.0.113.10"]))
    assert violations(evaluation) == {LB_POLICY: [
        "Service must not claim externalIPs (every node would forward them to it); got ['203.0.113.10']."]}


@pytest.mark.parametrize(("first", "second", "port"), [
    ("-1", "tcp", 22), ("all", "6", 22), ("tcp", "6", 22), ("17", "udp", 53), ("1", "icmp", -1), ("58", "icmpv6", -1),
    ("-1", "udp", 53), ("all", "icmpv6", -1),
])
def test_two_spellings_of_one_protocol_add_up_to_the_world(prod_node_port, first, second, port):
    family = "cidrIpv6" if "icmpv6" in (first, second) or "58" in (first, second) else "cidrIpv4"
    halves = ("::/1", "8000::/1") if family == "cidrIpv6" else ("0.0.0.0/1", "128.0.0.0/1")
    rules = [ingress_rule(prod_node_port, "a", port, halves[0], protocol=first, family=family),
             ingress_rule(prod_node_port, "b", port, halves[1], protocol=second, family=family)]
    assert_only_violation(violations(plus(prod_node_port, *rules)), POLICY)


def test_halves_in_different_protocols_are_not_the_world(prod_node_port):
    rules = [ingress_rule(prod_node_port, "a", 22, "0.0.0.0/1", protocol="tcp"), ingress_rule(prod_node_port, "b", 22, "128.0.0.0/1", protocol="udp")]
    assert violations(plus(prod_node_port, *rules)) == {}


def test_an_aws_ec2_rule_open_to_the_ipv6_world_is_stopped(prod_node_port):
    assert_only_violation(violations(plus(prod_node_port, sg_rule(prod_node_port, "ssh6", ipv6CidrBlocks=["::/0"]))), POLICY)


def test_the_second_node_port_message(prod_node_port):
    found = violations(plus(prod_node_port, second_node_port_service(prod_node_port), ingress_rule(prod_node_port, "first", NODE_PORT),
                            ingress_rule(prod_node_port, "second", 30081)))
    assert assert_only_violation(found, POLICY) == ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'second' opens tcp "
                                  "30081-30081 to the internet; only the Service's nodePort ([30080, 30081]) may be, "
                                  "and only one of them."]


def test_udp_halves_on_different_ports_are_not_the_world(prod_node_port):
    rules = [ingress_rule(prod_node_port, "a", 53, "0.0.0.0/1", protocol="udp"), ingress_rule(prod_node_port, "b", 54, "128.0.0.0/1", protocol="udp")]
    assert violations(plus(prod_node_port, *rules)) == {}


# --- Only a real nodePort licenses a world-open rule --------------------------------------------------------

def node_port_moved_to(prod_node_port, port):
    """The app's Service declaring nodePort `port`, and the program's world-open rule following it."""
    evaluation = changed(prod_node_port, SERVICE, lambda i: i["spec"]["ports"][0].update(nodePort=float(port)))
    [rule] = [r for r in evaluation.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
              if r.name.startswith("nodeport-access-")]
    rule.inputs.update(fromPort=float(port), toPort=float(port))
    return evaluation


@pytest.mark.parametrize("port", [22, 443, 3389, 29999, 32768, 65535])
def test_a_declared_node_port_outside_the_node_port_range_licenses_nothing(prod_node_port, port):
    # The API server refuses such a nodePort: declaring it must not open the port to the internet.
    found = assert_only_violation(violations(node_port_moved_to(prod_node_port, port)), POLICY)
    assert f"opens tcp {port}-{port} to the internet; only the Service's nodePort (none) may be." in found[0]


@pytest.mark.parametrize("port", [30000, 32767])
def test_a_declared_node_port_at_either_end_of_the_range_still_licenses_its_rule(prod_node_port, port):
    assert violations(node_port_moved_to(prod_node_port, port)) == {}
