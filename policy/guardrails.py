"""The policies: what must never ship, whatever the stack config says.

Each policy reads the resource shapes a real preview shows it: the program's own resources,
the pulumi-eks component's inputs (`eks:index:Cluster`) and the AWS resources that component
creates (`aws:eks/cluster:Cluster`). A value still unknown during preview raises inside the
policy SDK, which then skips that policy for that resource rather than guessing; `up` runs
every policy again with the values known.

The pack is written against hostile and careless input: values are read by their meaning, not
their spelling (CIDRs as address sets, policy ARNs as ARNs, Kubernetes quantities as numbers),
a list where an object belongs (or a scalar where a list belongs) is read as the API would or
refused, and anything the pack cannot read is refused rather than waved through.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Iterable, Iterator

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

# A sibling module, imported as __main__.py imports this one: the pack runs with policy/ as its
# directory, not as a package.
from internet import covers_internet, network

# --- Reading values --------------------------------------------------------------------------
# The analyzer hands objects and lists as read-only proxies (Mapping / Sequence, not dict / list)
# that raise UnknownValueError on a value only `up` will know. These helpers never hide that.


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _seq(value: Any) -> list[Any]:
    """A list value as a list; a lone scalar or object where a list belongs as a list of one."""
    if value is None:
        return []
    return list(value) if _is_list(value) else [value]


def _map(value: Any) -> Mapping[str, Any]:
    """An object value; a one-element list of an object (an older schema's `maxItems: 1` block)
    as that object; anything else as empty, so that what it should have said counts as unset."""
    if isinstance(value, Mapping):
        return value
    if _is_list(value) and len(value) == 1 and isinstance(value[0], Mapping):
        return value[0]
    return {}


def _strings(value: Any) -> list[str]:
    return [item for item in _seq(value) if isinstance(item, str)]


def _number(value: Any) -> float | None:
    """An integer field as the analyzer may hand it: a float (30080.0), an int, or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _shown(value: Any) -> str:
    number = _number(value)
    return str(int(number)) if number is not None and number.is_integer() else repr(value)


# --- Which stacks are production -----------------------------------------------------------------
# A stack is production unless it is named, exactly, as an exception. A new stack (`staging`,
# `production`, `prd`, `Prod`, a typo) is therefore held to production rules until someone says
# otherwise in the pack's config: forgetting to classify a stack must never be what opens its API
# to the internet. `productionStacks` still forces a stack to production (the old key, kept so
# that a config written for it keeps its meaning and so dev can be tried under production rules).

PRODUCTION_STACKS_KEY = "productionStacks"
NON_PRODUCTION_STACKS_KEY = "nonProductionStacks"
# The one stack this repository declares that is not production (Pulumi.dev.yaml).
DEFAULT_NON_PRODUCTION_STACKS = ("dev",)
PRODUCTION_CONFIG = PolicyConfigSchema(properties={
    NON_PRODUCTION_STACKS_KEY: {
        "type": "array", "items": {"type": "string"}, "default": list(DEFAULT_NON_PRODUCTION_STACKS),
        "description": "The only stacks NOT held to production rules (exact names). Every other stack is production.",
    },
    PRODUCTION_STACKS_KEY: {
        "type": "array", "items": {"type": "string"}, "default": [],
        "description": "Stacks held to production rules even if listed in nonProductionStacks.",
    },
})


def _stack_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def _configured_names(config: Mapping[str, Any], key: str, default: Iterable[str]) -> set[str]:
    value = config.get(key)
    # A scalar where a list belongs is one name (not, as `in` on a string would make it, a set of
    # substrings: stack "d" must not count as listed in "dev").
    return set(default) if value is None else set(_strings(value))


def _is_production(urn: str, config: Mapping[str, Any]) -> bool:
    stack = _stack_of(urn)
    if stack in _configured_names(config, PRODUCTION_STACKS_KEY, ()):
        return True
    return stack not in _configured_names(config, NON_PRODUCTION_STACKS_KEY, DEFAULT_NON_PRODUCTION_STACKS)


# --- CIDRs -----------------------------------------------------------------------------------------
# Addresses are sets, not strings, and "the internet" is every public address (internet.py):
# 0.0.0.0/1 and 128.0.0.0/1 together are the internet, and so are `::/0`, ` 0.0.0.0/0 `, the
# world less 0.0.0.0/8 or less the private ranges, and 2000::/3.


def _network(cidr: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    return network(cidr) if isinstance(cidr, str) else None


def _covers_internet(networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network | None]) -> bool:
    return covers_internet(n for n in networks if n is not None)


def _unreadable_cidrs(cidrs: Iterable[Any]) -> list[Any]:
    return [cidr for cidr in cidrs if _network(cidr) is None]


# --- ECR -------------------------------------------------------------------------------------------

ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
ECR_KMS_TYPES = ("KMS", "KMS_DSSE")


def _ecr_scan_on_push(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == ECR_REPOSITORY:
        # `is True`: the string "false" is truthy and must not read as a yes.
        if _map(args.props.get("imageScanningConfiguration")).get("scanOnPush") is not True:
            report("ECR repository must scan images on push (imageScanningConfiguration.scanOnPush: true).")
    elif args.resource_type == ECR_REGISTRY_SCANNING:
        # A registry-level configuration replaces every repository's scanOnPush: with no rule, or
        # rules that filter some repositories out, those repositories are never scanned.
        for rule in _seq(args.props.get("rules")):
            rule = _map(rule)
            every_repository = any(
                _map(f).get("filter") == "*" and _map(f).get("filterType") == "WILDCARD"
                for f in _seq(rule.get("repositoryFilters")))
            if rule.get("scanFrequency") in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN") and every_repository:
                return
        report("ECR registry scanning configuration must scan every repository on push (a rule with "
               "scanFrequency SCAN_ON_PUSH or CONTINUOUS_SCAN and the WILDCARD filter '*'): it replaces "
               "each repository's own scanOnPush.")


def _ecr_immutable_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == ECR_REPOSITORY:
        # Exactly IMMUTABLE: IMMUTABLE_WITH_EXCLUSION leaves the excluded tags movable.
        if args.props.get("imageTagMutability") != "IMMUTABLE":
            report("ECR repository must have immutable tags (imageTagMutability: IMMUTABLE); "
                   f"got {args.props.get('imageTagMutability') or 'MUTABLE (the default)'}.")


def _ecr_kms_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == ECR_REPOSITORY:
        configurations = _seq(args.props.get("encryptionConfigurations"))
        types = [_map(c).get("encryptionType") for c in configurations]
        # Unset means AES256 with an AWS-owned key, which no key policy or CloudTrail entry governs.
        if not types or any(t not in ECR_KMS_TYPES for t in types):
            report("ECR repository must encrypt images with KMS (encryptionConfigurations: "
                   f"[{{encryptionType: KMS}}]); got {types or 'none, so AES256'}.")


# --- Kubernetes pod specs -------------------------------------------------------------------------
# Every Kubernetes resource is searched for pod specs by shape, not by kind: a Deployment's
# spec.template.spec, a CronJob's spec.jobTemplate.spec.template.spec, a Pod's spec, a *Patch,
# a *List's items, a custom resource that embeds a pod template. An object with containers,
# initContainers or ephemeralContainers is a pod spec, and the checks apply to every container.

CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")
# Keys under which a pod spec may sit: an unknown value there may hide one, so the policy is
# skipped (as the SDK does) rather than passed. An unknown anywhere else cannot hide a pod spec.
_POD_SPEC_PATH_KEYS = frozenset({"spec", "template", "jobTemplate", "items", "objs", *CONTAINER_KINDS})


def _objects(value: Any, path_keys: frozenset[str], parent: Mapping[str, Any] | None = None,
             on_path: bool = True) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any] | None, bool]]:
    """(object, the object holding it, whether it sits under `path_keys`) for every object at any
    depth of `value`, `value` itself first. An unknown value under one of `path_keys` raises (it
    may hide what the caller looks for); anywhere else it is passed over."""
    if isinstance(value, Mapping):
        yield value, parent, on_path
        keys = list(value)  # iterating keys never raises; reading an unknown value does
        children = [(key, key in path_keys) for key in keys]
        holder: Mapping[str, Any] | None = value
    elif _is_list(value):
        children = [(index, on_path) for index in range(len(value))]
        holder = parent
    else:
        return
    for key, hides in children:
        try:
            child = value[key]
        except UnknownValueError:
            if hides:
                raise
            continue
        yield from _objects(child, path_keys, holder, hides)


