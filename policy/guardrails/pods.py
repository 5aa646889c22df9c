"""Pod specs wherever they appear, and the restricted Pod Security Standard for their containers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Iterator

from pulumi_policy import (
    ResourceValidationArgs,
)
from pulumi_policy.proxy import UnknownValueError

from .values import Report, _is_list, _map, _number, _seq, _shown, _strings


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
    def check(args: ResourceValidationArgs, report: Report) -> None:
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
    return match is not None and float(match.group(1)) > 0


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
