"""Stack configuration, read once and validated before any resource is registered.

Every key is declared with its type, description and default in `Pulumi.yaml`; the Pulumi CLI
merges those defaults into the stack's config, so this module never invents a default of its
own. It checks every key, collects every problem, and raises one error that lists them all:
a bad stack stops the program before anything is created. Each problem starts with the key and
the value it had (`backend-on-eks:replicas = 0: must be ...`; a secret's value is never shown),
then says what is accepted.

Hand-written checks, library facts. A typed model (pydantic v2) was weighed and not taken:
- The values arrive as the CLI's strings, and pydantic's lax mode accepts exactly what this module
  must refuse (" 3", "3\n" and "1e3" as integers, "yes" and "on" as booleans); strict mode refuses
  every string for an integer, so each field would need the custom validator it has here anyway.
- Most of the rules are between keys (architecture of the instance types and the AMI, workers and
  the memory limit, replicas and what the node group can hold, the backend's own combined rule),
  written in pydantic as model validators that run only when every field is valid, which would
  hide them exactly when a stack has several problems; here every problem is reported at once.
- Its messages (`1 validation error for ...`, `Input should be ...`) would be rewritten into this
  format key by key, and pydantic is not in the Pulumi program's requirements.txt (only in the
  backend image's), so it would be one more pinned dependency for no check gained.
What libraries do know is used instead of hand-written copies: `ipaddress` (CIDR blocks, what
they cover and which ranges are special), `difflib` (the nearest declared key or region for a
typo), pulumi-aws's `Region` enum (the regions), the backend's own `config.py` (the rules the
container applies to its environment), and `eks_versions` (which Kubernetes versions EKS runs).
"""

from __future__ import annotations

import collections
import datetime
import difflib
import hashlib
import importlib.util
import ipaddress
import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import email_validator
import pulumi
from pulumi.runtime import config as runtime_config
from pulumi_aws import Region

import autoscaler_releases
import eks_versions
from policy.internet import EVERYWHERE, NEVER_A_SOURCE, NOT_PUBLIC, PRIVATE_RANGES, covers_all_public_addresses

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
# How clients reach the backend: the nodes' NodePort directly (the tutorial's way), or a Network
# Load Balancer in front of it (components/front_door.py).
EXPOSURES = ("nodePort", "loadBalancer")
TARGET_CPU_UTILIZATION_RANGE = (10, 95)
AVAILABILITY_ZONE_RANGE = (2, 3)
# /16 leaves room for large node groups; /20 is the smallest block that still fits a public
# and a private subnet in each of three AZs with the masks the network component derives.
VPC_PREFIX_RANGE = (16, 20)

# The regions pulumi-aws knows (its `Region` enum), rather than a pattern that takes us-eest-1.
AWS_REGIONS = tuple(region.value for region in Region)

# Every pattern is used with fullmatch (`$` alone would also accept a value ending in a newline)
# and re.ASCII (`\w` and `\d` would otherwise take letters and digits of every script).
_IAM_PRINCIPAL_ARN = re.compile(
    r"arn:(?P<partition>aws(-[a-z]+)*):iam::(?P<account>\d{12}):(?P<kind>user|role)(?P<path>/(?:[^/]+/)*)(?P<name>[^/]+)",
    re.ASCII)
# IAM's own rules (CreateRole/CreateUser): a name of 1-64 of these characters, a path of at most
# 512 printable ASCII characters; a path segment that is empty, `.` or `..` is one no AWS tool writes.
_IAM_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_IAM_PATH_SEGMENT = re.compile(r"[\x21-\x7e]+", re.ASCII)
IAM_PATH_MAX = 512
# The partition each region belongs to, by the region name's prefix (the regionRegex of each
# partition in the AWS SDKs' partitions.json); test_settings holds every region pulumi-aws knows to it.
PARTITION_PREFIXES = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                      ("us-isof-", "aws-iso-f"), ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"),
                      ("eusc-", "aws-eusc"))