def _pod_specs(value: Any) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(pod spec, the object holding it: its `metadata` is the pod's) for every pod spec in `value`,
    at any depth: a pod template may sit under an object that has a `containers` key of its own.
    All are found before any is judged, so an unknown that may hide one skips the policy whole."""
    return [(found, parent if parent is not None else {})
            for found, parent, _ in _objects(value, _POD_SPEC_PATH_KEYS)
            if any(key in CONTAINER_KINDS for key in list(found))]


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for kind in CONTAINER_KINDS:
        for container in _seq(pod.get(kind)):
            # Not an object: the API would refuse it; here it reads as a container that sets nothing.
            yield container if isinstance(container, Mapping) else {}


def _context(holder: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(holder.get("securityContext"))


def _name(container: Mapping[str, Any]) -> str:
    return repr(container.get("name"))


def _pod_policy(validate):
    """Runs `validate(report, pod, holder)` for every pod spec of a Kubernetes resource."""
    def check(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if not args.resource_type.startswith("kubernetes:"):
            return
        for pod, holder in _pod_specs(args.props):
            validate(report, pod, holder)
    return check


def _container_policy(validate):
    """Runs `validate(report, pod, container)` for every container of every pod spec."""
    def each(report, pod, holder) -> None:
        for container in _containers(pod):
            validate(report, pod, container)
    return _pod_policy(each)


# A repository reference as docker parses one: an optional registry host[:port], then lowercase
# path components; an optional tag; then the digest every image must be pinned by.
_REPOSITORY = r"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
_DIGEST = r"sha256:[0-9a-f]{64}"
PINNED_IMAGE = re.compile(rf"{_REPOSITORY}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?@{_DIGEST}")
# What pulumi-docker answers for repoDigest in a preview that builds the image (it never pushes
# in preview): the local image ID, with no repository. It is as good a pin as a registry digest:
# content-addressed, it names one image and cannot move to another, unlike a tag.
IMAGE_ID = re.compile(_DIGEST)


def _image_by_digest(report, pod, container) -> None:
    # During preview the policy SDK raises here when the image is still unknown (a new stack's
    # image is built only on `up`) and skips this policy for the resource: nothing to judge yet.
    image = container.get("image")
    if not (isinstance(image, str) and (PINNED_IMAGE.fullmatch(image) or IMAGE_ID.fullmatch(image))):
        report(f"container {_name(container)} must reference its image by digest "
               f"(repository@sha256:<64 hex>), not {image!r}: a tag can move under a running Deployment.")


_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")


def _positive_quantity(value: Any) -> bool:
    """A Kubernetes quantity above zero: "0", "0m", "0Mi", "0.0", 0 and "-1" are not limits."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value > 0
    if not isinstance(value, str):
        return False
    match = _QUANTITY.fullmatch(value)
    return bool(match) and float(match.group(1)) > 0


def _has_limits(report, pod, container) -> None:
    limits = _map(_map(container.get("resources")).get("limits"))
    missing = [resource for resource in ("cpu", "memory") if not _positive_quantity(limits.get(resource))]
    if missing:
        report(f"container {_name(container)} must set resource limits for {' and '.join(missing)} "
               f"(a quantity above zero; got {', '.join(f'{r}: {limits.get(r)!r}' for r in missing)}).")


def _explicit(holder: Mapping[str, Any], key: str) -> Any:
    return _context(holder).get(key)


def _effective(pod: Mapping[str, Any], container: Mapping[str, Any], key: str) -> Any:
    """A security-context field as the kubelet applies it: the container's, else the pod's."""
    value = _explicit(container, key)
    return _explicit(pod, key) if value is None else value


def _non_root(report, pod, container) -> None:
    users = [_number(_explicit(pod, "runAsUser")), _number(_explicit(container, "runAsUser"))]
    if (_effective(pod, container, "runAsNonRoot") is not True or _explicit(pod, "runAsNonRoot") is False
            or 0 in users):
        report(f"container {_name(container)} must not run as root "
               "(runAsNonRoot: true and a non-zero runAsUser, on the pod or the container).")


def _non_root_group(report, pod, container) -> None:
    # Without runAsGroup the primary group comes from the image, and a UID the image does not
    # know runs with GID 0. So the group must be set, and neither it nor any extra group be 0.
    group = _number(_effective(pod, container, "runAsGroup"))
    explicit = [_number(_explicit(pod, "runAsGroup")), _number(_explicit(container, "runAsGroup"))]
    extra = [_number(g) for g in _seq(_explicit(pod, "supplementalGroups"))]
    extra += [_number(_explicit(pod, "fsGroup"))] if _explicit(pod, "fsGroup") is not None else []
    if group is None or group == 0 or 0 in explicit or any(g is None or g == 0 for g in extra):
        report(f"container {_name(container)} must run with a non-zero group (runAsGroup set and not 0; "
               "no 0 in supplementalGroups or fsGroup).")


def _false_or_unset(value: Any) -> bool:
    return value is None or value is False


def _not_privileged(report, pod, container) -> None:
    if not _false_or_unset(_explicit(container, "privileged")):
        report(f"container {_name(container)} must not be privileged.")


def _no_privilege_escalation(report, pod, container) -> None:
    if _explicit(container, "allowPrivilegeEscalation") is not False:
        report(f"container {_name(container)} must set allowPrivilegeEscalation: false "
               "(Kubernetes allows escalation unless told otherwise).")


ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


def _capabilities(report, pod, container) -> None:
    capabilities = _map(_context(container).get("capabilities"))
    added = sorted(set(_strings(capabilities.get("add"))) - ALLOWED_ADDED_CAPABILITIES)
    added += [repr(c) for c in _seq(capabilities.get("add")) if not isinstance(c, str)]
    if "ALL" not in _strings(capabilities.get("drop")) or added:
        adds = f" (adds {', '.join(added)})" if added else ""
        report(f"container {_name(container)} must drop ALL capabilities and add none but NET_BIND_SERVICE{adds}.")


SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def _seccomp(report, pod, container) -> None:
    explicit = [_map(_explicit(pod, "seccompProfile")), _map(_explicit(container, "seccompProfile"))]
    set_types = [p.get("type") for p in explicit if p]
    effective = _map(_effective(pod, container, "seccompProfile")).get("type")
    if effective not in SECCOMP_TYPES or any(t not in SECCOMP_TYPES for t in set_types):
        report(f"container {_name(container)} must run under seccomp profile RuntimeDefault or Localhost "
               f"(securityContext.seccompProfile.type on the pod or the container); got {effective!r}.")


def _host_namespaces(report, pod, holder) -> None:
    shared = [key for key in ("hostNetwork", "hostPID", "hostIPC") if not _false_or_unset(pod.get(key))]
    if shared:
        report(f"pod must not share the host's namespaces ({', '.join(shared)}).")


ALLOWED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})


