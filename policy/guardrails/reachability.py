"""What the internet may reach (stack-wide): the nodePort, or the load balancer's listener, only."""

from __future__ import annotations

import re
from typing import Any, Iterator

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

from .cidrs import _covers_internet, _network, _unreadable_cidrs
from .production import _is_production
from .values import Report, _is_list, _map, _number, _seq, _shown


# Every ingress rule is read as (protocol, ports, address set). For each protocol and port the
# union of all rules' sources is computed; wherever it covers the internet, only TCP on the one
# nodePort of a NodePort Service is allowed. A prefix list the pack cannot see into counts as the
# internet.

PROTOCOLS = {"-1": "all", "all": "all", "6": "tcp", "tcp": "tcp", "17": "udp", "udp": "udp",
             "1": "icmp", "icmp": "icmp", "58": "icmpv6", "icmpv6": "icmpv6"}
PORTED = ("tcp", "udp")
ALL_PORTS = (0, 65535)
MANAGED_PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
MANAGED_PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"


class _Ingress:
    def __init__(self, resource, protocol: Any, from_port: Any, to_port: Any, cidrs: list[Any],
                 prefix_lists: tuple[int, list[Any]] = (0, [])) -> None:
        self.resource, self.protocol_given = resource, protocol
        self.from_given, self.to_given = from_port, to_port
        number = _number(protocol)
        text = str(int(number)) if number is not None and number.is_integer() else str(protocol).strip().lower()
        self.protocol = PROTOCOLS.get(text, text)
        low, high = _number(from_port), _number(to_port)
        if self.protocol not in PORTED or low is None or high is None or low < 0 or high < 0:
            self.ports = ALL_PORTS  # unset, -1, or not a port protocol: every port
        else:
            self.ports = (int(min(low, high)), int(max(low, high)))
        unseen_lists, list_cidrs = prefix_lists
        cidrs = [*cidrs, *list_cidrs]
        # An unreadable CIDR or a prefix list whose entries are not in the stack may be anything.
        self.unknown_sources = bool(_unreadable_cidrs(cidrs)) or unseen_lists > 0
        self.networks = [n for n in map(_network, cidrs) if n is not None]

    def opens(self, protocol: str, port: int) -> bool:
        if self.protocol != "all" and self.protocol != protocol:
            return False
        return protocol not in PORTED or self.ports[0] <= port <= self.ports[1]

    def alone_opens_world(self) -> bool:
        return self.unknown_sources or _covers_internet(self.networks)

    def __str__(self) -> str:
        return (f"{self.resource.resource_type} {self.resource.name!r} opens {self.protocol_given} "
                f"{_shown(self.from_given)}-{_shown(self.to_given)} to the internet")


def _prefix_list_cidrs(resource, key: str, resources) -> tuple[int, list[Any]]:
    """(how many of the rule's prefix lists the stack does not show, the CIDRs of those it does)."""
    ids = _seq(resource.props.get(key))
    lists = [d for d in resource.property_dependencies.get(key, []) if d.resource_type == MANAGED_PREFIX_LIST]
    cidrs = [_map(e).get("cidr") for pl in lists for e in _seq(pl.props.get("entries"))]
    list_urns = {pl.urn for pl in lists}
    cidrs += [r.props.get("cidr") for r in resources if r.resource_type == MANAGED_PREFIX_LIST_ENTRY
              and {d.urn for d in r.property_dependencies.get("prefixListId", [])} & list_urns]
    return max(len(ids) - len(lists), 0), cidrs


def _ingress_rules(resources) -> Iterator[_Ingress]:
    for resource in resources:
        props, kind = resource.props, resource.resource_type
        if kind == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            cidrs = [c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c is not None]
            yield _Ingress(resource, props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), cidrs,
                           _prefix_list_cidrs(resource, "prefixListId", resources))
        elif kind == "aws:ec2/securityGroupRule:SecurityGroupRule":
            if str(props.get("type")).strip().lower() == "ingress":
                cidrs = [*_seq(props.get("cidrBlocks")), *_seq(props.get("ipv6CidrBlocks"))]
                yield _Ingress(resource, props.get("protocol"), props.get("fromPort"), props.get("toPort"), cidrs,
                               _prefix_list_cidrs(resource, "prefixListIds", resources))
        elif kind in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
            for rule in _seq(props.get("ingress")):
                rule = _map(rule)
                cidrs = [*_seq(rule.get("cidrBlocks")), *_seq(rule.get("ipv6CidrBlocks"))]
                # Inline rules name prefix lists the stack may not show; count them all as unseen.
                unseen = len(_seq(rule.get("prefixListIds")))
                yield _Ingress(resource, rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"), cidrs,
                               (unseen, []))


