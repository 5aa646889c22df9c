"""Stack configuration, read once and validated before any resource is registered.

Every key is declared with its type, description and default in `Pulumi.yaml`; the Pulumi CLI
merges those defaults into the stack's config, so this module never invents a default of its
own. It checks every key, collects every problem, and raises one error that lists them all:
a bad stack stops the program before anything is created.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import ipaddress
import json
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import pulumi

import eks_versions

PROJECT = "backend-on-eks"

# AL2023 only: Amazon Linux 2 AMIs end with Kubernetes 1.32, and Bottlerocket puts the root
# volume on another device, which the node launch template would then have to know about.
AMI_ARCHITECTURES = {
    "AL2023_x86_64_STANDARD": "amd64",
    "AL2023_ARM_64_STANDARD": "arm64",
}
IMAGE_PLATFORMS = ("linux/amd64", "linux/arm64")
# "None" only suits nodes in public subnets: private nodes would have no way out.
NAT_GATEWAY_STRATEGIES = ("None", "Single", "OnePerAz")
NODE_SUBNET_KINDS = ("public", "private")

NODE_PORT_RANGE = (30000, 32767)
AVAILABILITY_ZONE_RANGE = (2, 3)
# /16 leaves room for large node groups; /20 is the smallest block that still fits a public
# and a private subnet in each of three AZs with the masks the network component derives.
VPC_PREFIX_RANGE = (16, 20)

# Every pattern is used with fullmatch: `$` alone would also accept a value ending in a newline.
_IAM_PRINCIPAL_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:(user|role)/[\w+=,.@/-]{1,512}")
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
# ECR: lowercase components separated by '.', '_' or '-', optionally namespaced with '/'.
_REPOSITORY_NAME = re.compile(r"(?=.{2,256}$)[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*")
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
_CPU_QUANTITY = re.compile(r"(\d+(\.\d+)?)(m?)")
_MEMORY_QUANTITY = re.compile(r"(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
# The retention periods CloudWatch Logs accepts (PutRetentionPolicy); 0 keeps logs forever.
LOG_RETENTION_DAYS = (0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
_MEMORY_FACTORS = {
    None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


# Stack keys that configure the backend, and the environment variable each sets on its
# container. The backend's own defaults are the declared defaults in Pulumi.yaml.
BACKEND_ENVIRONMENT = {
    "backendWorkers": "WEB_CONCURRENCY",
    "backendThreadsPerWorker": "GUNICORN_THREADS",
    "upstreamUrl": "UPSTREAM_URL",
    "upstreamConnectTimeoutSeconds": "UPSTREAM_CONNECT_TIMEOUT_SECONDS",
    "upstreamReadTimeoutSeconds": "UPSTREAM_READ_TIMEOUT_SECONDS",
    "cacheTtlSeconds": "CACHE_TTL_SECONDS",
    "cacheMaxTopics": "CACHE_MAX_TOPICS",
    "logLevel": "LOG_LEVEL",
}


def _load_backend_config() -> ModuleType:
    """The backend's settings module, loaded from its file: its rules, not a copy of them.

    Only that module: it needs nothing but the standard library, while importing the
    `backend` package would need the backend's own dependencies in the Pulumi program's
    environment.
    """
    path = Path(__file__).parent / "app" / "backend" / "config.py"
    spec = importlib.util.spec_from_file_location("backend_on_eks_app_config", path)
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve the module's annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_backend_config = _load_backend_config()


class StackConfigError(pulumi.RunError):
    """Raised with every invalid key of a stack at once (Pulumi prints it without a traceback)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{listing}")


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str