def _volume_types(report, pod, holder) -> None:
    for volume in _seq(pod.get("volumes")):
        volume = volume if isinstance(volume, Mapping) else {}
        sources = [key for key in volume if key != "name"]
        # Every source key must be allowed (the API refuses two sources in one volume, and a
        # hostPath beside a configMap must not pass on the configMap's account).
        if not sources or any(source not in ALLOWED_VOLUME_SOURCES for source in sources):
            report(f"volume {volume.get('name')!r} must be one of {', '.join(sorted(ALLOWED_VOLUME_SOURCES))} "
                   f"(no hostPath or other node-level source); it is {', '.join(sources) or 'nothing'}.")


def _host_ports(report, pod, container) -> None:
    for port in _seq(container.get("ports")):
        host_port = _map(port).get("hostPort")
        if host_port is not None and _number(host_port) != 0:
            report(f"container {_name(container)} must not bind a host port (hostPort {_shown(host_port)}).")


def _proc_mount(report, pod, container) -> None:
    if _explicit(container, "procMount") not in (None, "Default"):
        report(f"container {_name(container)} must keep the default /proc mount (procMount: Default).")


# The Pod Security Standards' safe sysctls (namespaced and isolated from other pods).
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})


def _sysctls(report, pod, holder) -> None:
    unsafe = [_map(s).get("name") for s in _seq(_explicit(pod, "sysctls"))]
    unsafe = [name for name in unsafe if name not in SAFE_SYSCTLS]
    if unsafe:
        report(f"pod must set only safe sysctls (not {', '.join(map(repr, unsafe))}).")


APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _apparmor(report, pod, holder) -> None:
    holders = [pod, *_containers(pod)]
    bad = [_map(_explicit(h, "appArmorProfile")).get("type") for h in holders if _explicit(h, "appArmorProfile") is not None]
    bad = [t for t in bad if t not in APPARMOR_TYPES]
    annotations = _map(_map(holder.get("metadata")).get("annotations"))
    for key in annotations:
        if key.startswith(APPARMOR_ANNOTATION):
            value = annotations[key]
            if not (value in ("", "runtime/default") or (isinstance(value, str) and value.startswith("localhost/"))):
                bad.append(value)
    if bad:
        report(f"pod must not run unconfined by AppArmor (profile RuntimeDefault or Localhost); got {bad}.")


SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t")


def _selinux(report, pod, holder) -> None:
    for h in [pod, *_containers(pod)]:
        options = _explicit(h, "seLinuxOptions")
        if options is None:
            continue
        options = _map(options)
        if (options.get("type") or "") not in SELINUX_TYPES or options.get("user") or options.get("role"):
            report("pod must not set a custom SELinux type, user or role "
                   f"(type only container_t, container_init_t or container_kvm_t); got {dict(options)}.")
            return


def _host_process(report, pod, holder) -> None:
    for h in [pod, *_containers(pod)]:
        if not _false_or_unset(_map(_explicit(h, "windowsOptions")).get("hostProcess")):
            report("pod must not run Windows HostProcess containers (windowsOptions.hostProcess).")
            return