# The only ports the API server gives a nodePort: kube-apiserver's --service-node-port-range,
# 30000-32767 unless changed, and EKS does not let it be changed. A nodePort declared outside it
# is refused by the API server, so it licenses nothing (nodePort: 22 must not open SSH).
NODE_PORT_RANGE = (30000, 32767)


def _declared_node_ports(resources) -> set[int]:
    ports = set()
    for resource in resources:
        if resource.resource_type == "kubernetes:core/v1:Service":
            spec = _map(resource.props.get("spec"))
            if spec.get("type") == "NodePort":
                ports |= {int(n) for p in _seq(spec.get("ports"))
                          if (n := _number(_map(p).get("nodePort"))) is not None and n.is_integer()}
    return ports


def _node_ports(resources) -> set[int]:
    """The nodePorts that may face the internet: declared, and within the nodePort range."""
    return {port for port in _declared_node_ports(resources) if NODE_PORT_RANGE[0] <= port <= NODE_PORT_RANGE[1]}


def _world_open(rules: list[_Ingress]) -> dict[tuple[str, int, int], list[_Ingress]]:
    """(protocol, first port, last port) -> the rules that together open it to the internet."""
    protocols = {r.protocol for r in rules if r.protocol != "all"} | ({*PORTED, "other"} if any(
        r.protocol == "all" for r in rules) else set())
    found: dict[tuple[str, int, int], list[_Ingress]] = {}
    for protocol in sorted(protocols):
        # Elementary port segments: between any two consecutive rule boundaries the set of rules
        # that apply is constant, so one port per segment decides for the whole segment.
        bounds = sorted({ALL_PORTS[0], ALL_PORTS[1] + 1} | {
            b for r in rules for b in (r.ports[0], r.ports[1] + 1)}) if protocol in PORTED else [0, 1]
        for low, next_low in zip(bounds, bounds[1:]):
            applying = [r for r in rules if r.opens(protocol, low)]
            if not applying:
                continue
            alone = [r for r in applying if r.alone_opens_world()]
            if alone or _covers_internet(n for r in applying for n in r.networks):
                found[(protocol, low, next_low - 1)] = alone or [r for r in applying if r.networks]
    return found


# pulumi-aws declares every load balancer resource twice, aws:lb/* and the alias module aws:alb/*
# (pulumi_aws.alb: LoadBalancer, Listener, TargetGroup, ...), with the same inputs: a rule about
# one holds for the other.
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER = LISTENERS[0]
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
# Resources that name a security group without attaching it to anything: its rules, and rules
# that admit it as a source (a group's inline ingress and egress blocks among them).
_GROUP_RULES = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                "aws:ec2/securityGroupRule:SecurityGroupRule")
_INLINE_RULE_KEYS = ("ingress", "egress")
TLS_PROTOCOLS = ("TLS", "HTTPS")
# ELB security policies that accept nothing older than TLS 1.2 (AWS's "Security policies" tables:
# the TLS13-1-2*, TLS13-1-3*, TLS-1-2* and FS-1-2* families); the rest still take TLS 1.0 or 1.1,
# and an unset policy is ELBSecurityPolicy-2016-08, which does.
_TLS12_POLICY = re.compile(r"ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-[A-Za-z0-9-]+")


def _load_balancer_groups(resources) -> set[str]:
    """URNs of the security groups attached to the stack's load balancers."""
    return {group.urn for resource in resources if resource.resource_type in LOAD_BALANCERS
            for group in resource.property_dependencies.get("securityGroups", [])}