@dataclass(frozen=True)
class StackSettings:
    region: str
    stack: str
    app_name: str
    cluster_name: str
    """Physical name of the EKS cluster: per stack unless the stack pins one."""
    repository_name: str
    """Physical name of the ECR repository: per stack unless the stack pins one."""
    kubernetes_version: str
    upgrade_policy: str
    """EKS support type: STANDARD (EKS upgrades the control plane when standard support ends) or EXTENDED."""
    addon_versions: eks_versions.AddonPins
    vpc_cidr: str
    availability_zone_count: int
    nat_gateway_strategy: str
    nodes_in_public_subnets: bool
    node_instance_types: tuple[str, ...]
    node_ami_type: str
    node_disk_size_gib: int
    node_min_size: int
    node_desired_size: int
    node_max_size: int
    api_public_access_cidrs: tuple[str, ...]
    admin_principal_arns: tuple[str, ...]
    deploy_principal_arns: tuple[str, ...]
    viewer_principal_arns: tuple[str, ...]
    cluster_creator_arn: str
    """The principal EKS made cluster admin when it created the cluster; "" to learn it from AWS."""
    control_plane_log_retention_days: int
    namespace: str
    replicas: int
    node_port: int
    node_port_ingress_cidrs: tuple[str, ...]
    container_resources: Resources
    image_platform: str
    ecr_keep_images: int
    ecr_force_delete: bool
    protect_stateful_resources: bool
    cluster_deletion_protection: bool
    kms_key_deletion_window_days: int
    # Environment variables for the backend container, by name.
    backend_environment: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    """What is allowed but costly or unpinned; `load` logs each as a Pulumi warning."""

    @property
    def upstream_port(self) -> int:
        """The TCP port of upstreamUrl: the one egress port the backend's NetworkPolicy opens
        besides DNS."""
        url = urlsplit(self.backend_environment["UPSTREAM_URL"])
        return url.port or (443 if url.scheme == "https" else 80)


