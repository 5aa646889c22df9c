"""Turns the Kubernetes registrations of a mocked evaluation into the manifests they would apply."""

from __future__ import annotations

from ops.offline.harness import Evaluation

# Pulumi type token -> (apiVersion, kind)
_KINDS = {
    "kubernetes:core/v1:Namespace": ("v1", "Namespace"),
    "kubernetes:core/v1:Service": ("v1", "Service"),
    "kubernetes:apps/v1:Deployment": ("apps/v1", "Deployment"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy/v1", "PodDisruptionBudget"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("networking.k8s.io/v1", "NetworkPolicy"),
}


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
        body = {key: _whole_numbers_as_int(value) for key, value in registration.inputs.items()
                if key not in ("apiVersion", "kind")}
        rendered.append({"apiVersion": api_version, "kind": kind, **body})
    return sorted(rendered, key=lambda manifest: (manifest["kind"], manifest["metadata"]["name"]))
