"""The metrics scraper (AMP's managed collector) reaches the metrics ports it scrapes, and nothing else.

AWS's guide gives the scraper the cluster's own security group, which admits everything from
itself: every port of every node and pod. Here a scraper must carry a security group of this stack
whose rules name, as TCP single ports to or from other security groups, only the Kubernetes API
(443) and the container ports its configuration keeps by name; nothing may call it.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import yaml
from pulumi_policy import ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from .reachability import _INLINE_RULE_KEYS, SECURITY_GROUP
from .values import _is_list, _map, _number, _seq

SCRAPER = "aws:amp/scraper:Scraper"
VPC_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
VPC_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
EC2_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet")
KUBERNETES_API_PORT = 443
PORT_NAME_LABEL = "__meta_kubernetes_pod_container_port_name"


def _kept_port_names(configuration: Any) -> tuple[list[str], list[str]]:
    """(the port-name regexes the jobs keep, the jobs that keep no port by name)."""
    try:
        document = yaml.safe_load(str(configuration))
    except yaml.YAMLError:
        return [], ["(a configuration that does not parse as YAML)"]
    regexes, unbounded = [], []
    for job in _seq((document or {}).get("scrape_configs") if isinstance(document, dict) else None):
        keeps = [str(rule.get("regex", "(.*)")) for rule in _seq(_map(job).get("relabel_configs"))
                 if _map(rule).get("action", "replace") == "keep"
                 and list(_seq(_map(rule).get("source_labels"))) == [PORT_NAME_LABEL]]
        if keeps:
            regexes += keeps
        else:
            unbounded.append(str(_map(job).get("job_name")))
    return regexes, unbounded


def _container_ports(resources) -> Iterator[tuple[str, int]]:
    for resource in resources:
        if resource.resource_type in WORKLOADS:
            pod_spec = _map(_map(_map(_map(resource.props.get("spec")).get("template")).get("spec")))
            for container in _seq(pod_spec.get("containers")):
                for port in _seq(_map(container).get("ports")):
                    number = _number(_map(port).get("containerPort"))
                    if _map(port).get("name") and number is not None:
                        yield str(_map(port)["name"]), int(number)


def _allowed_ports(scraper, resources) -> tuple[set[int], list[str]]:
    regexes, unbounded = _kept_port_names(scraper.props.get("scrapeConfiguration"))
    problems = [f"job {job!r} keeps no container port by name, so it scrapes every port of its pods"
                for job in unbounded]
    ports = {KUBERNETES_API_PORT}
    for name, number in _container_ports(resources):
        if any(_fullmatch(regex, name) for regex in regexes):
            ports.add(number)
    return ports, problems


def _fullmatch(regex: str, name: str) -> bool:
    try:
        return re.fullmatch(regex, name) is not None
    except re.error:
        return True  # a regex the pack cannot read may keep anything: count its port as kept


def _groups(scraper) -> tuple[set[str], list[str]]:
    """URNs of the scraper's own security groups, and why its groups are not its own, if not."""
    deps = scraper.property_dependencies.get("source", [])
    own = {d.urn for d in deps if d.resource_type == SECURITY_GROUP}
    given = _map(_map(scraper.props.get("source")).get("eks")).get("securityGroupIds")
    count = len(given or ()) if _is_list(given) else 0
    problems = []
    if not own:
        problems.append("no security group of this stack (without one it gets whatever AWS picks, or the "
                        "cluster's, which admits every port)")
    elif count > len(own):
        problems.append(f"{count - len(own)} security group(s) named by ID rather than created by this stack "
                        "(the cluster's own group would admit every port)")
    return own, problems


def _given(props, key: str) -> bool:
    """Whether a rule sets `key`. In a new stack's preview a group's ID is not known yet; unknown is
    still given (the value will exist), so the policy judges the rule's shape in preview too."""
    try:
        return bool(props.get(key))
    except UnknownValueError:
        return True


def _rule_problem(rule, allowed: set[int], direction: str) -> str | None:
    props = rule.props
    protocol = str(props.get("ipProtocol", props.get("protocol", ""))).strip().lower()
    low, high = _number(props.get("fromPort")), _number(props.get("toPort"))
    to_group = any(_given(props, key) for key in ("referencedSecurityGroupId", "sourceSecurityGroupId"))
    widened = [key for key in ("cidrIpv4", "cidrIpv6", "cidrBlocks", "ipv6CidrBlocks", "prefixListId",
                               "prefixListIds", "self") if _given(props, key)]
    if protocol not in ("tcp", "6") or low is None or low != high or int(low) not in allowed:
        return (f"{rule.resource_type} {rule.name!r} {direction} {props.get('ipProtocol', props.get('protocol'))} "
                f"{props.get('fromPort')}-{props.get('toPort')}: only TCP to one of ports {sorted(allowed)}")
    if widened or not to_group:
        return f"{rule.resource_type} {rule.name!r} {direction} addresses ({', '.join(widened) or 'no group'}), not a security group"
    return None


def _inline_rules(group, key: str) -> list[Any]:
    # Not given, a group's inline rules are an output AWS fills in: unknown in a new stack's
    # preview, where only the separate rules say what the group allows.
    try:
        return _seq(group.props.get(key))
    except UnknownValueError:
        return []


def _depends_on(resource, key: str, urns: set[str]) -> bool:
    return bool(urns & {d.urn for d in resource.property_dependencies.get(key, [])})


def _scraper_problems(scraper, resources) -> list[str]:
    groups, problems = _groups(scraper)
    allowed, port_problems = _allowed_ports(scraper, resources)
    problems += port_problems
    for resource in resources:
        if resource.urn in groups and any(_inline_rules(resource, key) for key in _INLINE_RULE_KEYS):
            problems.append(f"{resource.resource_type} {resource.name!r} has inline rules, which the pack cannot "
                            "tell apart; declare them as rules of their own")
        if resource.resource_type == VPC_INGRESS and _depends_on(resource, "securityGroupId", groups):
            problems.append(f"{resource.resource_type} {resource.name!r} lets something call the scraper")
        own_rule = resource.resource_type == VPC_EGRESS and _depends_on(resource, "securityGroupId", groups)
        admits_it = resource.resource_type in (VPC_INGRESS, EC2_RULE) and any(
            _depends_on(resource, key, groups) for key in ("referencedSecurityGroupId", "sourceSecurityGroupId"))
        ec2_own = resource.resource_type == EC2_RULE and _depends_on(resource, "securityGroupId", groups)
        if ec2_own and str(resource.props.get("type", "")).lower() == "ingress":
            problems.append(f"{resource.resource_type} {resource.name!r} lets something call the scraper")
        elif own_rule or admits_it or ec2_own:
            problem = _rule_problem(resource, allowed, "reaches" if own_rule or ec2_own else "admits it on")
            if problem:
                problems.append(problem)
    return problems


def _scraper_reaches_only_metrics(args: StackValidationArgs, report: ReportViolation) -> None:
    for scraper in args.resources:
        if scraper.resource_type == SCRAPER:
            problems = _scraper_problems(scraper, args.resources)
            if problems:
                report(f"{SCRAPER} {scraper.name!r} must reach only the Kubernetes API and the ports it scrapes, "
                       f"through a security group of its own: {'; '.join(problems)}.", scraper.urn)
