"""Builds the resources the probes add to a stack, in the shapes the analyzer hands the pack."""

from __future__ import annotations

import copy
from typing import Any, Callable

from ops.offline.harness import Evaluation, Registration
from tests.support.types import DEPLOYMENT, INGRESS_RULE, ROLE

SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::backend-on-eks::{type_}::{name}"


def registration(evaluation: Evaluation, type_: str, name: str, inputs: dict[str, Any], *,
                 protect: bool = False, property_dependencies: dict[str, list[str]] | None = None) -> Registration:
    return Registration(type=type_, name=name, urn=urn(evaluation.stack, type_, name), parent="", dependencies=[],
                        provider="", custom=True, remote=False, protect=protect, inputs=inputs,
                        property_dependencies=property_dependencies or {})


def plus(evaluation: Evaluation, *registrations: Registration) -> Evaluation:
    copied = copy.deepcopy(evaluation)
    copied.registrations.extend(copy.deepcopy(list(registrations)))
    return copied


# The backend's own resource of a type the stack has several of (the Cluster Autoscaler brings a
# second Deployment, role, NetworkPolicy and Kubernetes provider).
BACKEND_RESOURCE = {DEPLOYMENT: "workload-deployment", ROLE: "cluster-node-role"}


def changed(evaluation: Evaluation, type_: str, change: Callable[[dict], Any]) -> Evaluation:
    """A copy of `evaluation` in which `change(inputs)` was applied to the one resource of `type_`
    (the backend's, where there are several)."""
    copied = copy.deepcopy(evaluation)
    change(copied.one(type_, BACKEND_RESOURCE.get(type_)).inputs)
    return copied


def pod_template(evaluation: Evaluation) -> dict[str, Any]:
    """The stack's own (compliant) pod template: metadata and spec."""
    return copy.deepcopy(evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"])


def container(template: dict[str, Any]) -> dict[str, Any]:
    return template["spec"]["containers"][0]


def pod_context(template: dict[str, Any]) -> dict[str, Any]:
    return template["spec"]["securityContext"]


def ingress_rule(evaluation: Evaluation, name: str, port: float, cidr: str = "0.0.0.0/0", *,
                 to_port: float | None = None, protocol: Any = "tcp", family: str = "cidrIpv4") -> Registration:
    return registration(evaluation, INGRESS_RULE, name, {
        "securityGroupId": "sg-1", "ipProtocol": protocol, "fromPort": port,
        "toPort": port if to_port is None else to_port, family: cidr,
    })


def renamed(evaluation: Evaluation, stack: str) -> Evaluation:
    """`evaluation` as the same program would register it in a stack named `stack`."""
    before, after = f"urn:pulumi:{evaluation.stack}::", f"urn:pulumi:{stack}::"

    def swap(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(before, after)
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    copied = copy.deepcopy(evaluation)
    copied.stack = stack
    for r in copied.registrations:
        r.urn, r.parent, r.dependencies = swap(r.urn), swap(r.parent), swap(r.dependencies)
        r.inputs, r.outputs, r.property_dependencies = swap(r.inputs), swap(r.outputs), swap(r.property_dependencies)
    return copied


def retyped(evaluation: Evaluation, old_type: str, new_type: str) -> Evaluation:
    """`evaluation` with every resource of `old_type` declared as `new_type` instead (an alias
    token of the same resource), the references to it following it."""
    copied = copy.deepcopy(evaluation)
    moved = {}
    for r in copied.registrations:
        if r.type == old_type:
            new_urn = r.urn.replace(f"::{old_type}::", f"::{new_type}::").replace(f"${old_type}::", f"${new_type}::")
            moved[r.urn], r.type, r.urn = new_urn, new_type, new_urn
    for r in copied.registrations:
        r.parent = moved.get(r.parent, r.parent)
        r.dependencies = [moved.get(u, u) for u in r.dependencies]
        r.property_dependencies = {k: [moved.get(u, u) for u in v] for k, v in r.property_dependencies.items()}
    return copied
