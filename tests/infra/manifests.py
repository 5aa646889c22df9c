"""Turns the Kubernetes registrations of a mocked evaluation into the manifests they would apply."""

from __future__ import annotations

from tests.infra.harness import Evaluation

# Pulumi type token -> (apiVersion, kind)
_KINDS = {
    "kubernetes:core/v1:Namespace": ("v1", "Namespace"),
    "kubernetes:core/v1:Service": ("v1", "Service"),
    "kubernetes:apps/v1:Deployment": ("apps/v1", "Deployment"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy/v1", "PodDisruptionBudget"),
}


def manifests(evaluation: Evaluation) -> list[dict]:
    rendered = []
    for registration in evaluation.registrations:
        if not registration.type.startswith("kubernetes:"):
            continue
        api_version, kind = _KINDS[registration.type]
        body = {key: value for key, value in registration.inputs.items() if key not in ("apiVersion", "kind")}
        rendered.append({"apiVersion": api_version, "kind": kind, **body})
    return sorted(rendered, key=lambda manifest: (manifest["kind"], manifest["metadata"]["name"]))
