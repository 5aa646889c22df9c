"""Every stack is production unless the pack's config names it, exactly, as the exception."""

from __future__ import annotations

import pytest

from policy.guardrails import POLICIES
from tests.policy.adapter import violations
from tests.policy.builders import renamed

PRODUCTION_RULES = {"eks-endpoint-restricted-in-production", "stateful-protected-in-production"}


@pytest.mark.parametrize("stack", ["production", "prd", "prod", "staging", "Dev", "DEV", "dev2", "d", "team.dev"])
def test_a_stack_not_named_as_an_exception_is_held_to_production_rules(dev, stack):
    # dev's own settings (API open to the world, nothing protected) under another stack name.
    assert set(violations(renamed(dev, stack))) == PRODUCTION_RULES


def test_dev_is_the_default_exception(dev):
    assert violations(dev) == {}


def test_a_stack_listed_as_non_production_is_exempt(dev):
    assert violations(renamed(dev, "staging"), config={"nonProductionStacks": ["dev", "staging"]}) == {}


def test_the_exception_list_replaces_the_default(dev):
    assert set(violations(dev, config={"nonProductionStacks": ["staging"]})) == PRODUCTION_RULES


def test_a_single_name_given_as_a_string_is_one_name_not_its_substrings(dev):
    assert set(violations(renamed(dev, "dev"), config={"nonProductionStacks": "development"})) == PRODUCTION_RULES
    assert violations(dev, config={"nonProductionStacks": "dev"}) == {}


def test_production_stacks_overrides_the_exception(dev):
    found = violations(dev, config={"nonProductionStacks": ["dev"], "productionStacks": ["dev"]})
    assert set(found) == PRODUCTION_RULES


def test_a_non_list_config_value_exempts_nothing(dev):
    assert set(violations(dev, config={"nonProductionStacks": 1})) == PRODUCTION_RULES


def test_the_prod_stack_passes_as_declared_under_any_config(prod):
    assert violations(prod, config={"nonProductionStacks": ["dev"], "productionStacks": ["prod"]}) == {}


def engine_defaults(policy_name: str) -> dict:
    """The config the engine hands a policy when none is given: its schema's defaults."""
    [policy] = [p for p in POLICIES if p.name == policy_name]
    return {key: spec["default"] for key, spec in policy.config_schema.properties.items()}


@pytest.mark.parametrize("policy", sorted(PRODUCTION_RULES))
def test_the_declared_config_is_a_list_of_stack_names_for_every_production_policy(policy):
    [found] = [p for p in POLICIES if p.name == policy]
    for key in ("nonProductionStacks", "productionStacks"):
        assert {k: found.config_schema.properties[key][k] for k in ("type", "items")} == {
            "type": "array", "items": {"type": "string"}}


@pytest.mark.parametrize("policy", sorted(PRODUCTION_RULES))
def test_the_schema_defaults_the_engine_applies_mean_what_an_empty_config_means(dev, policy):
    defaults = engine_defaults(policy)
    assert defaults == {"nonProductionStacks": ["dev"], "productionStacks": []}
    assert policy not in violations(dev, config=defaults)
    assert policy in violations(renamed(dev, "staging"), config=defaults)