class _Reader:
    """Parses raw config strings, recording a problem per bad key instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self._raw = raw
        self.problems: list[str] = []

    def fail(self, key: str, value: Any, accepted: str) -> None:
        shown = "<not set>" if value is None else json.dumps(value) if not isinstance(value, str) else repr(value)
        self.problems.append(f"{key} = {shown}: {accepted}")

    def problem(self, keys: tuple[str, ...], shown: str, accepted: str) -> None:
        """A problem that involves several keys at once."""
        self.problems.append(f"{'/'.join(keys)} = {shown}: {accepted}")

    def _value(self, key: str) -> str | None:
        value = self._raw.get(key)
        if value is None:
            self.fail(key, None, f"is required: set it with `pulumi config set {key} <value>`")
        return value

    def string(self, key: str, check: Callable[[str], bool] = lambda _: True, accepted: str = "") -> str:
        value = self._value(key)
        if value is not None and not check(value):
            self.fail(key, value, accepted)
        return value or ""

    def choice(self, key: str, choices: tuple[str, ...] | Mapping[str, Any]) -> str:
        return self.string(key, lambda v: v in choices, f"must be one of {', '.join(choices)}")

    def matching(self, key: str, pattern: re.Pattern[str], accepted: str) -> str:
        return self.string(key, lambda v: pattern.fullmatch(v) is not None, accepted)

    def integer(self, key: str, low: int, high: int) -> int:
        value = self._value(key)
        if value is None:
            return low
        try:
            number = float(value)
            if not number.is_integer():
                raise ValueError
            number = int(number)
        except ValueError:
            self.fail(key, value, f"must be a whole number from {low} to {high}")
            return low
        if not low <= number <= high:
            self.fail(key, number, f"must be a whole number from {low} to {high}")
        return number

    def boolean(self, key: str) -> bool:
        value = self._value(key)
        if value is None:
            return False
        if value.lower() not in ("true", "false"):
            self.fail(key, value, "must be true or false")
            return False
        return value.lower() == "true"

    def string_list(
        self, key: str, check: Callable[[str], bool], accepted: str, min_items: int = 0
    ) -> tuple[str, ...]:
        value = self._value(key)
        if value is None:
            return ()
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            self.fail(key, value, "must be a list of strings")
            return ()
        if len(items) < min_items:
            self.fail(key, items, f"must list at least {min_items} item(s)")
        for item in items:
            if not check(item):
                self.fail(key, item, accepted)
        for item in sorted({item for item in items if items.count(item) > 1}):
            self.fail(key, item, "is listed more than once")
        return tuple(items)


def _is_cidr(value: str) -> bool:
    # AWS wants the prefix spelled out; a bare address would be read as /32 only by Python.
    if "/" not in value:
        return False
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return False
    return True


def _vpc_cidr_fits(value: str) -> bool:
    if not _is_cidr(value):
        return False
    network = ipaddress.IPv4Network(value)
    return network.is_private and VPC_PREFIX_RANGE[0] <= network.prefixlen <= VPC_PREFIX_RANGE[1]


def cpu_millicores(quantity: str) -> Decimal | None:
    match = _CPU_QUANTITY.fullmatch(quantity)
    if not match:
        return None
    number = Decimal(match.group(1))
    return number if match.group(3) else number * 1000


def memory_bytes(quantity: str) -> Decimal | None:
    match = _MEMORY_QUANTITY.fullmatch(quantity)
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _MEMORY_FACTORS[match.group(3)]
    except InvalidOperation:
        return None


def stack_slug(stack: str, max_length: int) -> str:
    """The stack's name as it may appear in a physical name: lowercase letters, digits and '-'.

    A stack whose name had to be changed to fit (`Dev`, `team.a`, `team_a`) also gets a short hash
    of its exact name, so two stacks that differ only in what was changed still never share a name.
    """
    slug = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", stack.lower())).strip("-")
    if slug == stack and len(slug) <= max_length:
        return slug
    digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
    return "-".join(part for part in (slug[: max_length - len(digest) - 1].strip("-"), digest) if part)


# Physical names AWS holds per account and region. Each stack gets its own unless it pins one,
# so any number of stacks live side by side in one account without meeting.
CLUSTER_NAME_MAX = 100


def default_cluster_name(stack: str) -> str:
    return f"{PROJECT}-{stack_slug(stack, CLUSTER_NAME_MAX - len(PROJECT) - 1)}"


def default_repository_name(stack: str, app_name: str) -> str:
    return f"{default_cluster_name(stack)}/{app_name}"


def parse(
    raw: Mapping[str, str | None], region: str | None, stack: str, today: datetime.date | None = None,
) -> StackSettings:
    """Builds validated settings from raw config values (keys without the project prefix).

    `today` (UTC) decides which Kubernetes versions EKS still supports."""
    read = _Reader({f"{PROJECT}:{name}": value for name, value in raw.items()} | {"aws:region": region})

    def key(name: str) -> str:
        return f"{PROJECT}:{name}"

    region_value = read.string(
        "aws:region", lambda v: re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", v) is not None,
        "must be an AWS region such as us-east-1",
    )
    app_name = read.matching(
        key("appName"), _DNS_LABEL,
        "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 63 characters",
    )
    cluster_name = read.string(
        key("clusterName"), lambda v: v == "" or _CLUSTER_NAME.fullmatch(v) is not None,
        "must be empty (a name of this stack's own) or 1-100 letters, digits, '-' or '_', "
        "starting with a letter or digit",
    ) or default_cluster_name(stack)
    repository_name = read.string(
        key("repositoryName"), lambda v: v == "" or _REPOSITORY_NAME.fullmatch(v) is not None,
        "must be empty (a name of this stack's own) or an ECR repository name: 2-256 lowercase "
        "letters and digits, separated by '.', '_', '-' or '/'",
    ) or default_repository_name(stack, app_name or "app")
    kubernetes_version = read.string(key("kubernetesVersion"))
    upgrade_policy = read.choice(key("kubernetesUpgradePolicy"), eks_versions.SUPPORT_TYPES)
    version_problems, version_warnings = eks_versions.check(
        kubernetes_version, today or eks_versions.utc_today(),
        upgrade_policy if upgrade_policy in eks_versions.SUPPORT_TYPES else None,
    )
    for problem in version_problems:
        read.fail(key("kubernetesVersion"), kubernetes_version, problem)
    vpc_cidr = read.string(
        key("vpcCidr"), _vpc_cidr_fits,
        f"must be a private IPv4 CIDR block from /{VPC_PREFIX_RANGE[0]} to /{VPC_PREFIX_RANGE[1]}",
    )
    az_count = read.integer(key("availabilityZoneCount"), *AVAILABILITY_ZONE_RANGE)
    nat_strategy = read.choice(key("natGatewayStrategy"), NAT_GATEWAY_STRATEGIES)
    node_subnets = read.choice(key("nodeSubnets"), NODE_SUBNET_KINDS)
    if nat_strategy == "None" and node_subnets == "private":
        read.problem(
            (key("natGatewayStrategy"), key("nodeSubnets")), "'None'/'private'",
            "nodes in private subnets need a NAT gateway to pull images and reach the upstream: "
            "choose Single or OnePerAz, or put the nodes in public subnets",
        )
    instance_types = read.string_list(
        key("nodeInstanceTypes"), lambda v: _INSTANCE_TYPE.fullmatch(v) is not None,
        "must be an EC2 instance type such as t3.medium", min_items=1,
    )
    ami_type = read.choice(key("nodeAmiType"), AMI_ARCHITECTURES)
    disk_size = read.integer(key("nodeDiskSizeGib"), 20, 16384)
    min_size = read.integer(key("nodeMinSize"), 1, 100)
    desired_size = read.integer(key("nodeDesiredSize"), 1, 100)
    max_size = read.integer(key("nodeMaxSize"), 1, 100)
    if not min_size <= desired_size <= max_size:
        read.problems.append(
            f"{key('nodeMinSize')}/{key('nodeDesiredSize')}/{key('nodeMaxSize')} = "
            f"{min_size}/{desired_size}/{max_size}: must satisfy min <= desired <= max"
        )
    api_cidrs = read.string_list(
        key("apiPublicAccessCidrs"), _is_cidr, "must be an IPv4 CIDR block such as 203.0.113.0/24",
        min_items=1,
    )
    principal_lists = {
        name: read.string_list(
            key(name), lambda v: _IAM_PRINCIPAL_ARN.fullmatch(v) is not None,
            "must be an IAM user or role ARN such as arn:aws:iam::123456789012:role/Admin",
        )
        for name in ("adminPrincipalArns", "deployPrincipalArns", "viewerPrincipalArns")
    }
    _check_one_entry_per_principal(read, principal_lists)
    creator_arn = read.string(
        key("clusterCreatorArn"), lambda v: v == "" or _IAM_PRINCIPAL_ARN.fullmatch(v) is not None,
        "must be empty (learnt from AWS) or the IAM user or role ARN that created the cluster",
    )
    log_retention = read.integer(key("controlPlaneLogRetentionDays"), 0, max(LOG_RETENTION_DAYS))
    if log_retention not in LOG_RETENTION_DAYS and 0 <= log_retention <= max(LOG_RETENTION_DAYS):
        read.fail(key("controlPlaneLogRetentionDays"), log_retention,
                  f"must be one of the periods CloudWatch Logs accepts: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    namespace = read.matching(
        key("namespace"), _DNS_LABEL,
        "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 63 characters",
    )
    replicas = read.integer(key("replicas"), 1, 100)
    node_port = read.integer(key("nodePort"), *NODE_PORT_RANGE)
    ingress_cidrs = read.string_list(
        key("nodePortIngressCidrs"), _is_cidr, "must be an IPv4 CIDR block such as 203.0.113.0/24"
    )
    cpu_request = read.string(key("cpuRequest"), lambda v: cpu_millicores(v) is not None,
                              "must be a CPU quantity such as 250m or 1")
    cpu_limit = read.string(key("cpuLimit"), lambda v: cpu_millicores(v) is not None,
                            "must be a CPU quantity such as 500m or 2")
    memory_request = read.string(key("memoryRequest"), lambda v: memory_bytes(v) is not None,
                                 "must be a memory quantity such as 128Mi or 1Gi")
    memory_limit = read.string(key("memoryLimit"), lambda v: memory_bytes(v) is not None,
                               "must be a memory quantity such as 256Mi or 1Gi")
    _check_request_within_limit(read, "cpu", cpu_request, cpu_limit, cpu_millicores)
    _check_request_within_limit(read, "memory", memory_request, memory_limit, memory_bytes)
    platform = read.choice(key("imagePlatform"), IMAGE_PLATFORMS)
    if ami_type in AMI_ARCHITECTURES and platform in IMAGE_PLATFORMS:
        if platform != f"linux/{AMI_ARCHITECTURES[ami_type]}":
            read.problems.append(
                f"{key('imagePlatform')} = {platform!r}: must match the nodes' architecture "
                f"(nodeAmiType {ami_type} runs linux/{AMI_ARCHITECTURES[ami_type]})"
            )
    keep_images = read.integer(key("ecrKeepImages"), 1, 1000)
    force_delete = read.boolean(key("ecrForceDelete"))
    protect = read.boolean(key("protectStatefulResources"))
    deletion_protection = read.boolean(key("clusterDeletionProtection"))
    kms_window = read.integer(key("kmsKeyDeletionWindowDays"), 7, 30)
    backend_environment = _backend_environment(read)

    if read.problems:
        raise StackConfigError(read.problems)
    return StackSettings(
        region=region_value,
        stack=stack,
        app_name=app_name,
        cluster_name=cluster_name,
        repository_name=repository_name,
        kubernetes_version=kubernetes_version,
        upgrade_policy=upgrade_policy,
        addon_versions=eks_versions.addon_versions(kubernetes_version),
        vpc_cidr=vpc_cidr,
        availability_zone_count=az_count,
        nat_gateway_strategy=nat_strategy,
        nodes_in_public_subnets=node_subnets == "public",
        node_instance_types=instance_types,
        node_ami_type=ami_type,
        node_disk_size_gib=disk_size,
        node_min_size=min_size,
        node_desired_size=desired_size,
        node_max_size=max_size,
        api_public_access_cidrs=api_cidrs,
        admin_principal_arns=principal_lists["adminPrincipalArns"],
        deploy_principal_arns=principal_lists["deployPrincipalArns"],
        viewer_principal_arns=principal_lists["viewerPrincipalArns"],
        cluster_creator_arn=creator_arn,
        control_plane_log_retention_days=log_retention,
        namespace=namespace,
        replicas=replicas,
        node_port=node_port,
        node_port_ingress_cidrs=ingress_cidrs,
        container_resources=Resources(cpu_request, cpu_limit, memory_request, memory_limit),
        image_platform=platform,
        ecr_keep_images=keep_images,
        ecr_force_delete=force_delete,
        protect_stateful_resources=protect,
        cluster_deletion_protection=deletion_protection,
        kms_key_deletion_window_days=kms_window,
        backend_environment=backend_environment,
        warnings=tuple(f"{key('kubernetesVersion')} = {kubernetes_version!r}: {warning}"
                       for warning in version_warnings),
    )


def _backend_environment(read: _Reader) -> dict[str, str]:
    """The backend keys as the container's environment, checked by the backend's own rules:
    each value alone (so the problem names its key), then all together."""
    environment = {}
    for name, variable in BACKEND_ENVIRONMENT.items():
        stack_key = f"{PROJECT}:{name}"
        value = read.string(stack_key)
        if not value:
            continue
        try:
            _backend_config.read_service_settings({variable: value})
        except _backend_config.ConfigError as exc:
            read.fail(stack_key, value, f"the backend refuses it: {exc}")
            continue
        environment[variable] = value
    if len(environment) == len(BACKEND_ENVIRONMENT):
        try:
            _backend_config.read_service_settings(environment)
        except _backend_config.ConfigError as exc:
            involved = [f"{PROJECT}:{name}" for name, variable in BACKEND_ENVIRONMENT.items()
                        if variable in str(exc)]
            involved = involved or [f"{PROJECT}:{name}" for name in BACKEND_ENVIRONMENT]
            read.problems.append(f"{'/'.join(involved)}: the backend refuses them together: {exc}")
    return environment


def access_entry_key(principal_arn: str) -> str:
    """The key of a principal's access entry: stable, so reordering a list replaces nothing."""
    account, resource = principal_arn.split(":")[4], principal_arn.split(":", 5)[5]
    return re.sub(r"[^A-Za-z0-9-]", "-", f"{account}-{resource}")


