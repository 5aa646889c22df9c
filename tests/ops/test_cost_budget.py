"""monthlyBudgetUsd: declared in Pulumi.yaml, refused before any resource unless it is a budget, and
held against the most the stack's graph can cost a month (ops/cost.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

import settings
from ops.offline import harness
from ops.offline.stacks import evaluate_stack
from tests.infra.test_settings import raw_config
from tests.support.clock import SUITE_TODAY

KEY = "backend-on-eks:monthlyBudgetUsd"


def test_pulumi_yaml_declares_the_budget_as_an_integer_defaulting_to_no_budget():
    declared = harness.project_config_schema()["monthlyBudgetUsd"]
    assert (declared["type"], declared["default"]) == ("integer", 0)


def parsed(budget: str | None = None) -> settings.StackSettings:
    """dev's settings with the budget as the CLI hands it over (a string, whatever was typed)."""
    raw, region = raw_config()
    if budget is not None:
        raw["monthlyBudgetUsd"] = budget
    return settings.parse(raw, region, "dev", SUITE_TODAY)


def test_a_stack_without_a_budget_has_none():
    assert parsed().monthly_budget_usd == 0


def test_a_positive_budget_is_read_as_whole_dollars():
    assert parsed("350").monthly_budget_usd == 350


@hypothesis_settings(deadline=None)
@given(st.one_of(st.integers(max_value=-1).map(str), st.integers(min_value=10_000_001).map(str),
                 st.sampled_from(["12.5", "1e3", "three hundred", "0x10", "+300", "0300"])))
def test_a_budget_that_is_not_a_positive_whole_number_is_refused_naming_key_value_and_what_is_accepted(value):
    with pytest.raises(settings.StackConfigError) as refused:
        parsed(value)
    problems = [p for p in refused.value.problems if p.startswith(f"{KEY} = ")]
    assert len(problems) == 1
    assert value in problems[0] and "positive whole number of US dollars" in problems[0] and "0 for no budget" in problems[0]


def test_a_bad_budget_stops_the_program_before_any_resource():
    with pytest.raises(harness.ProgramFailed) as failed:
        evaluate_stack("dev", {KEY: -5})
    assert KEY in str(failed.value) and failed.value.registrations == []
