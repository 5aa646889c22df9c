"""The network's zones: chosen by zone ID where every node instance type is offered, the same
choice for every account and every run."""

from __future__ import annotations

import pytest

from ops.offline import harness
from ops.offline.fakes import INVOKE_FAKES, RESOURCE_FAKES, ZONE_IDS, ZONE_NAMES
from ops.offline.stacks import evaluate_stack

PREFIX = "backend-on-eks:"
NAME_OF = dict(zip(ZONE_IDS, ZONE_NAMES))


def zones(evaluation: harness.Evaluation) -> list[str]:
    return evaluation.one("awsx:ec2:Vpc").inputs["availabilityZoneNames"]


def test_the_zones_are_the_first_zone_ids_not_the_first_zone_names(dev, prod):
    # Names are shuffled per account: us-east-1a is use1-az4 in this one.
    assert zones(dev) == [NAME_OF["use1-az1"], NAME_OF["use1-az2"]]
    assert zones(prod) == [NAME_OF["use1-az1"], NAME_OF["use1-az2"], NAME_OF["use1-az4"]]


def test_a_zone_without_the_node_instance_types_is_never_chosen(prod):
    assert NAME_OF["use1-az3"] not in zones(prod)


def offered_only_in(offered: dict[str, set[str]]):
    """ EC2's DescribeInstanceTypeOfferings for zone IDs, offering each type only where listed."""
    def answer(args: dict) -> dict:
        [types] = [f["values"] for f in args["filters"] if f["name"] == "instance-type"]
        pairs = [(zone, kind) for kind in types for zone in sorted(offered.get(kind, ()))]
        return {"id": "us-east-1", "locations": [zone for zone, _ in pairs],
                "instanceTypes": [kind for _, kind in pairs], "locationTypes": ["availability-zone-id"] * len(pairs)}
    return answer


def evaluate_with_offerings(offered: dict[str, set[str]], overrides: dict) -> harness.Evaluation:
    invoke_fakes = {**INVOKE_FAKES, "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": offered_only_in(offered)}
    values = {**harness.stack_file_config("prod"), **overrides}
    return harness.evaluate("prod", values, dict(RESOURCE_FAKES), invoke_fakes)


def test_with_several_instance_types_only_zones_offering_all_of_them_count():
    evaluation = evaluate_with_offerings(
        {"m7i.large": {"use1-az1", "use1-az4", "use1-az5", "use1-az6"}, "m6i.large": set(ZONE_IDS) - {"use1-az4"}},
        {PREFIX + "nodeInstanceTypes": ["m7i.large", "m6i.large"]},
    )
    assert zones(evaluation) == [NAME_OF["use1-az1"], NAME_OF["use1-az5"], NAME_OF["use1-az6"]]


def test_too_few_zones_for_the_instance_types_stops_the_program_before_any_resource():
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_with_offerings({"t3.medium": {"use1-az1", "use1-az2"}}, {})
    assert "backend-on-eks:availabilityZoneCount = 3: only 2 available zone(s) (use1-az1, use1-az2)" in str(caught.value)
    assert caught.value.registrations == []


def test_the_choice_is_the_same_on_every_run(dev):
    assert zones(evaluate_stack("dev")) == zones(dev)
