"""Runs the policy pack's validations directly, with the SDK's own argument types.

No Pulumi CLI runs here, so nothing calls the pack over gRPC; this builds exactly what the
analyzer would hand each policy, from a mocked evaluation's registrations:

- a resource policy sees the resource's inputs (the engine's `Analyze`), a stack policy every
  resource's outputs (`AnalyzeStack`, "the final outputs"). In a preview, a resource yet to be
  created has its planned outputs, with UNKNOWN where only `up` will tell; a resource that exists
  (and every resource after `up`) is given by its inputs, since the fakes model only the outputs
  the program reads, and the policies read inputs alone;
- the props pass through the SDK's own `deserialize_properties` and `unknown_checking_proxy`, so
  reading an unknown raises `UnknownValueError`, and, as the analyzer does, the policy is then
  skipped for that resource with an advisory note instead of reporting a violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policy.guardrails import POLICIES
from ops.offline.harness import Evaluation, Registration


@dataclass
class Analysis:
    violations: dict[str, list[str]] = field(default_factory=dict)
    """Policy name -> the messages it reported (only policies that reported)."""
    skipped: dict[str, list[str]] = field(default_factory=dict)
    """Policy name -> why it could not run on a resource during preview (an unknown value)."""


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


def _props(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(deserialize_properties(dict(properties)))


def _stack_props(registration: Registration) -> Mapping[str, Any]:
    return _props(registration.outputs if registration.pending else registration.inputs)


def _policy_resources(evaluation: Evaluation) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for registration in evaluation.registrations:
        by_urn[registration.urn] = PolicyResource(
            resource_type=registration.type, props=_stack_props(registration), urn=registration.urn,
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


def analyze(evaluation: Evaluation, config: Mapping[str, Any] | None = None) -> Analysis:
    analysis = Analysis()

    def reporter(policy_name: str):
        def report(message: str, urn: str | None = None) -> None:
            analysis.violations.setdefault(policy_name, []).append(message)
        return report

    def run(policy, args) -> None:
        try:
            policy.validate(args, reporter(policy.name))
        except UnknownValueError as unknown:
            analysis.skipped.setdefault(policy.name, []).append(unknown.message)

    for policy in POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for registration in evaluation.registrations:
                run(policy, ResourceValidationArgs(
                    resource_type=registration.type, props=_props(registration.inputs), urn=registration.urn,
                    name=registration.name, opts=_options(registration), provider=None, config=config or {},
                ))
        elif isinstance(policy, StackValidationPolicy):
            run(policy, StackValidationArgs(resources=_policy_resources(evaluation), config=config or {}))
    return analysis


def violations(evaluation: Evaluation, config: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """Policy name -> the messages it reported for this evaluation (only policies that reported)."""
    return analyze(evaluation, config).violations


def assert_only_violation(found: Mapping[str, list[str]], policy: str) -> list[str]:
    """Asserts that `policy` is the one policy that reported (what a refusing case proves: its own
    rule stops it, and no other does); returns that policy's messages."""
    assert list(found) == [policy], found
    return found[policy]