def _check_one_entry_per_principal(read: _Reader, principal_lists: Mapping[str, tuple[str, ...]]) -> None:
    """EKS keeps one access entry per principal: a principal in two lists, or two principals whose
    entries would share a key, would make the second entry fail (or vanish) half-way through an up."""
    listed_in: dict[str, list[str]] = {}
    for name, arns in principal_lists.items():
        for arn in {arn for arn in arns if _IAM_PRINCIPAL_ARN.fullmatch(arn)}:
            listed_in.setdefault(arn, []).append(name)
    for arn, names in sorted(listed_in.items()):
        if len(names) > 1:
            read.problem(tuple(f"{PROJECT}:{name}" for name in names), repr(arn),
                         "a principal gets one access entry: list it in one of these only")
    by_key: dict[str, list[str]] = {}
    for arn in listed_in:
        by_key.setdefault(access_entry_key(arn), []).append(arn)
    for arns in by_key.values():
        if len(arns) > 1:
            read.problem(tuple(f"{PROJECT}:{name}" for name in principal_lists), ", ".join(sorted(arns)),
                         "these principals differ only in characters an access entry's name cannot hold; "
                         "rename one of them")


def _check_request_within_limit(read: _Reader, what: str, request: str, limit: str, amount) -> None:
    requested, limited = amount(request or ""), amount(limit or "")
    if requested is not None and limited is not None and requested > limited:
        read.problems.append(
            f"{PROJECT}:{what}Request = {request!r}: must not exceed {PROJECT}:{what}Limit ({limit!r})"
        )


CONFIG_KEYS = (
    "appName", "clusterName", "repositoryName", "kubernetesVersion", "kubernetesUpgradePolicy", "vpcCidr", "availabilityZoneCount",
    "natGatewayStrategy", "nodeSubnets", "nodeInstanceTypes", "nodeAmiType", "nodeDiskSizeGib",
    "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "apiPublicAccessCidrs", "adminPrincipalArns",
    "deployPrincipalArns", "viewerPrincipalArns", "clusterCreatorArn", "controlPlaneLogRetentionDays",
    "namespace", "replicas", "nodePort", "nodePortIngressCidrs", "cpuRequest", "cpuLimit",
    "memoryRequest", "memoryLimit", "imagePlatform", "ecrKeepImages", "ecrForceDelete",
    "protectStatefulResources", "clusterDeletionProtection", "kmsKeyDeletionWindowDays",
    *BACKEND_ENVIRONMENT,
)


def load() -> StackSettings:
    """Reads the current stack's config (project keys and aws:region) and validates it."""
    config = pulumi.Config(PROJECT)
    raw = {name: config.get(name) for name in CONFIG_KEYS}
    settings = parse(raw, pulumi.Config("aws").get("region"), pulumi.get_stack())
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
