"""The stack outputs `verify` needs, read from a Pulumi stack or from a JSON file, validated once.

Everything downstream works with a `StackOutputs`, so a missing or malformed output is reported
here, naming the output, the value found and what is accepted, instead of surfacing later as a
confusing Kubernetes or HTTP error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

# `pulumi stack output --json` without `--show-secrets` prints secrets as this placeholder.
SECRET_PLACEHOLDER = "[secret]"

_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")
_TARGET_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$")
_PROMETHEUS_ENDPOINT = re.compile(r"^https://aps-workspaces\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/workspaces/ws-[0-9a-f-]+/?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class OutputsError(ValueError):
    """The stack outputs cannot be read or do not have the shape `verify` relies on."""


@dataclass(frozen=True)
class StackOutputs:
    cluster_name: str
    region: str
    kubeconfig: dict[str, Any]
    repository_url: str
    image_ref: str
    namespace: str
    deployment_name: str
    service_name: str
    node_port: int
    container_port: int
    service_url: str | None
    port_forward_command: str | None
    update_kubeconfig_command: str | None
    target_group_arn: str | None = None
    """With exposure loadBalancer: the target group whose health `verify` reads."""
    alarm_names: tuple[str, ...] = ()
    """The stack's CloudWatch alarms, whose states `verify` reports."""
    application_log_group: str | None = None
    """With containerInsights: where the containers' logs go."""
    prometheus_endpoint: str | None = None
    scrape_job: str | None = None
    """With metricsCollection: the AMP workspace's endpoint and the backend's scrape job in it."""

    @property
    def image_digest(self) -> str:
        """`sha256:<hex>` of the image the stack built; validated at construction."""
        match = _DIGEST.search(self.image_ref)
        assert match is not None  # from_mapping refuses an imageRef without one
        return match.group(1)

    def __repr__(self) -> str:
        # The kubeconfig is a secret output: keep it out of reprs, logs and tracebacks.
        return (
            f"StackOutputs(cluster_name={self.cluster_name!r}, namespace={self.namespace!r}, "
            f"deployment_name={self.deployment_name!r}, service_name={self.service_name!r}, "
            f"image_ref={self.image_ref!r}, service_url={self.service_url!r}, kubeconfig=<secret>)"
        )

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> "StackOutputs":
        """Validate plain output values (camelCase keys, as the Pulumi program exports them)."""
        if not isinstance(raw, Mapping):
            raise OutputsError(
                f"stack outputs must be a JSON object of output name to value, got {type(raw).__name__}"
            )
        image_ref = _string(raw, "imageRef")
        if not _DIGEST.search(image_ref):
            raise OutputsError(
                f"stack output 'imageRef' is {image_ref!r}; expected '<repositoryUrl>@sha256:<64 hex digits>'"
            )
        service_url = _optional_string(raw, "serviceUrl")
        port_forward = _optional_string(raw, "portForwardCommand")
        if service_url is None and port_forward is None:
            raise OutputsError(
                "the stack exports neither 'serviceUrl' nor 'portForwardCommand'; "
                "expected exactly one of them"
            )
        if service_url is not None and not re.match(r"^https?://[^/\s]+", service_url):
            raise OutputsError(
                f"stack output 'serviceUrl' is {service_url!r}; expected 'http://<host>:<port>'"
            )
        target_group_arn = _optional_string(raw, "targetGroupArn")
        if target_group_arn is not None and not _TARGET_GROUP_ARN.match(target_group_arn):
            raise OutputsError(
                f"stack output 'targetGroupArn' is {target_group_arn!r}; expected "
                "'arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<16 hex digits>'"
            )
        prometheus_endpoint = _optional_string(raw, "prometheusEndpoint")
        if prometheus_endpoint is not None and not _PROMETHEUS_ENDPOINT.match(prometheus_endpoint):
            raise OutputsError(
                f"stack output 'prometheusEndpoint' is {prometheus_endpoint!r}; expected "
                "'https://aps-workspaces.<region>.amazonaws.com/workspaces/ws-<id>/'"
            )
        return cls(
            cluster_name=_string(raw, "clusterName"),
            region=_string(raw, "region"),
            kubeconfig=_kubeconfig(raw),
            repository_url=_string(raw, "repositoryUrl"),
            image_ref=image_ref,
            namespace=_dns_label(raw, "namespace"),
            deployment_name=_dns_label(raw, "deploymentName"),
            service_name=_dns_label(raw, "serviceName"),
            node_port=_port(raw, "nodePort", low=30000, high=32767),
            container_port=_port(raw, "containerPort", low=1, high=65535),
            service_url=service_url.rstrip("/") if service_url else None,
            port_forward_command=port_forward,
            update_kubeconfig_command=_optional_string(raw, "updateKubeconfigCommand"),
            target_group_arn=target_group_arn,
            alarm_names=_strings(raw, "alarmNames"),
            application_log_group=_optional_string(raw, "applicationLogGroup"),
            prometheus_endpoint=prometheus_endpoint,
            scrape_job=_optional_string(raw, "scrapeJob"),
        )