def partition_of(region: str) -> str:
    return next((partition for prefix, partition in PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def iam_principal_problem(arn: str, region: str | None) -> str | None:
    """Why `arn` is not the ARN of an IAM role or user of this stack's partition, or None."""
    found = _IAM_PRINCIPAL_ARN.fullmatch(arn)
    if found is None:
        return ("must be an IAM user or role ARN such as arn:aws:iam::123456789012:role/Admin "
                "(no trailing slash, no empty path segment)")
    kind, path, name = found["kind"], found["path"], found["name"]
    if not _IAM_NAME.fullmatch(name):
        return f"must be an IAM user or role ARN: the {kind} name {name!r} is not one IAM allows (1-64 letters, digits or + = , . @ _ -)"
    segments = path.strip("/").split("/") if path != "/" else []
    if len(path) > IAM_PATH_MAX or any(segment in (".", "..") or not _IAM_PATH_SEGMENT.fullmatch(segment)
                                       for segment in segments):
        return (f"must be an IAM user or role ARN: the path {path!r} is not one IAM allows (at most "
                f"{IAM_PATH_MAX} printable ASCII characters, no segment empty, '.' or '..')")
    if region is not None and region in AWS_REGIONS and found["partition"] != partition_of(region):
        return (f"must be an IAM user or role ARN of the stack's partition: it is in {found['partition']}, but "
                f"region {region} is in {partition_of(region)}, and an access entry takes principals of its own")
    return None


def principal_identity(arn: str) -> tuple[str, ...]:
    """What names one IAM principal: partition, account, kind and name, without the path (a name
    is unique per account whatever its path) and in lower case (IAM compares names so)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return (arn,)
    kind, _, rest = parts[5].partition("/")
    return (parts[1], parts[4], kind, rest.rsplit("/", 1)[-1].lower())
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
# ECR: lowercase components separated by '.', '_' or '-', optionally namespaced with '/'.
_REPOSITORY_NAME = re.compile(r"(?=.{2,256}$)[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*")
# A fully qualified name for a certificate and an alias record: at least two labels, no wildcard
# (the listener serves one name), lowercase as Route 53 stores it.
_DOMAIN_NAME = re.compile(r"(?=.{4,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
# Route 53 answers IDs of up to 32 characters, `Z` and then uppercase letters and digits (13 or
# 20 of them in practice); the `/hostedzone/` prefix of its API paths is not part of the ID.
_HOSTED_ZONE_ID = re.compile(r"Z[A-Z0-9]{9,31}", re.ASCII)
# ACM's RequestCertificate takes a DomainName of 1-253 characters, but the certificate's first
# name goes into its subject's CN, which X.509 bounds to 64 (ACM refuses longer ones).
ACM_FIRST_NAME_MAX = 64
# What ECR answers as an image digest (OCI: algorithm sha256, lowercase hex); not a tag, which moves.
IMAGE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")
# AWS's instance type names: family letters, generation digit, attribute letters, '.', size
# ("m7gd.2xlarge"). The attribute "g" marks AWS Graviton (arm64) processors.
_INSTANCE_TYPE_PARTS = re.compile(r"(?P<family>[a-z]+)(?P<generation>[0-9]+)(?P<attributes>[a-z0-9-]*)\.(?P<size>[a-z0-9-]+)")
_INSTANCE_SIZE = re.compile(r"(?P<times>[1-9][0-9]*)?xlarge")
# Canonical whole numbers only: no sign on zero, no leading zeros, no spaces, exponents, hex,
# underscores or digits of other scripts (float() and int() alone accept most of those).
_WHOLE_NUMBER = re.compile(r"0|-?[1-9][0-9]{0,17}", re.ASCII)
_CPU_QUANTITY = re.compile(r"(\d+(\.\d+)?)(m?)", re.ASCII)
_MEMORY_QUANTITY = re.compile(r"(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?", re.ASCII)
# The retention periods CloudWatch Logs accepts (PutRetentionPolicy); 0 keeps logs forever.
LOG_RETENTION_DAYS = (0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
_MEMORY_FACTORS = {
    None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}
_MI = 2**20
_GI = 2**30

# Bounds of the container's quantities. The minimums refuse what cannot run: a zero CPU request
# lets the scheduler put the pod on a node with no CPU to spare; under a 100m limit the CFS quota
# stretches the Python start-up (interpreter, Flask, the backend) into the probes' timeouts; and a
# Python process with Flask loaded is already tens of MiB resident. The maximums catch the missing
# unit ("100" for 100m, "256" for 256Mi reads as 256 bytes, "4096" for 4096Mi as 4096 cores if
# given as CPU): no node this program would pick gives one pod 64 vCPUs or 256 GiB.
CPU_REQUEST_MILLICORES = (10, 64_000)
CPU_LIMIT_MILLICORES = (100, 64_000)
MEMORY_REQUEST_BYTES = (32 * _MI, 256 * _GI)
MEMORY_LIMIT_BYTES = (64 * _MI, 256 * _GI)
# What one server process holds resident once the backend is imported (~40 MB per worker), and an allowance per thread for the stack pages it touches and one in-flight upstream
# answer. The main process counts as one more: a pod's memory limit must hold them all, or the
# kernel kills a worker as soon as they have all started.
BACKEND_PROCESS_BYTES = 40 * _MI
BACKEND_THREAD_BYTES = 1 * _MI

# Namespaces Kubernetes keeps for itself: "default" is where everything unnamed lands, and the
# kube- prefix is reserved for the system's own (kube-system, kube-public, kube-node-lease).
RESERVED_NAMESPACES = ("default",)
RESERVED_NAMESPACE_PREFIX = "kube-"

# What the internet is, shared with the policy pack (policy/internet.py, standard library only, so
# both read the same notion): EVERYWHERE, the only block an "everyone" rule may be written as (a set
# of blocks that adds up to every public address says the same while hiding it from a reviewer and a
# policy); PRIVATE_RANGES (RFC 1918); NEVER_A_SOURCE, ranges no client connects from; NOT_PUBLIC,
# what the cluster's public endpoint never sees as a source, so listing one grants nothing and
# hides a misunderstanding (the VPC and a VPN reach the API by other ways).
# Docker's default bridge. A VPC inside it is unreachable from any machine running Docker with its
# defaults (the CI runner, a developer's laptop over VPN): their packets go to the local bridge.
# EKS's own service range needs no check: unless told, EKS picks 10.100.0.0/16 or 172.20.0.0/16,
# whichever does not overlap the VPC, and a /16-/20 VPC can never overlap both.
DOCKER_BRIDGE = ipaddress.IPv4Network("172.17.0.0/16")

# Values longer than this are refused (IAM ARNs and URLs stay within it), and shown shortened.
MAX_VALUE_LENGTH = 2048
_SHOWN_LENGTH = 100


# Stack keys that configure the backend, and the environment variable each sets on its
# container. The backend's own defaults are the declared defaults in Pulumi.yaml.
BACKEND_ENVIRONMENT = {
    "backendWorkers": "WEB_CONCURRENCY",
    "backendThreadsPerWorker": "WORKER_THREADS",
    "upstreamUrl": "UPSTREAM_URL",
    "upstreamConnectTimeoutSeconds": "UPSTREAM_CONNECT_TIMEOUT_SECONDS",
    "upstreamReadTimeoutSeconds": "UPSTREAM_READ_TIMEOUT_SECONDS",
    "cacheTtlSeconds": "CACHE_TTL_SECONDS",
    "cacheMaxTopics": "CACHE_MAX_TOPICS",
    "logLevel": "LOG_LEVEL",
}
# The backend keys Pulumi.yaml declares as strings; every other one is an integer.
BACKEND_TEXT_KEYS = ("upstreamUrl", "logLevel")


def _load_backend_config() -> ModuleType:
    """The backend's settings module, loaded from its file: its rules, not a copy of them.

    Only that module: it needs nothing but the standard library, while importing the
    `backend` package would need the backend's own dependencies in the Pulumi program's
    environment.
    """
    path = Path(__file__).parent / "app" / "backend" / "config.py"
    spec = importlib.util.spec_from_file_location("backend_on_eks_app_config", path)
    assert spec is not None and spec.loader is not None  # a .py file path always has both
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
    pod_autoscaling: bool
    """A HorizontalPodAutoscaler on CPU runs the Deployment from `replicas` to `max_replicas`."""
    max_replicas: int
    target_cpu_utilization: int
    node_autoscaling: bool
    """The Cluster Autoscaler moves the node group's desired size between its min and max."""
    metrics_collection: bool
    """An AMP workspace and its managed scraper collect the backend's (and the autoscaler's) metrics."""
    container_insights: bool
    """The CloudWatch Observability add-on: container logs kept in CloudWatch Logs, and Container
    Insights' pod and node metrics (the pod-restart alarm and the dashboard read them)."""
    container_log_retention_days: int
    """0 keeps the container logs forever."""
    alarm_emails: tuple[str, ...]
    """Who the alerts (AMP alerting rules, through an SNS topic) are mailed to; empty: nobody yet."""
    alarm_error_rate_percent: int
    alarm_latency_p99_ms: int
    node_port: int
    node_port_ingress_cidrs: tuple[str, ...]
    exposure: str
    load_balancer_ingress_cidrs: tuple[str, ...]
    domain_name: str
    """Served over TLS on 443 with an ACM certificate and an alias record; "" for plain TCP 80."""
    hosted_zone_id: str
    container_resources: Resources
    image_platform: str
    image_digest: str
    """`sha256:` + 64 hex of an image the stack's repository holds, run instead of building app/;
    "" to build (components/image.py). How a rollback, by hand or by `ops gate`, is deployed."""
    ecr_keep_images: int
    ecr_force_delete: bool
    protect_stateful_resources: bool
    cluster_deletion_protection: bool
    kms_key_deletion_window_days: int
    # Environment variables for the backend container, by name.
    backend_environment: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    """What is allowed but costly or unpinned; `load` logs each as a Pulumi warning."""
    secret_keys: frozenset[str] = frozenset()
    """Declared keys (without the project prefix, e.g. "upstreamUrl") whose stack value was set with
    `pulumi config set --secret`: whatever carries their values on must keep them secret."""
    monthly_budget_usd: int = 0
    """Most the stack may cost a month (ops/cost.py holds the priced graph to it); 0: no budget."""

    @property
    def plain_environment(self) -> dict[str, str]:
        """The container's environment variables whose stack keys hold no secret."""
        return {variable: value for variable, value in self.backend_environment.items()
                if variable not in self._secret_variables}

    @property
    def secret_environment(self) -> dict[str, str]:
        """The variables whose stack keys hold secrets: they go to the pod through a Kubernetes
        Secret, never as plain values."""
        return {variable: value for variable, value in self.backend_environment.items()
                if variable in self._secret_variables}

    @property
    def _secret_variables(self) -> frozenset[str]:
        return frozenset(variable for key, variable in BACKEND_ENVIRONMENT.items() if key in self.secret_keys)

    @property
    def upstream_port(self) -> int:
        """The TCP port of upstreamUrl: the one egress port the backend's NetworkPolicy opens
        besides DNS."""
        url = urlsplit(self.backend_environment["UPSTREAM_URL"])
        return url.port or (443 if url.scheme == "https" else 80)


def shown(value: Any) -> str:
    """A value as a problem shows it: a string quoted with its escapes visible ('3\n'), other
    JSON values as JSON, and a very long string shortened with its length."""
    if value is None:
        return "<not set>"
    if not isinstance(value, str):
        return json.dumps(value)
    if len(value) > _SHOWN_LENGTH:
        return f"{value[:_SHOWN_LENGTH]!r}... ({len(value)} characters)"
    return repr(value)


def text_problem(value: str) -> str | None:
    """What is wrong with a string value whatever its key, or None: a control or invisible
    character (a newline pasted along, a zero-width space), surrounding spaces, or a length no
    value needs. Checked first, so a key's own rule only ever sees clean text."""
    if len(value) > MAX_VALUE_LENGTH:
        return f"is {len(value)} characters long; no value may be longer than {MAX_VALUE_LENGTH}"
    for character in value:
        if unicodedata.category(character).startswith("C"):
            return (f"contains the control or invisible character U+{ord(character):04X}; "
                    "remove it (a value never needs one)")
    if value != value.strip():
        return "has leading or trailing spaces; remove them"
    return None


# A secret value this long or longer is also taken out of problem texts where it stands unquoted.
_SECRET_BARE_MIN = 4
_PLACEHOLDER = "[secret]"


class _Reader:
    """Parses raw config strings, recording a problem per bad key instead of stopping at the first.

    A key with a problem is remembered (`bad`), so the rules between keys skip it instead of
    reporting the same mistake again under another name."""

    def __init__(self, raw: Mapping[str, str | None], secret_keys: frozenset[str] = frozenset()) -> None:
        self._raw = raw
        self._secret_keys = secret_keys
        self.problems: list[str] = []
        self.bad: set[str] = set()

    def shown(self, key: str, value: Any) -> str:
        # A secret's value must not reach a terminal or a CI log through an error message.
        if key in self._secret_keys and value is not None:
            return "[secret]"
        return shown(value)

    def is_secret(self, *keys: str) -> bool:
        return any(key in self._secret_keys for key in keys)

    def fail(self, key: str, value: Any, accepted: str) -> None:
        self.bad.add(key)
        self.add(f"{key} = {self.shown(key, value)}: {accepted}")

    def problem(self, keys: tuple[str, ...], shown_values: str, accepted: str) -> None:
        """A problem that involves several keys at once; with a secret among them, the values
        are not shown (a value derived from a secret would tell it too)."""
        if self.is_secret(*keys):
            shown_values = "/".join("[secret]" if self.is_secret(key) else "…" for key in keys)
        self.add(f"{'/'.join(keys)} = {shown_values}: {accepted}")

    def add(self, text: str) -> None:
        """Every problem goes through here: whatever wrote the text (a rule of this module, the
        backend's own checks quoting a value), a secret's value is taken out of it."""
        self.problems.append(self._redacted(text))

    def _redacted(self, text: str) -> str:
        spellings = set()
        for key in self._secret_keys:
            value = self._raw.get(key)
            if value:
                # A value of a character or two also spells parts of ordinary words and numbers;
                # quoted, it is replaced wherever it stands, bare only when it is long enough to
                # mean itself.
                spellings |= {repr(value), json.dumps(value)} | ({value} if len(value) >= _SECRET_BARE_MIN else set())
        # Between the placeholders already there, so that a value spelled inside "[secret]" itself
        # (such as "secr") does not take the placeholder apart.
        parts = text.split(_PLACEHOLDER)
        for spelling in sorted(spellings, key=len, reverse=True):
            parts = [part.replace(spelling, "\0") for part in parts]
        return _PLACEHOLDER.join(part.replace("\0", _PLACEHOLDER) for part in parts)

    def ok(self, *keys: str) -> bool:
        """Whether every one of `keys` passed its own checks (a rule between them may run)."""
        return not self.bad.intersection(keys)

    def _text(self, key: str) -> str | None:
        """The value, or None when it is missing or fails `text_problem` (already reported)."""
        value = self._raw.get(key)
        if value is None:
            self.fail(key, None, f"is required: set it with `pulumi config set {key} <value>`")
            return None
        problem = text_problem(value)
        if problem:
            self.fail(key, value, problem)
            return None
        return value

    def string(self, key: str, check: Callable[[str], bool] = lambda _: True,
               accepted: str | Callable[[str], str] = "") -> str:
        value = self._text(key)
        if value is not None and not check(value):
            self.fail(key, value, accepted(value) if callable(accepted) else accepted)
        return value or ""

    def choice(self, key: str, choices: tuple[str, ...] | Mapping[str, Any]) -> str:
        value = self._text(key)
        if value is not None and value not in choices:
            self.fail(key, value, f"must be one of {', '.join(choices)}{_did_you_mean(value, choices)}")
        return value or ""

    def matching(self, key: str, pattern: re.Pattern[str], accepted: str) -> str:
        return self.string(key, lambda v: pattern.fullmatch(v) is not None, accepted)

    def integer(self, key: str, low: int, high: int) -> int:
        value = self._text(key)
        if value is None:
            return low
        accepted = f"must be a whole number from {low} to {high}"
        if not _WHOLE_NUMBER.fullmatch(value):
            self.fail(key, value, accepted)
            return low
        number = int(value)
        if not low <= number <= high:
            self.fail(key, number, accepted)
        return number

    def boolean(self, key: str) -> bool:
        value = self._text(key)
        if value is None:
            return False
        # What pulumi.Config.get_bool itself takes: "yes", "1" or "TRUE" are not booleans.
        if value not in ("true", "True", "false", "False"):
            self.fail(key, value, "must be true or false")
            return False
        return value.lower() == "true"

    def string_list(
        self, key: str, check: Callable[[str], bool], accepted: str | Callable[[str], str], min_items: int = 0,
        max_items: tuple[int, str] | None = None,
    ) -> tuple[str, ...]:
        """A JSON list of strings (the CLI hands arrays over as JSON); one problem per bad item."""
        value = self._raw.get(key)
        if value is None:
            self.fail(key, None, f"is required: set it with `pulumi config set {key} <value>`")
            return ()
        try:
            items = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            self.fail(key, value, "must be a list of strings")
            return ()
        if len(items) < min_items:
            self.fail(key, items, f"must list at least {min_items} item(s)")
        if max_items is not None and len(items) > max_items[0]:
            # Nothing else is judged: the list's own checks grow with its length.
            self.fail(key, f"a list of {len(items)}", f"must list at most {max_items[0]} items: {max_items[1]}")
            return ()
        for item in items:
            problem = text_problem(item)
            if problem:
                self.fail(key, item, problem)
            elif not check(item):
                self.fail(key, item, accepted(item) if callable(accepted) else accepted)
        for item in sorted(item for item, count in collections.Counter(items).items() if count > 1):
            self.fail(key, item, "is listed more than once")
        return tuple(items)


# Each address is an SNS e-mail subscription its owner must confirm; a team with more people
# than this wants a mailing list, which is one address.
ALARM_EMAILS_MAX = (10, "each is an SNS subscription its owner must confirm; use a mailing list for more")
ALARM_ERROR_RATE_PERCENT_RANGE = (1, 50)
# From one bucket above the backend's fastest to its request timeout's order of magnitude.
ALARM_LATENCY_P99_MS_RANGE = (10, 60_000)


def _email_problem(value: str) -> str | None:
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return str(error)
    return None


def _is_email(value: str) -> bool:
    return _email_problem(value) is None


def _email_accepted(value: str) -> str:
    return f"must be an e-mail address such as oncall@example.com ({_email_problem(value)})"


def _did_you_mean(value: str, candidates: Any, count: int = 1) -> str:
    close = difflib.get_close_matches(value, list(candidates), n=count)
    return f"; did you mean {' or '.join(close)}?" if close else ""


CIDR_ACCEPTED = "must be an IPv4 CIDR block in canonical form, such as 203.0.113.0/24"
# Each source block is one inbound rule of a security group, which holds 60 by default (the
# adjustable VPC quota "Inbound or outbound rules per security group"); the nodes' group also
# holds pulumi-eks's own rules, so a list this long is already past what a default account takes.
SOURCE_BLOCKS_PER_GROUP = (60, "each is one inbound rule of a security group, which holds 60 by default; "
                               "summarise them with wider blocks")


def _is_cidr(value: str) -> bool:
    # AWS wants the prefix spelled out; a bare address would be read as /32 only by Python.
    if "/" not in value:
        return False
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return False
    # Canonical only: Python reads 10.0.0.0/016 as /16, AWS and Kubernetes need not.
    return str(network) == value


def _vpc_cidr_fits(value: str) -> bool:
    if not _is_cidr(value):
        return False
    network = ipaddress.IPv4Network(value)
    return (any(network.subnet_of(block) for block in PRIVATE_RANGES)
            and VPC_PREFIX_RANGE[0] <= network.prefixlen <= VPC_PREFIX_RANGE[1])


def special_range(block: str, ranges: Mapping[str, ipaddress.IPv4Network]) -> str | None:
    """The name of the range of `ranges` that holds all of `block`, or None."""
    network = ipaddress.IPv4Network(block)
    return next((name for name, special in ranges.items() if network.subnet_of(special)), None)


def _check_cidr_list(read: "_Reader", key: str, blocks: tuple[str, ...], refused: Mapping[str, ipaddress.IPv4Network],
                     why: str) -> None:
    """Rules for a list of source blocks: none inside a `refused` range, none inside another listed
    block, and "everyone" written only as 0.0.0.0/0."""
    valid = [block for block in dict.fromkeys(blocks) if _is_cidr(block) and text_problem(block) is None]
    for block in valid:
        name = special_range(block, refused)
        if name:
            read.fail(key, block, f"is a {name} range: {why}")
    valid = [block for block in valid if not special_range(block, refused)]
    # Sorted by first address, then widest first: a block lies within another listed block
    # exactly when it lies within the widest block seen so far that still reaches it.
    reach: ipaddress.IPv4Network | None = None
    for network in sorted((ipaddress.IPv4Network(block) for block in valid),
                          key=lambda n: (n.network_address, n.prefixlen)):
        if reach is not None and network.subnet_of(reach):
            read.fail(key, str(network), f"lies within {reach}, listed too; list each network once")
        else:
            reach = network
    if read.ok(key) and blocks != (str(EVERYWHERE),) and valid and covers_all_public_addresses(valid):
        read.fail(key, list(blocks),
                  "together these blocks admit every public address: write [\"0.0.0.0/0\"] if that is "
                  "meant, so reviewers and policies see it, or list only the networks that need access")


def instance_architecture(instance_type: str) -> str | None:
    """amd64 or arm64 from an EC2 instance type's name, or None when the name does not say.

    AWS names a type family, generation, attributes, '.', size; the attribute "g" marks AWS
    Graviton (m7g, c6gn, r7gd, is4gen, g5g), a1 is the first Graviton, and mac2 (not mac1) is
    Apple silicon. Everything else AWS names this way is x86_64 (Intel or AMD)."""
    parts = _INSTANCE_TYPE_PARTS.fullmatch(instance_type)
    if not parts:
        return None
    family, generation, attributes = parts["family"], parts["generation"], parts["attributes"]
    if family == "a" or (family == "mac" and generation != "1") or "g" in attributes:
        return "arm64"
    return "amd64"


def instance_vcpus_at_most(instance_type: str) -> int | None:
    """The most vCPUs the type's size can stand for, or None (metal, or an unknown name).

    AWS sizes count in xlarge = 4 vCPUs (2xlarge 8, 24xlarge 96), large = 2, and every smaller
    size has at most 2. An upper bound: real types may have fewer (t2.small has 1)."""
    size = instance_type.rpartition(".")[2]
    if size in ("nano", "micro", "small", "medium", "large"):
        return 2
    match = _INSTANCE_SIZE.fullmatch(size)
    if not match:
        return None
    return 4 * int(match["times"] or 1)


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
    *, secret_keys: frozenset[str] = frozenset(),
) -> StackSettings:
    """Builds validated settings from raw config values (keys without the project prefix).

    `raw` may hold every key of the project's namespace the stack has: one that Pulumi.yaml does
    not declare is a typo and refused. `today` (UTC) decides which Kubernetes versions EKS still
    supports. `secret_keys` names the keys set with `pulumi config set --secret`: their values are
    never shown in a problem, and the declared ones are kept in `StackSettings.secret_keys`."""
    read = _Reader({f"{PROJECT}:{name}": value for name, value in raw.items()} | {"aws:region": region},
                   frozenset(f"{PROJECT}:{name}" for name in secret_keys))

    def key(name: str) -> str:
        return f"{PROJECT}:{name}"

    _refuse_undeclared_keys(read, raw)

    region_value = read.string(
        "aws:region", lambda v: v in AWS_REGIONS,
        lambda v: f"must be an AWS region such as us-east-1{_did_you_mean(v, AWS_REGIONS, 2)}",
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
    kubernetes_version = read.string(
        key("kubernetesVersion"), lambda v: v != "",
        "must not be empty: a Kubernetes minor version such as 1.35, or remove the key for Pulumi.yaml's default",
    )
    upgrade_policy = read.choice(key("kubernetesUpgradePolicy"), eks_versions.SUPPORT_TYPES)
    version_warnings = _check_kubernetes_version(read, kubernetes_version, upgrade_policy, today)
    vpc_cidr = read.string(
        key("vpcCidr"), _vpc_cidr_fits,
        f"must be a private IPv4 CIDR block from /{VPC_PREFIX_RANGE[0]} to /{VPC_PREFIX_RANGE[1]} "
        f"within {', '.join(map(str, PRIVATE_RANGES))} (RFC 1918)",
    )
    _check_vpc_avoids_the_docker_bridge(read, vpc_cidr)
    az_count = read.integer(key("availabilityZoneCount"), *AVAILABILITY_ZONE_RANGE)
    nat_strategy = read.choice(key("natGatewayStrategy"), NAT_GATEWAY_STRATEGIES)
    node_subnets = read.choice(key("nodeSubnets"), NODE_SUBNET_KINDS)
    _check_private_nodes_have_a_nat_gateway(read, nat_strategy, node_subnets)
    instance_types = read.string_list(
        key("nodeInstanceTypes"), lambda v: _INSTANCE_TYPE.fullmatch(v) is not None and not v.startswith("mac"),
        lambda v: ("is an EC2 Mac instance type: Mac instances run only macOS on dedicated hosts, and an EKS node "
                   "runs Linux" if v.startswith("mac") else "must be an EC2 instance type such as t3.medium"),
        min_items=1,
    )
    ami_type = read.choice(key("nodeAmiType"), AMI_ARCHITECTURES)
    if read.ok(key("nodeAmiType"), key("nodeInstanceTypes")):
        # A managed node group runs one AMI on every type it lists: a type of the other
        # architecture would be launched and never become Ready.
        for instance_type in instance_types:
            architecture = instance_architecture(instance_type)
            if architecture and architecture != AMI_ARCHITECTURES[ami_type]:
                read.fail(key("nodeInstanceTypes"), instance_type,
                          f"is an {architecture} type, but nodeAmiType {ami_type} runs on "
                          f"{AMI_ARCHITECTURES[ami_type]} only; list types of one architecture, the AMI's")
    disk_size = read.integer(key("nodeDiskSizeGib"), 20, 16384)
    min_size = read.integer(key("nodeMinSize"), 1, 100)
    desired_size = read.integer(key("nodeDesiredSize"), 1, 100)
    max_size = read.integer(key("nodeMaxSize"), 1, 100)
    if read.ok(key("nodeMinSize"), key("nodeDesiredSize"), key("nodeMaxSize")) and not min_size <= desired_size <= max_size:
        read.add(
            f"{key('nodeMinSize')}/{key('nodeDesiredSize')}/{key('nodeMaxSize')} = "
            f"{min_size}/{desired_size}/{max_size}: must satisfy min <= desired <= max"
        )
    api_cidrs = read.string_list(key("apiPublicAccessCidrs"), _is_cidr, CIDR_ACCEPTED, min_items=1)
    _check_cidr_list(read, key("apiPublicAccessCidrs"), api_cidrs, NOT_PUBLIC,
                     "the cluster's public endpoint only ever sees internet addresses; list public blocks")
    principal_lists = {
        name: read.string_list(
            key(name), lambda v: iam_principal_problem(v, region) is None,
            lambda v: iam_principal_problem(v, region) or "",
        )
        for name in ("adminPrincipalArns", "deployPrincipalArns", "viewerPrincipalArns")
    }
    _check_one_entry_per_principal(read, principal_lists, region)
    creator_arn = read.string(
        key("clusterCreatorArn"), lambda v: v == "" or iam_principal_problem(v, region) is None,
        lambda v: f"must be empty (learnt from AWS) or the IAM user or role ARN that created the cluster: "
                  f"{iam_principal_problem(v, region)}",
    )
    log_retention = _log_retention_days(read, key("controlPlaneLogRetentionDays"))
    namespace = read.matching(
        key("namespace"), _DNS_LABEL,
        "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 63 characters",
    )
    if read.ok(key("namespace")) and (namespace in RESERVED_NAMESPACES or namespace.startswith(RESERVED_NAMESPACE_PREFIX)):
        read.fail(key("namespace"), namespace,
                  f"is kept by Kubernetes itself ({', '.join(RESERVED_NAMESPACES)} and {RESERVED_NAMESPACE_PREFIX}*): "
                  "choose a namespace of the backend's own")
    replicas = read.integer(key("replicas"), 1, 100)
    node_port = read.integer(key("nodePort"), *NODE_PORT_RANGE)
    ingress_cidrs = read.string_list(
        key("nodePortIngressCidrs"), _is_cidr, CIDR_ACCEPTED, max_items=SOURCE_BLOCKS_PER_GROUP,
    )
    # Private blocks are fine here: with nodes in private subnets, clients inside the VPC, a
    # peered network or a VPN reach the nodePort by their private addresses.
    _check_cidr_list(read, key("nodePortIngressCidrs"), ingress_cidrs, NEVER_A_SOURCE,
                     "no client connects from it; list the networks the clients are in")
    exposure = read.choice(key("exposure"), EXPOSURES)
    _check_clients_come_through_the_load_balancer(read, exposure, ingress_cidrs)
    lb_cidrs = read.string_list(
        key("loadBalancerIngressCidrs"), _is_cidr, CIDR_ACCEPTED, min_items=1, max_items=SOURCE_BLOCKS_PER_GROUP,
    )
    _check_cidr_list(read, key("loadBalancerIngressCidrs"), lb_cidrs, NEVER_A_SOURCE,
                     "no client connects from it; list the networks the clients are in")
    domain_name = read.string(
        key("domainName"), lambda v: v == "" or _DOMAIN_NAME.fullmatch(v) is not None,
        "must be empty (plain TCP on the load balancer's own DNS name) or a fully qualified lowercase "
        "domain name such as api.example.com (no wildcard, no trailing dot)",
    )
    _check_acm_can_certify(read, domain_name)
    image_digest = read.string(
        key("imageDigest"), lambda v: v == "" or IMAGE_DIGEST.fullmatch(v) is not None,
        "must be empty (build app/ and run that image) or an image digest of the stack's repository: "
        "sha256: and 64 lowercase hex digits, as `aws ecr describe-images` or the stack output imageRef "
        "shows it (never a tag)",
    )
    hosted_zone_id = read.string(
        key("hostedZoneId"), lambda v: v == "" or _HOSTED_ZONE_ID.fullmatch(v) is not None,
        lambda v: "must be empty or a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ: Z and 9-31 "
                  "uppercase letters or digits" + ("; drop the /hostedzone/ prefix" if v.startswith("/hostedzone/")
                                                   else ""),
    )
    _check_domain_has_its_zone_and_load_balancer(read, domain_name, hosted_zone_id, exposure)
    pod_autoscaling = read.boolean(key("podAutoscaling"))
    max_replicas = read.integer(key("maxReplicas"), 1, 100)
    if pod_autoscaling:
        _check_the_autoscaler_has_room(read, replicas, max_replicas)
    target_cpu = read.integer(key("targetCpuUtilizationPercent"), *TARGET_CPU_UTILIZATION_RANGE)
    metrics_collection = read.boolean(key("metricsCollection"))
    container_insights = read.boolean(key("containerInsights"))
    container_log_retention = _log_retention_days(read, key("containerLogRetentionDays"))
    alarm_emails = read.string_list(key("alarmEmails"), _is_email, _email_accepted, max_items=ALARM_EMAILS_MAX)
    alarm_error_rate = read.integer(key("alarmErrorRatePercent"), *ALARM_ERROR_RATE_PERCENT_RANGE)
    alarm_latency = read.integer(key("alarmLatencyP99Ms"), *ALARM_LATENCY_P99_MS_RANGE)
    watched = (key("alarmEmails"), key("metricsCollection"), key("containerInsights"))
    if alarm_emails and read.ok(*watched) and not (metrics_collection or container_insights):
        read.problem(
            watched, f"{list(alarm_emails)}/false/false",
            "the alerts are rules over the metrics in the stack's AMP workspace and alarms over Container "
            "Insights' metrics: with neither collected nothing would ever fire; turn metricsCollection or "
            "containerInsights on, or leave alarmEmails empty",
        )
    node_autoscaling = read.boolean(key("nodeAutoscaling"))
    if node_autoscaling:
        _check_an_autoscaler_release_is_pinned(read, kubernetes_version)
    cpu_request = _quantity(read, key("cpuRequest"), cpu_millicores, CPU_REQUEST_MILLICORES, _show_cpu, "250m or 1")
    cpu_limit = _quantity(read, key("cpuLimit"), cpu_millicores, CPU_LIMIT_MILLICORES, _show_cpu, "500m or 2")
    memory_request = _quantity(read, key("memoryRequest"), memory_bytes, MEMORY_REQUEST_BYTES, _show_memory, "128Mi or 1Gi")
    memory_limit = _quantity(read, key("memoryLimit"), memory_bytes, MEMORY_LIMIT_BYTES, _show_memory, "256Mi or 1Gi")
    _check_request_within_limit(read, "cpu", cpu_request, cpu_limit, cpu_millicores)
    _check_request_within_limit(read, "memory", memory_request, memory_limit, memory_bytes)
    if read.ok(key("nodeInstanceTypes"), key("replicas"), key("maxReplicas"), key("nodeMaxSize"), key("cpuRequest")):
        _check_pods_fit_the_node_group(read, instance_types, cpu_request,
                                       max_replicas if pod_autoscaling else replicas, max_size,
                                       "maxReplicas" if pod_autoscaling else "replicas")
    platform = read.choice(key("imagePlatform"), IMAGE_PLATFORMS)
    if ami_type in AMI_ARCHITECTURES and platform in IMAGE_PLATFORMS:
        if platform != f"linux/{AMI_ARCHITECTURES[ami_type]}":
            read.add(
                f"{key('imagePlatform')} = {platform!r}: must match the nodes' architecture "
                f"(nodeAmiType {ami_type} runs linux/{AMI_ARCHITECTURES[ami_type]})"
            )
    keep_images = read.integer(key("ecrKeepImages"), 1, 1000)
    force_delete = read.boolean(key("ecrForceDelete"))
    protect = read.boolean(key("protectStatefulResources"))
    deletion_protection = read.boolean(key("clusterDeletionProtection"))
    kms_window = read.integer(key("kmsKeyDeletionWindowDays"), 7, 30)
    budget = _monthly_budget(read, key("monthlyBudgetUsd"))
    backend_environment = _backend_environment(read, memory_limit if read.ok(key("memoryLimit")) else None)
    # Only the backend's values can stay secret end to end (a Kubernetes Secret, secret in state);
    # every other key becomes a plain property of an AWS or Kubernetes resource, stored in clear.
    for name in sorted(frozenset(secret_keys) & frozenset(CONFIG_KEYS) - frozenset(BACKEND_ENVIRONMENT)):
        read.fail(
            key(name), "[secret]",
            "is set as a secret, but the program hands it to resources whose state keeps it in plain "
            "text; only the backend's keys (" + ", ".join(BACKEND_ENVIRONMENT) + ") can stay secret: "
            "set it again without --secret",
        )

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
        pod_autoscaling=pod_autoscaling,
        max_replicas=max_replicas,
        target_cpu_utilization=target_cpu,
        node_autoscaling=node_autoscaling,
        metrics_collection=metrics_collection,
        container_insights=container_insights,
        container_log_retention_days=container_log_retention,
        alarm_emails=alarm_emails,
        alarm_error_rate_percent=alarm_error_rate,
        alarm_latency_p99_ms=alarm_latency,
        node_port=node_port,
        node_port_ingress_cidrs=ingress_cidrs,
        exposure=exposure,
        load_balancer_ingress_cidrs=lb_cidrs,
        domain_name=domain_name,
        hosted_zone_id=hosted_zone_id,
        container_resources=Resources(cpu_request, cpu_limit, memory_request, memory_limit),
        image_platform=platform,
        image_digest=image_digest,
        ecr_keep_images=keep_images,
        ecr_force_delete=force_delete,
        protect_stateful_resources=protect,
        cluster_deletion_protection=deletion_protection,
        kms_key_deletion_window_days=kms_window,
        monthly_budget_usd=budget,
        backend_environment=backend_environment,
        warnings=tuple(f"{key('kubernetesVersion')} = {kubernetes_version!r}: {warning}"
                       for warning in version_warnings),
        secret_keys=frozenset(secret_keys) & frozenset(CONFIG_KEYS),
    )


MONTHLY_BUDGET_MAX_USD = 10_000_000


def _monthly_budget(read: _Reader, key: str) -> int:
    # Whole dollars: the Pulumi.yaml type is integer, and a budget needs no cents.
    value = read._text(key)
    accepted = (f"must be a positive whole number of US dollars a month, at most {MONTHLY_BUDGET_MAX_USD}, "
                "or 0 for no budget")
    if value is None:
        return 0
    if not _WHOLE_NUMBER.fullmatch(value) or not 0 <= int(value) <= MONTHLY_BUDGET_MAX_USD:
        read.fail(key, value, accepted)
        return 0
    return int(value)


def _show_cpu(millicores: int) -> str:
    return f"{millicores // 1000}" if millicores % 1000 == 0 else f"{millicores}m"


def _show_memory(size: int) -> str:
    return f"{size // _GI}Gi" if size % _GI == 0 else f"{size // _MI}Mi"


def _quantity(read: _Reader, key: str, amount: Callable[[str], Decimal | None], bounds: tuple[int, int],
              show: Callable[[int], str], example: str) -> str:
    low, high = bounds
    what = "CPU" if amount is cpu_millicores else "memory"
    def within(text: str) -> bool:
        found = amount(text)
        return found is not None and low <= found <= high

    value = read.string(key, within,
                        f"must be a {what} quantity from {show(low)} to {show(high)}, such as {example}")
    return value


def _check_pods_fit_the_node_group(read: _Reader, instance_types: tuple[str, ...], cpu_request: str,
                                   replicas: int, max_size: int, replicas_key: str = "replicas") -> None:
    """Refuses what the node group can never hold, counting generously: every node of the largest
    listed size, all its vCPUs for this backend (the system pods and the kubelet's reserve take
    some in truth). A stack that fails this leaves pods Pending forever."""
    sizes = [instance_vcpus_at_most(instance_type) for instance_type in instance_types]
    known = [size for size in sizes if size is not None]
    requested = cpu_millicores(cpu_request)
    if not sizes or len(known) < len(sizes) or requested is None:
        return
    largest = max(known) * 1000
    if requested > largest:
        read.fail(f"{PROJECT}:cpuRequest", cpu_request,
                  f"no listed instance type has that much: the largest has at most {_show_cpu(largest)} vCPUs")
    elif replicas * requested > max_size * largest:
        read.problem(
            (f"{PROJECT}:{replicas_key}", f"{PROJECT}:cpuRequest", f"{PROJECT}:nodeMaxSize"),
            f"{replicas}/{cpu_request!r}/{max_size}",
            f"{replicas} pods request {_show_cpu(int(replicas * requested))} CPU, more than {max_size} node(s) "
            f"of at most {_show_cpu(largest)} vCPUs each can hold: lower {replicas_key} or cpuRequest, or raise nodeMaxSize",
        )


def _backend_environment(read: _Reader, memory_limit: str | None) -> dict[str, str]:
    """The backend keys as the container's environment, checked by the backend's own rules:
    each value alone (so the problem names its key), then the whole environment the container
    gets, always: a key refused on its own is left out of it, as the backend's default."""
    environment = {}
    for name, variable in BACKEND_ENVIRONMENT.items():
        stack_key = f"{PROJECT}:{name}"
        value = read.string(
            stack_key, lambda v: v != "",
            "must not be empty (the backend would quietly use a default of its own); remove the key "
            "from the stack to get the default Pulumi.yaml declares",
        )
        if not read.ok(stack_key):
            continue
        if name not in BACKEND_TEXT_KEYS and not _WHOLE_NUMBER.fullmatch(value):
            # Pulumi.yaml declares it an integer; the backend would also take "2.5" or "2." for seconds.
            read.fail(stack_key, value, "must be a whole number (Pulumi.yaml declares it an integer)")
            continue
        try:
            _backend_config.read_service_settings({variable: value})
        except _backend_config.ConfigError as exc:
            # The backend's text quotes the value; for a secret only what it accepts is shown.
            reason = f"expected {str(exc).partition(': expected ')[2]}" if read.is_secret(stack_key) else str(exc)
            read.fail(stack_key, value, f"the backend refuses it: {reason}")
            continue
        if variable == "UPSTREAM_URL" and urlsplit(value).port == 0:
            # Nothing listens on port 0, and the NetworkPolicy would open the scheme's port instead.
            read.fail(stack_key, value, "has port 0, which nothing listens on: give the upstream's port, "
                                        "or none for the scheme's own")
            continue
        environment[variable] = value
    try:
        server, _ = _backend_config.read_service_settings(environment)
    except _backend_config.ConfigError as exc:
        involved = [f"{PROJECT}:{name}" for name, variable in BACKEND_ENVIRONMENT.items()
                    if variable in str(exc)]
        involved = involved or [f"{PROJECT}:{name}" for name in BACKEND_ENVIRONMENT]
        secret = [f"{PROJECT}:{name}" for name, variable in BACKEND_ENVIRONMENT.items()
                  if read.is_secret(f"{PROJECT}:{name}") and variable in environment]
        if secret:
            # The backend's reason quotes values and what it derived from them.
            read.add(f"{'/'.join(involved)}: the backend refuses them together (its reason is not shown: "
                     f"it would tell the values of {', '.join(secret)}, set as secrets)")
        else:
            read.add(f"{'/'.join(involved)}: the backend refuses them together: {exc}")
        return environment
    if memory_limit is not None and read.ok(f"{PROJECT}:backendWorkers", f"{PROJECT}:backendThreadsPerWorker"):
        needed = (server.workers + 1) * BACKEND_PROCESS_BYTES + server.workers * server.threads * BACKEND_THREAD_BYTES
        if memory_bytes(memory_limit) < needed:
            keys = (f"{PROJECT}:backendWorkers", f"{PROJECT}:backendThreadsPerWorker", f"{PROJECT}:memoryLimit")
            cost = f"at ~{BACKEND_PROCESS_BYTES // _MI}Mi each, plus {BACKEND_THREAD_BYTES // _MI}Mi per thread"
            if read.is_secret(*keys):
                # The sum would tell a secret count of workers or threads.
                need = f"the workers and the main process {cost}, need more than memoryLimit"
            else:
                need = f"{server.workers} workers and the main process {cost}, need {_show_memory_up(needed)}"
            read.problem(keys, f"{server.workers}/{server.threads}/{memory_limit!r}",
                         f"{need}: the kernel would kill workers as they start; lower backendWorkers or raise "
                         "memoryLimit")
    return environment


def _show_memory_up(size: int) -> str:
    return f"{-(-size // _MI)}Mi"


def access_entry_key(principal_arn: str) -> str:
    """The key of a principal's access entry: stable, so reordering a list replaces nothing."""
    account, resource = principal_arn.split(":")[4], principal_arn.split(":", 5)[5]
    return re.sub(r"[^A-Za-z0-9-]", "-", f"{account}-{resource}")


def _check_one_entry_per_principal(read: _Reader, principal_lists: Mapping[str, tuple[str, ...]],
                                   region: str | None) -> None:
    """EKS keeps one access entry per principal: a principal listed twice (in one list or two,
    however its ARN is spelled: IAM names are case-insensitive and unique whatever the path), or
    two principals whose entries would share a key, would make the second entry fail (or vanish)
    half-way through an up."""
    listed_in: dict[str, list[str]] = {}
    spellings: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for name, arns in principal_lists.items():
        for arn in sorted({arn for arn in arns if iam_principal_problem(arn, region) is None}):
            listed_in.setdefault(arn, []).append(name)
            spellings.setdefault(principal_identity(arn), []).append((name, arn))
    for arn, names in sorted(listed_in.items()):
        if len(names) > 1:
            read.problem(tuple(f"{PROJECT}:{name}" for name in names), repr(arn),
                         "a principal gets one access entry: list it in one of these only")
    for spelled in spellings.values():
        if len({arn for _, arn in spelled}) > 1:
            keys = tuple(dict.fromkeys(f"{PROJECT}:{name}" for name, _ in spelled))
            read.problem(keys, ", ".join(repr(arn) for _, arn in spelled),
                         "these name one principal (IAM compares names without their path and in any case): "
                         "it gets one access entry; list it once")
    by_key: dict[str, list[str]] = {}
    for arn in listed_in:
        by_key.setdefault(access_entry_key(arn), []).append(arn)
    for colliding in by_key.values():
        if len(colliding) > 1:
            read.problem(tuple(f"{PROJECT}:{name}" for name in principal_lists), ", ".join(sorted(colliding)),
                         "these principals differ only in characters an access entry's name cannot hold; "
                         "rename one of them")


def _check_kubernetes_version(read: _Reader, kubernetes_version: str, upgrade_policy: str,
                              today: datetime.date | None) -> list[str]:
    """Refuses a version EKS does not run on `today` (or the upgrade policy it cannot have); returns
    the calendar's warnings."""
    if not read.ok(f"{PROJECT}:kubernetesVersion"):
        return []
    problems, warnings = eks_versions.check(
        kubernetes_version, today or eks_versions.utc_today(),
        upgrade_policy if upgrade_policy in eks_versions.SUPPORT_TYPES else None,
    )
    for problem in problems:
        read.fail(f"{PROJECT}:kubernetesVersion", kubernetes_version, problem)
    return warnings


def _check_private_nodes_have_a_nat_gateway(read: _Reader, nat_strategy: str, node_subnets: str) -> None:
    if nat_strategy == "None" and node_subnets == "private":
        read.problem(
            (f"{PROJECT}:natGatewayStrategy", f"{PROJECT}:nodeSubnets"), "'None'/'private'",
            "nodes in private subnets need a NAT gateway to pull images and reach the upstream: "
            "choose Single or OnePerAz, or put the nodes in public subnets",
        )


def _check_clients_come_through_the_load_balancer(read: _Reader, exposure: str, ingress_cidrs: tuple[str, ...]) -> None:
    if exposure == "loadBalancer" and ingress_cidrs:
        read.problem(
            (f"{PROJECT}:exposure", f"{PROJECT}:nodePortIngressCidrs"), f"'loadBalancer'/{list(ingress_cidrs)}",
            "behind the load balancer the nodePort admits the load balancer's security group only; "
            "list the clients in loadBalancerIngressCidrs and leave nodePortIngressCidrs empty",
        )


def _check_vpc_avoids_the_docker_bridge(read: _Reader, vpc_cidr: str) -> None:
    if read.ok(f"{PROJECT}:vpcCidr") and ipaddress.IPv4Network(vpc_cidr).overlaps(DOCKER_BRIDGE):
        read.fail(f"{PROJECT}:vpcCidr", vpc_cidr,
                  f"overlaps {DOCKER_BRIDGE}, Docker's default bridge: a machine running Docker (the CI "
                  "runner, a laptop on the VPN) sends packets for it to its own bridge; choose another block")


def _check_the_autoscaler_has_room(read: _Reader, replicas: int, max_replicas: int) -> None:
    if read.ok(f"{PROJECT}:replicas", f"{PROJECT}:maxReplicas") and max_replicas <= replicas:
        read.problem(
            (f"{PROJECT}:replicas", f"{PROJECT}:maxReplicas"), f"{replicas}/{max_replicas}",
            "the autoscaler runs from replicas up to maxReplicas: maxReplicas must be greater "
            "(or turn podAutoscaling off for a fixed count)",
        )


def _refuse_undeclared_keys(read: _Reader, raw: Mapping[str, str | None]) -> None:
    for name in sorted(set(raw) - set(CONFIG_KEYS)):
        close = difflib.get_close_matches(name, CONFIG_KEYS, n=1)
        read.fail(f"{PROJECT}:{name}", raw[name],
                  f"is not a key of this project (Pulumi.yaml declares every key); did you mean {PROJECT}:{close[0]}?"
                  if close else "is not a key of this project (Pulumi.yaml declares every key)")


def _check_an_autoscaler_release_is_pinned(read: _Reader, kubernetes_version: str) -> None:
    if not read.ok(f"{PROJECT}:kubernetesVersion"):
        return
    release = autoscaler_releases.RELEASES.get(kubernetes_version)
    if release is None or release.digest is None:
        read.problem(
            (f"{PROJECT}:nodeAutoscaling", f"{PROJECT}:kubernetesVersion"), f"true/{kubernetes_version!r}",
            "the Cluster Autoscaler's minor must match the cluster's, and no release of it is pinned by "
            f"digest for Kubernetes {kubernetes_version} (catalog/cluster-autoscaler.json): pin one, "
            "or turn nodeAutoscaling off",
        )


def _check_acm_can_certify(read: _Reader, domain_name: str) -> None:
    if read.ok(f"{PROJECT}:domainName") and len(domain_name) > ACM_FIRST_NAME_MAX:
        read.fail(f"{PROJECT}:domainName", domain_name,
                  f"is {len(domain_name)} characters; ACM issues no certificate whose first name is over "
                  f"{ACM_FIRST_NAME_MAX} (RequestCertificate's DomainName): use a shorter name")


def _check_domain_has_its_zone_and_load_balancer(read: _Reader, domain_name: str, hosted_zone_id: str,
                                                 exposure: str) -> None:
    domain, zone = f"{PROJECT}:domainName", f"{PROJECT}:hostedZoneId"
    if read.ok(domain, zone) and bool(domain_name) != bool(hosted_zone_id):
        read.problem(
            (domain, zone), f"{domain_name!r}/{hosted_zone_id!r}",
            "set both (the certificate is validated and the alias record made in that hosted zone) or neither",
        )
    if domain_name and exposure == "nodePort":
        read.problem(
            (f"{PROJECT}:exposure", domain), f"'nodePort'/{domain_name!r}",
            "a domain name is served by the load balancer: set exposure to loadBalancer, or leave domainName empty",
        )


def _log_retention_days(read: _Reader, name: str) -> int:
    days = read.integer(name, 0, max(LOG_RETENTION_DAYS))
    if read.ok(name) and days not in LOG_RETENTION_DAYS:
        read.fail(name, days, f"must be one of the periods CloudWatch Logs accepts: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return days


def _check_request_within_limit(read: _Reader, what: str, request: str, limit: str, amount) -> None:
    if not read.ok(f"{PROJECT}:{what}Request", f"{PROJECT}:{what}Limit"):
        return
    if amount(request) > amount(limit):
        read.add(
            f"{PROJECT}:{what}Request = {request!r}: must not exceed {PROJECT}:{what}Limit ({limit!r})"
        )


CONFIG_KEYS = (
    "appName", "clusterName", "repositoryName", "kubernetesVersion", "kubernetesUpgradePolicy", "vpcCidr", "availabilityZoneCount",
    "natGatewayStrategy", "nodeSubnets", "nodeInstanceTypes", "nodeAmiType", "nodeDiskSizeGib",
    "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "apiPublicAccessCidrs", "adminPrincipalArns",
    "deployPrincipalArns", "viewerPrincipalArns", "clusterCreatorArn", "controlPlaneLogRetentionDays",
    "namespace", "replicas", "podAutoscaling", "maxReplicas", "targetCpuUtilizationPercent", "nodeAutoscaling",
    "metricsCollection", "containerInsights", "containerLogRetentionDays", "alarmEmails", "alarmErrorRatePercent", "alarmLatencyP99Ms",
    "nodePort", "nodePortIngressCidrs", "exposure", "loadBalancerIngressCidrs", "domainName", "hostedZoneId",
    "cpuRequest", "cpuLimit",
    "memoryRequest", "memoryLimit", "imagePlatform", "imageDigest", "ecrKeepImages", "ecrForceDelete",
    "protectStatefulResources", "clusterDeletionProtection", "kmsKeyDeletionWindowDays", "monthlyBudgetUsd",
    *BACKEND_ENVIRONMENT,
)


def stack_config_keys() -> set[str]:
    """Every key of this project's namespace the program was handed, declared or not.

    The language host hands the whole config over before the program starts: it reads the
    PULUMI_CONFIG environment variable and stores it with `pulumi.runtime.set_all_config`, whose
    map is `pulumi.runtime.config.CONFIG` (the offline harness sets the same map). A host that
    only set the environment variable is read directly, as `pulumi.runtime.get_config` does."""
    prefix = f"{PROJECT}:"
    handed = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {full_key[len(prefix):] for full_key in handed if full_key.startswith(prefix)}


def load(today: datetime.date | None = None) -> StackSettings:
    """Reads the current stack's config (project keys and aws:region) and validates it.

    `today` (UTC) is the day the EKS calendar is read on; None reads the clock once (in `parse`): what
    `pulumi preview` and `pulumi up` do. Its warnings (a version near or past the end of standard
    support, an add-on without a pin) reach the CLI's output as Pulumi warnings.

    Which values are secret comes from the same place the values do: the language host passes
    PULUMI_CONFIG_SECRET_KEYS to `set_all_config`, and `pulumi.runtime.is_config_secret` reads it."""
    config = pulumi.Config(PROJECT)
    names = set(CONFIG_KEYS) | stack_config_keys()
    raw = {name: config.get(name) for name in sorted(names)}
    secret_keys = frozenset(name for name in names if runtime_config.is_config_secret(config.full_key(name)))
    settings = parse(raw, pulumi.Config("aws").get("region"), pulumi.get_stack(), today, secret_keys=secret_keys)
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
