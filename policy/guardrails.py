"""The policies: what must never ship, whatever the stack config says.

Each policy reads the resource shapes a real preview shows it: the program's own resources,
the pulumi-eks component's inputs (`eks:index:Cluster`) and the AWS resources that component
creates (`aws:eks/cluster:Cluster`). A value still unknown during preview raises inside the
policy SDK, which then skips the check rather than guessing.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

PRODUCTION_STACKS_KEY = "productionStacks"
PRODUCTION_CONFIG = PolicyConfigSchema(
    properties={PRODUCTION_STACKS_KEY: {
        "type": "array", "items": {"type": "string"}, "default": ["prod"],
        "description": "Stacks held to production rules.",
    }},
)
NODE_ROLE_POLICIES = frozenset({
    "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly",
})
STATEFUL_TYPES = (
    "aws:ecr/repository:Repository", "aws:kms/key:Key", "eks:index:Cluster", "aws:eks/cluster:Cluster",
)
WORKLOAD_TYPES = (
    "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
)
OPEN_TO_WORLD = ("0.0.0.0/0", "::/0")


def _stack_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def _is_production(urn: str, config: Mapping[str, Any]) -> bool:
    return _stack_of(urn) in config.get(PRODUCTION_STACKS_KEY, ["prod"])


def _pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((props.get("spec") or {}).get("template") or {}).get("spec") or {}


def _containers(pod: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def _workload(validate):
    """Runs `validate(args, report, pod, container)` for every container of a workload."""
    def check(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in WORKLOAD_TYPES:
            return
        pod = _pod_spec(args.props)
        for container in _containers(pod):
            validate(args, report, pod, container)
    return check


# --- ECR ---------------------------------------------------------------------------------------

def _ecr_scan_on_push(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:ecr/repository:Repository":
        if not (args.props.get("imageScanningConfiguration") or {}).get("scanOnPush"):
            report("ECR repository must scan images on push (imageScanningConfiguration.scanOnPush: true).")


def _ecr_immutable_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:ecr/repository:Repository":
        if args.props.get("imageTagMutability") != "IMMUTABLE":
            report("ECR repository must have immutable tags (imageTagMutability: IMMUTABLE); "
                   f"got {args.props.get('imageTagMutability') or 'MUTABLE (the default)'}.")


# --- Kubernetes workloads ------------------------------------------------------------------------

# A repository reference as docker parses one: an optional registry host[:port], then lowercase
# path components; an optional tag; then the digest every image must be pinned by.
_REPOSITORY = r"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
_DIGEST = r"sha256:[0-9a-f]{64}"
PINNED_IMAGE = re.compile(rf"{_REPOSITORY}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?@{_DIGEST}")
# What pulumi-docker answers for repoDigest in a preview that builds the image (it never pushes
# in preview): the local image ID, with no repository. It is as good a pin as a registry digest:
# content-addressed, it names one image and cannot move to another, unlike a tag.
IMAGE_ID = re.compile(_DIGEST)


def _image_by_digest(args, report, pod, container) -> None:
    # During preview the policy SDK raises here when the image is still unknown (a new stack's
    # image is built only on `up`) and skips this policy for the resource: nothing to judge yet.
    image = container.get("image") or ""
    if not (PINNED_IMAGE.fullmatch(image) or IMAGE_ID.fullmatch(image)):
        report(f"container {container.get('name')!r} must reference its image by digest "
               f"(repository@sha256:<64 hex>), not {image!r}: a tag can move under a running Deployment.")


def _has_limits(args, report, pod, container) -> None:
    limits = (container.get("resources") or {}).get("limits") or {}
    missing = [resource for resource in ("cpu", "memory") if not limits.get(resource)]
    if missing:
        report(f"container {container.get('name')!r} must set resource limits for {' and '.join(missing)}.")


def _non_root(args, report, pod, container) -> None:
    pod_context, context = pod.get("securityContext") or {}, container.get("securityContext") or {}
    non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
    user = context.get("runAsUser", pod_context.get("runAsUser"))
    if non_root is not True or user == 0:
        report(f"container {container.get('name')!r} must not run as root "
               "(runAsNonRoot: true and a non-zero runAsUser, on the pod or the container).")


def _not_privileged(args, report, pod, container) -> None:
    if (container.get("securityContext") or {}).get("privileged") is True:
        report(f"container {container.get('name')!r} must not be privileged.")


def _no_privilege_escalation(args, report, pod, container) -> None:
    if (container.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False:
        report(f"container {container.get('name')!r} must set allowPrivilegeEscalation: false "
               "(Kubernetes allows escalation unless told otherwise).")


# --- EKS -----------------------------------------------------------------------------------------

def _eks_secrets_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "eks:index:Cluster" and not args.props.get("encryptionConfigKeyArn"):
        report("EKS cluster must envelope-encrypt Kubernetes secrets with a KMS key (encryptionConfigKeyArn).")
    elif args.resource_type == "aws:eks/cluster:Cluster":
        resources = (args.props.get("encryptionConfig") or {}).get("resources") or []
        if "secrets" not in resources:
            report("EKS cluster must envelope-encrypt Kubernetes secrets (encryptionConfig.resources: [secrets]).")


def _eks_audit_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in ("eks:index:Cluster", "aws:eks/cluster:Cluster"):
        if "audit" not in (args.props.get("enabledClusterLogTypes") or []):
            report("EKS cluster must send its audit log to CloudWatch (enabledClusterLogTypes includes audit).")


def _eks_endpoint_restricted_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not _is_production(args.urn, args.get_config()):
        return
    if args.resource_type == "eks:index:Cluster":
        public, cidrs = args.props.get("endpointPublicAccess", True), args.props.get("publicAccessCidrs")
    elif args.resource_type == "aws:eks/cluster:Cluster":
        vpc = args.props.get("vpcConfig") or {}
        public, cidrs = vpc.get("endpointPublicAccess", True), vpc.get("publicAccessCidrs")
    else:
        return
    # AWS opens a public endpoint to 0.0.0.0/0 when no CIDRs are given.
    if public is not False and (not cidrs or any(cidr in OPEN_TO_WORLD for cidr in cidrs)):
        report(f"in production stack {_stack_of(args.urn)!r}, the EKS API endpoint must not be open "
               f"to the internet (publicAccessCidrs: {cidrs or 'unset, so 0.0.0.0/0'}).")


def _protected_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in STATEFUL_TYPES and _is_production(args.urn, args.get_config()):
        if not args.opts.protect:
            report(f"{args.resource_type} {args.name!r} holds state and must be protected "
                   f"(protect: true) in production stack {_stack_of(args.urn)!r}.")


# --- Stack-wide ----------------------------------------------------------------------------------

def _trusts_ec2(role_props: Mapping[str, Any]) -> bool:
    document = role_props.get("assumeRolePolicy") or "{}"
    statements = (json.loads(document) if isinstance(document, str) else document).get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        services = (statement.get("Principal") or {}).get("Service") or []
        if "ec2.amazonaws.com" in ([services] if isinstance(services, str) else services):
            return True
    return False


def _node_role_least_privilege(args: StackValidationArgs, report: ReportViolation) -> None:
    node_roles = {r.urn: r for r in args.resources
                  if r.resource_type == "aws:iam/role:Role" and _trusts_ec2(r.props)}
    attached: dict[str, list[str]] = {urn: [] for urn in node_roles}
    for resource in args.resources:
        if resource.resource_type != "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            continue
        roles = [dep.urn for dep in resource.property_dependencies.get("role", [])]
        roles += [urn for urn, role in node_roles.items() if role.props.get("name") == resource.props.get("role")]
        for urn in set(roles) & set(node_roles):
            attached[urn].append(str(resource.props.get("policyArn", "")).rsplit("/", 1)[-1])
    for urn, policies in attached.items():
        extra = sorted(set(policies) - NODE_ROLE_POLICIES)
        if extra or len(policies) > len(NODE_ROLE_POLICIES):
            report(f"node role {node_roles[urn].name!r} may carry only {', '.join(sorted(NODE_ROLE_POLICIES))}; "
                   f"it also has {', '.join(extra) or 'duplicate attachments'}.", urn)
        role_props = node_roles[urn].props
        if role_props.get("managedPolicyArns") or role_props.get("inlinePolicies"):
            report(f"node role {node_roles[urn].name!r} must not carry inline or role-level managed policies.", urn)


def _node_ports(resources) -> set[int]:
    ports = set()
    for resource in resources:
        if resource.resource_type == "kubernetes:core/v1:Service":
            spec = resource.props.get("spec") or {}
            if spec.get("type") == "NodePort":
                ports |= {int(p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")}
    return ports


def _world_open_ingress(resource) -> Iterable[tuple[int | None, int | None, str]]:
    props = resource.props
    if resource.resource_type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        if props.get("cidrIpv4") in OPEN_TO_WORLD or props.get("cidrIpv6") in OPEN_TO_WORLD:
            yield props.get("fromPort"), props.get("toPort"), str(props.get("ipProtocol"))
    elif resource.resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        # Spread, not `+`: the analyzer hands lists as read-only sequences that do not add.
        cidrs = [*(props.get("cidrBlocks") or []), *(props.get("ipv6CidrBlocks") or [])]
        if props.get("type") == "ingress" and any(cidr in OPEN_TO_WORLD for cidr in cidrs):
            yield props.get("fromPort"), props.get("toPort"), str(props.get("protocol"))
    elif resource.resource_type == "aws:ec2/securityGroup:SecurityGroup":
        for rule in props.get("ingress") or []:
            cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
            if any(cidr in OPEN_TO_WORLD for cidr in cidrs):
                yield rule.get("fromPort"), rule.get("toPort"), str(rule.get("protocol"))


def _world_open_only_on_node_port(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed = _node_ports(args.resources)
    for resource in args.resources:
        for from_port, to_port, protocol in _world_open_ingress(resource):
            if not (from_port == to_port and from_port in allowed and protocol in ("tcp", "6")):
                report(f"{resource.resource_type} {resource.name!r} opens {protocol} {from_port}-{to_port} "
                       f"to the internet; only the Service's nodePort ({sorted(allowed) or 'none'}) may be.",
                       resource.urn)


def _resource_policy(name: str, description: str, validate, config_schema=None) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    config_schema=config_schema)


POLICIES = [
    _resource_policy("ecr-scan-on-push", "ECR repositories scan every pushed image.", _ecr_scan_on_push),
    _resource_policy("ecr-immutable-tags", "ECR repositories have immutable tags.", _ecr_immutable_tags),
    _resource_policy("image-by-digest", "Workloads reference images by digest, not tag.", _workload(_image_by_digest)),
    _resource_policy("container-limits", "Containers set CPU and memory limits.", _workload(_has_limits)),
    _resource_policy("container-non-root", "Containers never run as root.", _workload(_non_root)),
    _resource_policy("container-not-privileged", "Containers are never privileged.", _workload(_not_privileged)),
    _resource_policy("container-no-privilege-escalation", "Containers cannot escalate privileges.",
                     _workload(_no_privilege_escalation)),
    _resource_policy("eks-secrets-encryption", "EKS encrypts Kubernetes secrets with KMS.", _eks_secrets_encryption),
    _resource_policy("eks-audit-logs", "EKS sends its audit log to CloudWatch.", _eks_audit_logs),
    _resource_policy("eks-endpoint-restricted-in-production",
                     "A production EKS API endpoint is not open to the internet.",
                     _eks_endpoint_restricted_in_production, PRODUCTION_CONFIG),
    _resource_policy("stateful-protected-in-production",
                     "Repositories, keys and clusters of production stacks are protected.",
                     _protected_in_production, PRODUCTION_CONFIG),
    StackValidationPolicy(name="node-role-least-privilege",
                          description="The node role carries exactly its three AWS managed policies.",
                          validate=_node_role_least_privilege),
    StackValidationPolicy(name="world-open-only-on-node-port",
                          description="Nothing but the Service's nodePort is open to 0.0.0.0/0.",
                          validate=_world_open_only_on_node_port),
]