def load_outputs_file(path: Path) -> StackOutputs:
    """Read the JSON printed by `pulumi stack output --json --show-secrets`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise OutputsError(f"cannot read --outputs-file {str(path)!r}: {error.strerror}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise OutputsError(
            f"--outputs-file {str(path)!r} is not JSON ({error.msg} at line {error.lineno}); "
            "expected the output of `pulumi stack output --json --show-secrets`"
        ) from None
    return StackOutputs.from_mapping(raw)


def load_stack_outputs(stack_name: str, work_dir: Path) -> StackOutputs:
    """Read a stack's outputs, secrets decrypted, through the Automation API (needs the pulumi CLI)."""
    from pulumi import automation as auto

    try:
        stack = auto.select_stack(stack_name=stack_name, work_dir=str(work_dir))
        outputs = stack.outputs()
    except FileNotFoundError:
        raise OutputsError(
            "--stack needs the pulumi CLI on PATH (https://www.pulumi.com/docs/install/); "
            "without it, pass --outputs-file with the JSON of "
            "`pulumi stack output --json --show-secrets`"
        ) from None
    except auto.errors.CommandError as error:
        raise OutputsError(
            f"cannot read outputs of stack {stack_name!r}: {command_error_reason(error)}"
        ) from None
    return StackOutputs.from_mapping({name: output.value for name, output in outputs.items()})


def command_error_reason(error: Exception) -> str:
    """The CLI's first stderr line; never its stdout, which may hold decrypted outputs."""
    # The Automation API renders a failed command as "code: N / stdout: ... / stderr: ...".
    _, found, stderr = str(error).partition(" stderr: ")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()] if found else []
    return lines[0] if lines else "the pulumi CLI failed without an error message"


def _present(raw: Mapping[str, Any], key: str) -> Any:
    if key not in raw or raw[key] is None:
        raise OutputsError(
            f"stack output {key!r} is missing; outputs present: {', '.join(sorted(raw)) or 'none'}"
        )
    value = raw[key]
    if value == SECRET_PLACEHOLDER:
        raise OutputsError(
            f"stack output {key!r} is a secret shown as {SECRET_PLACEHOLDER!r}; "
            "export the outputs with `pulumi stack output --json --show-secrets`"
        )
    return value


def _string(raw: Mapping[str, Any], key: str) -> str:
    value = _present(raw, key)
    if not isinstance(value, str) or not value.strip():
        raise OutputsError(f"stack output {key!r} is {value!r}; expected a non-empty string")
    return value.strip()


def _strings(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise OutputsError(f"stack output {key!r} is {value!r}; expected a list of non-empty strings")
    return tuple(item.strip() for item in value)


def _optional_string(raw: Mapping[str, Any], key: str) -> str | None:
    if raw.get(key) in (None, ""):
        return None
    return _string(raw, key)


def _dns_label(raw: Mapping[str, Any], key: str) -> str:
    value = _string(raw, key)
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise OutputsError(
            f"stack output {key!r} is {value!r}; expected a Kubernetes name "
            "(lowercase letters, digits and '-', at most 63 characters)"
        )
    return value


def _port(raw: Mapping[str, Any], key: str, *, low: int, high: int) -> int:
    value = _present(raw, key)
    # Pulumi hands numbers over as floats in some paths (e.g. 30080.0); accept integral ones.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OutputsError(f"stack output {key!r} is {value!r}; expected an integer in {low}-{high}")
    return value


def _kubeconfig(raw: Mapping[str, Any]) -> dict[str, Any]:
    value = _present(raw, "kubeconfig")
    if isinstance(value, str):
        # pulumi-eks exports JSON; YAML is accepted too since it is JSON's superset.
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            # Never echo the value: it is a secret.
            raise OutputsError("stack output 'kubeconfig' is a string but not JSON or YAML") from None
    if not isinstance(value, dict) or not value.get("clusters") or not value.get("users"):
        raise OutputsError(
            "stack output 'kubeconfig' is not a kubeconfig; expected an object with "
            "'clusters', 'users' and 'contexts'"
        )
    return value
