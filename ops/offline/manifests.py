"""Turns the Kubernetes registrations of a mocked evaluation into the manifests they would apply."""

from __future__ import annotations

import re

from ops.offline.harness import Evaluation

# Pulumi type token -> (apiVersion, kind)
_KINDS = {
    "kubernetes:core/v1:Namespace": ("v1", "Namespace"),
    "kubernetes:core/v1:Service": ("v1", "Service"),
    "kubernetes:apps/v1:Deployment": ("apps/v1", "Deployment"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("networking.k8s.io/v1", "NetworkPolicy"),
    "kubernetes:core/v1:Secret": ("v1", "Secret"),
    "kubernetes:core/v1:ServiceAccount": ("v1", "ServiceAccount"),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    "kubernetes:rbac.authorization.k8s.io/v1:Role": ("rbac.authorization.k8s.io/v1", "Role"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ("autoscaling/v2", "HorizontalPodAutoscaler"),
}
# What a rendered manifest shows in place of a value the program sent as a secret: `ops render`
# output ends up in terminals, CI logs and pull requests.
REDACTED = "[secret]"


def _redacted(value, path: list[str]):
    """`value` with the property at `path` (keys; list indexes as `[n]`) replaced by REDACTED."""
    if not path:
        # A secret map keeps its keys (the manifest stays valid and says what it holds).
        return {key: REDACTED for key in value} if isinstance(value, dict) else REDACTED
    head, rest = path[0], path[1:]
    if head.startswith("[") and isinstance(value, list):
        index = int(head[1:-1])
        return [_redacted(item, rest) if i == index else item for i, item in enumerate(value)]
    if isinstance(value, dict) and head in value:
        return {key: _redacted(item, rest) if key == head else item for key, item in value.items()}
    return value


def _path_parts(path: str) -> list[str]:
    return [part for part in re.split(r"\.|(\[\d+\])", path) if part]


def _whole_numbers_as_int(value):
    """The mock monitor hands integers back as floats; Kubernetes wants `replicas: 2`, not 2.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int(item) for item in value]
    return value


def manifests(evaluation: Evaluation) -> list[dict]:
    rendered = []
    for registration in evaluation.registrations:
        if not registration.type.startswith("kubernetes:"):
            continue
        api_version, kind = _KINDS[registration.type]
        inputs = registration.inputs
        for path in sorted(registration.secret_inputs):
            inputs = _redacted(inputs, _path_parts(path))
        body = {key: _whole_numbers_as_int(value) for key, value in inputs.items()
                if key not in ("apiVersion", "kind")}
        if "name" not in body.get("metadata", {}):
            # Autonamed: the provider's Check picks the name (preview and up alike).
            body["metadata"] = {**body.get("metadata", {}), "name": registration.outputs["metadata"]["name"]}
        rendered.append({"apiVersion": api_version, "kind": kind, **body})
    return sorted(rendered, key=lambda manifest: (manifest["kind"], manifest["metadata"]["name"]))