def _attached_elsewhere(group, load_balancer, resources) -> list[str]:
    """What else the stack attaches `group` to: every resource with an input from it, but the
    load balancer and the rules that belong to the group or admit it as a source."""
    return [f"{r.resource_type} {r.name!r}" for r in resources
            if r is not load_balancer and r.urn != group.urn and r.resource_type not in _GROUP_RULES
            and any(group.urn in {d.urn for d in deps} for key, deps in r.property_dependencies.items()
                    if not (r.resource_type in (SECURITY_GROUP, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
                            and key in _INLINE_RULE_KEYS))]


def _load_balancer_group_problems(load_balancer, resources) -> list[str]:
    """Why the load balancer's security groups are not groups of its own, if they are not."""
    deps = load_balancer.property_dependencies.get("securityGroups", [])
    problems = [f"{d.resource_type} {d.name!r} (not a security group this stack creates)"
                for d in deps if d.resource_type != SECURITY_GROUP]
    given = load_balancer.props.get("securityGroups")
    entries: dict[str, Any] = {}
    unknown = 0
    for index in range(len(given) if _is_list(given) else 0):
        try:
            entries.setdefault(repr(given[index]), given[index])
        except UnknownValueError:
            unknown += 1  # in preview: the ID of a group the stack is about to create
    # Each group of the stack gives one ID; any entry beyond them came from somewhere else.
    literal = len(entries) + unknown - len({d.urn for d in deps})
    if literal > 0 or (given is not None and not _is_list(given)):
        problems.append(f"{max(literal, 1)} group(s) named by ID rather than by a security group of this stack "
                        f"(securityGroups: {[entries[k] for k in sorted(entries)]}), which may be the nodes'")
    for group in deps:
        if group.resource_type == SECURITY_GROUP:
            problems += [f"{SECURITY_GROUP} {group.name!r}, also attached to {other}"
                         for other in _attached_elsewhere(group, load_balancer, resources)]
    return problems


def _owned_load_balancer_groups(resources) -> set[str]:
    """URNs of the load balancers' groups that are theirs alone: only these are the way in."""
    return {group.urn for resource in resources if resource.resource_type in LOAD_BALANCERS
            for group in resource.property_dependencies.get("securityGroups", [])
            if group.resource_type == SECURITY_GROUP and not _attached_elsewhere(group, resource, resources)}


def _load_balancer_own_security_groups(args: StackValidationArgs, report: ReportViolation) -> None:
    """A load balancer's security group is its inbound side: every rule of it is open wherever
    the load balancer is. Shared with the nodes (their launch template's, node group's or the
    cluster's group, given by ID or as an output of the EKS component), each of the nodes' rules
    would open the nodePort, or SSH, straight to the internet. From a preview the pack cannot tell
    which of the account's groups an ID is, so it asks for the one shape it can judge: groups this
    stack creates (aws:ec2/securityGroup:SecurityGroup) that nothing else in the stack attaches."""
    for load_balancer in args.resources:
        if load_balancer.resource_type in LOAD_BALANCERS:
            problems = _load_balancer_group_problems(load_balancer, args.resources)
            if problems:
                report(f"{load_balancer.resource_type} {load_balancer.name!r} must carry only security groups of "
                       "its own (aws:ec2/securityGroup:SecurityGroup of this stack, attached to nothing else); it "
                       f"carries {'; '.join(problems)}.", load_balancer.urn)


def _listener_ports(resources) -> set[int]:
    return {int(n) for resource in resources if resource.resource_type in LISTENERS
            if (n := _number(resource.props.get("port"))) is not None and n.is_integer()}


def _rule_groups(rule: _Ingress) -> set[str]:
    """URNs of the security groups a rule belongs to (an inline rule belongs to its own group)."""
    resource = rule.resource
    if resource.resource_type in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        return {resource.urn}
    return {group.urn for group in resource.property_dependencies.get("securityGroupId", [])}


def _world_open_only_on_node_port(args: StackValidationArgs, report: ReportViolation) -> None:
    node_ports = _node_ports(args.resources)
    lb_groups = _load_balancer_groups(args.resources)
    owned_groups = _owned_load_balancer_groups(args.resources)
    open_segments = _world_open(list(_ingress_rules(args.resources)))
    if lb_groups:
        # Behind a load balancer the way in is its listener, on its own group; the nodePort
        # admits the load balancer alone (see node-port-behind-load-balancer).
        listener_ports = _listener_ports(args.resources)
        for (protocol, low, high), rules in open_segments.items():
            for rule in rules:
                groups = _rule_groups(rule)
                if protocol == "tcp" and low == high and low in listener_ports and groups and groups <= owned_groups:
                    continue
                report(f"{rule}; only a load balancer listener's port ({sorted(listener_ports) or 'none'}), "
                       "on the load balancer's own security group, may be.", rule.resource.urn)
        return
    open_node_ports = sorted({low for (protocol, low, high) in open_segments
                              if protocol == "tcp" and low == high and low in node_ports})
    offenders: list[_Ingress] = []
    for (protocol, low, high), rules in open_segments.items():
        # Only one nodePort may face the internet: a second one is a second way in.
        if protocol == "tcp" and low == high and low in node_ports and open_node_ports[:1] == [low]:
            continue
        offenders += [r for r in rules if r not in offenders]
    for rule in offenders:
        report(f"{rule}; only the Service's nodePort ({sorted(node_ports) or 'none'}) may be"
               f"{', and only one of them' if len(open_node_ports) > 1 else ''}.", rule.resource.urn)


def _node_port_behind_load_balancer(args: StackValidationArgs, report: ReportViolation) -> None:
    """With a load balancer in the stack, a nodePort admits the load balancer's group and nothing
    else: a CIDR, a prefix list or any other group beside it is a way around the front door."""
    lb_groups = _load_balancer_groups(args.resources)
    if not lb_groups:
        return
    # Every declared nodePort, in range or not: what the nodes admit on it is judged all the same.
    node_ports = _declared_node_ports(args.resources)
    owned_groups = _owned_load_balancer_groups(args.resources)
    for rule in _ingress_rules(args.resources):
        if rule.protocol not in ("tcp", "all") or not any(rule.opens("tcp", port) for port in node_ports):
            continue
        if _rule_groups(rule) & owned_groups:
            continue  # the load balancer's own group: its inbound side, checked above
        resource = rule.resource
        sources = {group.urn for key in ("referencedSecurityGroupId", "sourceSecurityGroupId")
                   for group in resource.property_dependencies.get(key, [])}
        only_the_lb = (rule.networks == [] and not rule.unknown_sources and sources and sources <= lb_groups
                       and resource.resource_type != "aws:ec2/securityGroup:SecurityGroup")
        if not only_the_lb:
            report(f"{resource.resource_type} {resource.name!r} admits nodePort "
                   f"{sorted(p for p in node_ports if rule.opens('tcp', p))} from "
                   f"{'a source other than' if sources or rule.networks or rule.unknown_sources else 'no named'} "
                   "the load balancer's security group; behind a load balancer the nodePort admits its group only.",
                   resource.urn)


def _has_domain(resources) -> bool:
    """Whether the stack serves a name of its own: a certificate, or an alias record."""
    return any(r.resource_type == "aws:acm/certificate:Certificate"
               or (r.resource_type == "aws:route53/record:Record" and _seq(r.props.get("aliases")))
               for r in resources)


def _listener_tls_in_production(args: StackValidationArgs, report: ReportViolation) -> None:
    listeners = [r for r in args.resources if r.resource_type in LISTENERS]
    if not listeners or not _is_production(listeners[0].urn, args.get_config()) or not _has_domain(args.resources):
        return
    for listener in listeners:
        protocol = str(listener.props.get("protocol")).strip().upper()
        if protocol not in TLS_PROTOCOLS:
            report(f"{listener.resource_type} {listener.name!r} serves {listener.props.get('protocol')!r} on port "
                   f"{_shown(listener.props.get('port'))}: a production stack with a domain serves TLS only.",
                   listener.urn)


def _listener_modern_tls(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in LISTENERS or str(args.props.get("protocol")).strip().upper() not in TLS_PROTOCOLS:
        return
    policy = args.props.get("sslPolicy")
    if not isinstance(policy, str) or not _TLS12_POLICY.fullmatch(policy):
        report(f"TLS listener {args.name!r} has security policy {_shown(policy)}: name one that accepts TLS 1.2 and "
               "newer only, such as ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 (unset, AWS applies "
               "ELBSecurityPolicy-2016-08, which accepts TLS 1.0).")