def _probe_hosts(report, pod, container) -> None:
    lifecycle = _map(container.get("lifecycle"))
    handlers = [_map(container.get(p)) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
    handlers += [_map(lifecycle.get(h)) for h in ("postStart", "preStop")]
    hosts = [_map(h.get(kind)).get("host") for h in handlers for kind in ("httpGet", "tcpSocket")]
    hosts = [host for host in hosts if host not in (None, "")]
    if hosts:
        report(f"container {_name(container)} probes and lifecycle hooks must not name a host "
               f"(the kubelet would connect to {hosts} from the node).")


# --- Kubernetes Services -----------------------------------------------------------------------------

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


def _service_not_open_to_world(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.resource_type.startswith("kubernetes:"):
        return
    for label, service in _services(args):
        _judge_service(label, service, report)


def _judge_service(label: str, service: Mapping[str, Any], report: ReportViolation) -> None:
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


# --- EKS -----------------------------------------------------------------------------------------------

KMS_KEY_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:kms:[a-z0-9-]+:[0-9]{12}:(?:key|alias)/[A-Za-z0-9/_+=,.@:-]+")


def _eks_secrets_encryption(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "eks:index:Cluster":
        # pulumi-eks encrypts exactly `secrets` with this key; without it, nothing.
        key = args.props.get("encryptionConfigKeyArn")
        if not (isinstance(key, str) and KMS_KEY_ARN.fullmatch(key)):
            report("EKS cluster must envelope-encrypt Kubernetes secrets with a KMS key "
                   f"(encryptionConfigKeyArn: a KMS key ARN); got {key!r}.")
    elif args.resource_type == "aws:eks/cluster:Cluster":
        config = _map(args.props.get("encryptionConfig"))
        resources = _strings(config.get("resources"))
        key = _map(config.get("provider")).get("keyArn")
        if "secrets" not in resources or not (isinstance(key, str) and KMS_KEY_ARN.fullmatch(key)):
            report("EKS cluster must envelope-encrypt Kubernetes secrets (encryptionConfig.resources: "
                   f"[secrets], provider.keyArn: a KMS key ARN); got resources {resources}, key {key!r}.")


def _eks_audit_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in ("eks:index:Cluster", "aws:eks/cluster:Cluster"):
        if "audit" not in _strings(args.props.get("enabledClusterLogTypes")):
            report("EKS cluster must send its audit log to CloudWatch (enabledClusterLogTypes includes audit).")


def _eks_endpoint_restricted_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "eks:index:Cluster":
        vpc = args.props
    elif args.resource_type == "aws:eks/cluster:Cluster":
        vpc = _map(args.props.get("vpcConfig"))
    else:
        return
    if not _is_production(args.urn, args.get_config()):
        return
    public, cidrs = vpc.get("endpointPublicAccess"), _seq(vpc.get("publicAccessCidrs"))
    # The endpoint is public unless explicitly closed, and AWS opens a public endpoint to
    # 0.0.0.0/0 when no CIDRs are given.
    if public is not False and (not cidrs or _unreadable_cidrs(cidrs) or _covers_internet(map(_network, cidrs))):
        report(f"in production stack {_stack_of(args.urn)!r}, the EKS API endpoint must not be open "
               f"to the internet (publicAccessCidrs: {cidrs or 'unset, so 0.0.0.0/0'}).")


STATEFUL_TYPES = (ECR_REPOSITORY, "aws:kms/key:Key", "eks:index:Cluster", "aws:eks/cluster:Cluster")


def _protected_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in STATEFUL_TYPES and _is_production(args.urn, args.get_config()):
        if args.opts.protect is not True:
            report(f"{args.resource_type} {args.name!r} holds state and must be protected "
                   f"(protect: true) in production stack {_stack_of(args.urn)!r}.")


# --- The node role (stack-wide) -----------------------------------------------------------------------
# A node role is any role EC2 may assume (its trust policy), and any role a node group, an
# instance profile or the EKS component is given, whatever its trust policy or name says. What it
# carries is found through every way IAM grants a role permissions.

ROLE = "aws:iam/role:Role"
NODE_ROLE_POLICIES = frozenset({
    "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly",
})
# Only the AWS managed policies themselves: account `aws`, no path. A customer policy of the same
# name (arn:aws:iam::<account>:policy/AmazonEKS_CNI_Policy) is whatever its author wrote.
AWS_MANAGED_POLICY = re.compile(r"arn:(?:aws|aws-cn|aws-us-gov):iam::aws:policy/([A-Za-z0-9_+=,.@-]+)")
EC2_PRINCIPALS = frozenset({"ec2.amazonaws.com", "ec2.amazonaws.com.cn", "*"})
# Inputs by which a resource hands a role to nodes.
NODE_ROLE_USES = {
    "eks:index:ManagedNodeGroup": ("nodeRole", "nodeRoleArn"),
    "aws:eks/nodeGroup:NodeGroup": ("nodeRoleArn",),
    "aws:iam/instanceProfile:InstanceProfile": ("role",),
    "eks:index:Cluster": ("instanceRole", "instanceRoles"),
}


def _allowed_node_policy(arn: Any) -> bool:
    match = AWS_MANAGED_POLICY.fullmatch(arn) if isinstance(arn, str) else None
    return bool(match) and match.group(1) in NODE_ROLE_POLICIES


def _policy_shown(arn: Any) -> str:
    match = AWS_MANAGED_POLICY.fullmatch(arn) if isinstance(arn, str) else None
    return match.group(1) if match else repr(arn)


def _trusts_ec2(role_props: Mapping[str, Any]) -> bool:
    document = role_props.get("assumeRolePolicy") or "{}"
    try:
        document = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return True  # unreadable: hold it to the node rule rather than let it escape it
    statements = _map(document).get("Statement") if isinstance(document, Mapping) else None
    for statement in _seq(statements):
        statement = _map(statement)
        if statement.get("Effect", "Allow") != "Allow":
            continue
        principal = statement.get("Principal")
        services = _seq(principal) if isinstance(principal, str) else [
            *_seq(_map(principal).get("Service")), *_seq(_map(principal).get("AWS"))]
        if any(isinstance(s, str) and s.strip().lower() in EC2_PRINCIPALS for s in services):
            return True
    return False


def _role_name_matcher(role):
    """A test of whether a role name (any case) is `role`'s. IAM names "are not distinguished by
    case" (CreateRole's RoleName), so Cluster-Node-Role names the role cluster-node-role. The name
    is the role's own where known; else a namePrefix and anything after it; else Pulumi's auto-name,
    the logical name and a random suffix (pulumi.com/docs/iac/concepts/resources/names), or the
    logical name itself (auto-naming turned off)."""
    name, prefix = role.props.get("name"), role.props.get("namePrefix")
    arn = role.props.get("arn")
    if not (isinstance(name, str) and name) and isinstance(arn, str) and arn.startswith("arn:"):
        name = arn.rsplit("/", 1)[-1]
    if isinstance(name, str) and name:
        return lambda given: given.casefold() == name.casefold()
    if isinstance(prefix, str) and prefix:
        return lambda given: given.casefold().startswith(prefix.casefold())
    auto = re.compile(re.escape(role.name.casefold()) + r"(?:-[0-9a-f]+)?")
    return lambda given: bool(auto.fullmatch(given.casefold()))


def _names_role(value: str, role, matches_name) -> bool:
    """Whether `value` names `role`: its URN, its ARN, or its name (an ARN's last segment is one)."""
    if value == role.urn:
        return True
    arn = role.props.get("arn")
    if isinstance(arn, str) and arn and value == arn:
        return True
    return matches_name(value.rsplit("/", 1)[-1] if value.startswith("arn:") else value)


def _referenced_roles(resource, key: str, roles: Mapping[str, Any]) -> set[str]:
    """URNs of the roles `resource`'s input `key` names: by dependency, URN, ARN or name."""
    found = {dep.urn for dep in resource.property_dependencies.get(key, []) if dep.urn in roles}
    values = [v.strip() for v in _strings(resource.props.get(key))]
    for urn, role in roles.items():
        matches_name = _role_name_matcher(role)
        if any(_names_role(v, role, matches_name) for v in values):
            found.add(urn)
    return found


def _node_role_least_privilege(args: StackValidationArgs, report: ReportViolation) -> None:
    roles = {r.urn: r for r in args.resources if r.resource_type == ROLE}
    node_roles = {urn for urn, role in roles.items() if _trusts_ec2(role.props)}
    for resource in args.resources:
        for key in NODE_ROLE_USES.get(resource.resource_type, ()):
            node_roles |= _referenced_roles(resource, key, roles)

    attached: dict[str, list[Any]] = {urn: [] for urn in node_roles}
    problems: dict[str, list[str]] = {urn: [] for urn in node_roles}
    for resource in args.resources:
        kind = resource.resource_type
        if kind == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            targets, arns = _referenced_roles(resource, "role", roles), [resource.props.get("policyArn")]
        elif kind == "aws:iam/policyAttachment:PolicyAttachment":
            targets, arns = _referenced_roles(resource, "roles", roles), [resource.props.get("policyArn")]
        elif kind == "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive":
            for urn in _referenced_roles(resource, "roleName", roles) & node_roles:
                problems[urn] += [f"{_policy_shown(a)} (in {resource.name!r})"
                                  for a in _seq(resource.props.get("policyArns")) if not _allowed_node_policy(a)]
            continue
        elif kind == "aws:iam/rolePolicy:RolePolicy":
            for urn in _referenced_roles(resource, "role", roles) & node_roles:
                problems[urn].append(f"inline policy {resource.name!r}")
            continue
        elif kind == "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive":
            for urn in _referenced_roles(resource, "roleName", roles) & node_roles:
                if _seq(resource.props.get("policyNames")):
                    problems[urn].append(f"inline policies {list(_strings(resource.props.get('policyNames')))}")
            continue
        else:
            continue
        for urn in targets & node_roles:
            attached[urn] += arns

    for urn in sorted(node_roles):
        role = roles[urn]
        # AWS reports every attached policy in managedPolicyArns after `up`: the three are fine there.
        extra = [a for a in [*attached[urn], *_seq(role.props.get("managedPolicyArns"))] if not _allowed_node_policy(a)]
        problems[urn] = sorted({_policy_shown(a) for a in extra}) + problems[urn]
        duplicates = len(attached[urn]) - len(set(map(str, attached[urn])))
        # pulumi-aws reads a role without inline policies back as one empty {name: "", policy: ""}.
        if any(_map(p).get("policy") or _map(p).get("name") for p in _seq(role.props.get("inlinePolicies"))):
            problems[urn].append("inline policies (inlinePolicies)")
        if problems[urn] or duplicates > 0:
            report(f"node role {role.name!r} may carry only {', '.join(sorted(NODE_ROLE_POLICIES))} "
                   f"(arn:aws:iam::aws:policy/<name>); it also has "
                   f"{', '.join(problems[urn]) or 'duplicate attachments'}.", urn)


# --- What the internet may reach (stack-wide) -------------------------------------------------------
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


def _listener_modern_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in LISTENERS or str(args.props.get("protocol")).strip().upper() not in TLS_PROTOCOLS:
        return
    policy = args.props.get("sslPolicy")
    if not isinstance(policy, str) or not _TLS12_POLICY.fullmatch(policy):
        report(f"TLS listener {args.name!r} has security policy {_shown(policy)}: name one that accepts TLS 1.2 and "
               "newer only, such as ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 (unset, AWS applies "
               "ELBSecurityPolicy-2016-08, which accepts TLS 1.0).")


# --- The pack ----------------------------------------------------------------------------------------------


def _resource_policy(name: str, description: str, validate, config_schema=None) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    config_schema=config_schema)


POLICIES = [
    _resource_policy("ecr-scan-on-push", "ECR scans every pushed image.", _ecr_scan_on_push),
    _resource_policy("ecr-immutable-tags", "ECR repositories have immutable tags.", _ecr_immutable_tags),
    _resource_policy("ecr-kms-encryption", "ECR repositories encrypt images with KMS.", _ecr_kms_encryption),
    _resource_policy("image-by-digest", "Workloads reference images by digest, not tag.",
                     _container_policy(_image_by_digest)),
    _resource_policy("container-limits", "Containers set CPU and memory limits above zero.",
                     _container_policy(_has_limits)),
    _resource_policy("container-non-root", "Containers never run as root.", _container_policy(_non_root)),
    _resource_policy("container-non-root-group", "Containers never run with group 0.",
                     _container_policy(_non_root_group)),
    _resource_policy("container-not-privileged", "Containers are never privileged.",
                     _container_policy(_not_privileged)),
    _resource_policy("container-no-privilege-escalation", "Containers cannot escalate privileges.",
                     _container_policy(_no_privilege_escalation)),
    _resource_policy("container-capabilities", "Containers drop ALL capabilities, add only NET_BIND_SERVICE.",
                     _container_policy(_capabilities)),
    _resource_policy("container-seccomp", "Containers run under the RuntimeDefault or a Localhost seccomp profile.",
                     _container_policy(_seccomp)),
    _resource_policy("container-no-host-ports", "Containers bind no host port.", _container_policy(_host_ports)),
    _resource_policy("container-default-proc-mount", "Containers keep the default /proc mount.",
                     _container_policy(_proc_mount)),
    _resource_policy("container-no-probe-host", "Probes and lifecycle hooks name no host.",
                     _container_policy(_probe_hosts)),
    _resource_policy("pod-no-host-namespaces", "Pods share no host namespace.", _pod_policy(_host_namespaces)),
    _resource_policy("pod-volume-types", "Pods use only the restricted profile's volume types.",
                     _pod_policy(_volume_types)),
    _resource_policy("pod-safe-sysctls", "Pods set only safe sysctls.", _pod_policy(_sysctls)),
    _resource_policy("pod-apparmor", "Pods are not unconfined by AppArmor.", _pod_policy(_apparmor)),
    _resource_policy("pod-selinux", "Pods set no custom SELinux type, user or role.", _pod_policy(_selinux)),
    _resource_policy("pod-no-host-process", "Pods run no Windows HostProcess container.", _pod_policy(_host_process)),
    _resource_policy("service-not-open-to-world", "Load balancers limit their sources; no Service claims externalIPs.",
                     _service_not_open_to_world),
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
                          description="Nothing but the Service's one nodePort (or, behind a load balancer, "
                                      "its listener) is open to the internet.",
                          validate=_world_open_only_on_node_port),
    StackValidationPolicy(name="node-port-behind-load-balancer",
                          description="Behind a load balancer, the nodePort admits the load balancer's security group only.",
                          validate=_node_port_behind_load_balancer),
    StackValidationPolicy(name="load-balancer-own-security-groups",
                          description="A load balancer carries only security groups of its own: created by the "
                                      "stack as aws:ec2/securityGroup:SecurityGroup and attached to nothing else "
                                      "(the nodes' group would open each of its rules to the load balancer's "
                                      "clients; a group given by ID cannot be told from the nodes').",
                          validate=_load_balancer_own_security_groups),
    StackValidationPolicy(name="listener-tls-in-production",
                          description="A production stack with a domain serves only TLS listeners.",
                          validate=_listener_tls_in_production, config_schema=PRODUCTION_CONFIG),
    _resource_policy("listener-modern-tls", "TLS listeners accept TLS 1.2 and newer only.", _listener_modern_tls),
]
