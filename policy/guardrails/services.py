"""Kubernetes Services, wherever they sit: load balancers limit their sources, no externalIPs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

from pulumi_policy import (
    ResourceValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

from .cidrs import _covers_internet, _network, _unreadable_cidrs
from .pods import _objects
from .values import Report, _map, _seq


SERVICE_TYPES = ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
SERVICE_LIST = "kubernetes:core/v1:ServiceList"
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
# Where a Service may sit inside another resource: a List's or a ServiceList's items, a
# ConfigGroup's objs (or any object's items). An unknown value there may hide one.
_SERVICE_PATH_KEYS = frozenset({"items", "objs"})


def _kind(value: Mapping[str, Any], on_path: bool) -> Any:
    try:
        return value.get("kind")
    except UnknownValueError:
        if on_path:
            raise  # an object of unknown kind among a list's items may be a Service
        return None


def _services(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(how to name it, the Service) for the resource if it is a Service, and for every Service it
    carries at any depth: an object of kind Service, or a ServiceList's item that names no kind."""
    for found, parent, on_path in _objects(args.props, _SERVICE_PATH_KEYS):
        if found is args.props:
            if args.resource_type in SERVICE_TYPES:
                yield "Service", found
            continue
        kind = _kind(found, on_path)
        in_service_list = parent is not None and (
            (parent is args.props and args.resource_type == SERVICE_LIST) or _kind(parent, False) == "ServiceList")
        if kind == "Service" or (kind is None and in_service_list and on_path):
            name = _map(found.get("metadata")).get("name")
            yield f"Service {name!r} inside {args.resource_type} {args.name!r}", found


def _service_not_open_to_world(args: ResourceValidationArgs, report: Report) -> None:
    if not args.resource_type.startswith("kubernetes:"):
        return
    for label, service in _services(args):
        _judge_service(label, service, report)


def _judge_service(label: str, service: Mapping[str, Any], report: Report) -> None:
    spec = _map(service.get("spec"))
    if _seq(spec.get("externalIPs")):
        report(f"{label} must not claim externalIPs (every node would forward them to it); "
               f"got {list(_seq(spec.get('externalIPs')))}.")
    if spec.get("type") != "LoadBalancer":
        return
    ranges = _seq(spec.get("loadBalancerSourceRanges"))
    if not ranges:
        # The cloud provider reads the annotation when the field is empty.
        annotation = _map(_map(service.get("metadata")).get("annotations")).get(SOURCE_RANGES_ANNOTATION)
        ranges = [r for r in annotation.split(",") if r.strip()] if isinstance(annotation, str) else []
    unreadable = _unreadable_cidrs(ranges)
    if not ranges or unreadable or _covers_internet(_network(r) for r in ranges):
        report(f"{label} of type LoadBalancer must limit who reaches it (loadBalancerSourceRanges, not "
               f"covering every public address); got {ranges or 'none, so 0.0.0.0/0'}.")
