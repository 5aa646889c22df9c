"""Runs the policy pack's validations directly, with the SDK's own argument types.

No Pulumi CLI runs here, so nothing calls the pack over gRPC; this builds exactly what the
analyzer would hand each policy, from a mocked evaluation's registrations.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.guardrails import POLICIES
from ops.offline.harness import Evaluation, Registration


def _options(registration: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=registration.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=registration.parent or None,
    )


def _policy_resources(evaluation: Evaluation) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for registration in evaluation.registrations:
        by_urn[registration.urn] = PolicyResource(
            resource_type=registration.type, props=registration.inputs, urn=registration.urn,
            name=registration.name, opts=_options(registration), provider=None, parent=None,
            dependencies=[], property_dependencies={},
        )
    for registration in evaluation.registrations:
        resource = by_urn[registration.urn]
        resource.parent = by_urn.get(registration.parent)
        resource.dependencies = [by_urn[urn] for urn in registration.dependencies if urn in by_urn]
        resource.property_dependencies = {
            key: [by_urn[urn] for urn in urns if urn in by_urn]
            for key, urns in registration.property_dependencies.items()
        }
    return list(by_urn.values())


def violations(evaluation: Evaluation, config: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """Policy name -> the messages it reported for this evaluation (only policies that reported)."""
    found: dict[str, list[str]] = {}

    def reporter(policy_name: str):
        def report(message: str, urn: str | None = None) -> None:
            found.setdefault(policy_name, []).append(message)
        return report

    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for registration in evaluation.registrations:
                args = ResourceValidationArgs(
                    resource_type=registration.type, props=registration.inputs, urn=registration.urn,
                    name=registration.name, opts=_options(registration), provider=None, config=config or {},
                )
                policy.validate(args, reporter(policy.name))
        elif isinstance(policy, StackValidationPolicy):
            args = StackValidationArgs(resources=_policy_resources(evaluation), config=config or {})
            policy.validate(args, reporter(policy.name))
    return found
