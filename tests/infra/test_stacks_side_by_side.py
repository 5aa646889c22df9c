"""Any number of stacks in one AWS account and region: no physical name shared by default, and a
stack may still pin a name of its own."""

from __future__ import annotations

import re

import pytest

import settings
from ops.offline import harness
from ops.offline.stacks import evaluate_stack

PREFIX = "backend-on-eks:"
CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
REPOSITORY_NAME = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*")


def physical_names(evaluation: harness.Evaluation) -> set[str]:
    """Every name the program gives an AWS resource itself (the engine suffixes the others).
    Kubernetes names live inside each stack's own cluster and do not count."""
    names = set()
    for registration in evaluation.registrations:
        if registration.type.startswith(("kubernetes:", "pulumi:")):
            continue
        for key in ("name", "namePrefix", "clusterName", "repositoryName"):
            value = registration.inputs.get(key)
            if isinstance(value, str) and registration.type.split(":")[0] in ("aws", "eks", "awsx", "docker"):
                names.add(value)
    return names


def test_dev_prod_and_a_stack_made_from_a_region_alone_share_no_physical_name(dev, prod):
    staging = harness.evaluate("staging", {"aws:region": "us-east-1"}, *_standard_fakes())
    assert dev.config["aws:region"] == prod.config["aws:region"] == "us-east-1"
    named = [physical_names(evaluation) for evaluation in (dev, prod, staging)]
    assert all(named), named
    assert not named[0] & named[1] and not named[0] & named[2] and not named[1] & named[2], named


def test_the_cluster_repository_and_log_group_are_named_after_the_stack(prod):
    assert prod.one("eks:index:Cluster").inputs["name"] == "backend-on-eks-prod"
    assert prod.one("aws:ecr/repository:Repository").inputs["name"] == "backend-on-eks-prod/nextwork-flask-backend"
    assert prod.one("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane-logs").inputs["name"] == (
        "/aws/eks/backend-on-eks-prod/cluster")


def test_one_stack_may_pin_the_tutorials_names():
    evaluation = evaluate_stack("dev", {
        PREFIX + "clusterName": "nextwork-eks-cluster", PREFIX + "repositoryName": "nextwork-flask-backend",
    })
    assert evaluation.one("eks:index:Cluster").inputs["name"] == "nextwork-eks-cluster"
    assert evaluation.one("aws:ecr/repository:Repository").inputs["name"] == "nextwork-flask-backend"
    assert evaluation.one("aws:cloudwatch/logGroup:LogGroup").inputs["name"] == "/aws/eks/nextwork-eks-cluster/cluster"


@pytest.mark.parametrize("pair", [("dev", "Dev"), ("team.a", "team-a"), ("team_a", "team-a"), ("a..b", "a-b")])
def test_stacks_whose_names_differ_only_in_what_a_physical_name_cannot_hold_still_differ(pair):
    first, second = pair
    assert settings.default_cluster_name(first) != settings.default_cluster_name(second)
    assert settings.default_repository_name(first, "app") != settings.default_repository_name(second, "app")


@pytest.mark.parametrize("stack", ["dev", "Prod", "team.a", "x" * 100, "___", "feature-123_branch.v2"])
def test_a_default_name_is_one_aws_accepts_for_any_stack_name_pulumi_accepts(stack):
    cluster = settings.default_cluster_name(stack)
    assert CLUSTER_NAME.fullmatch(cluster), cluster
    assert REPOSITORY_NAME.fullmatch(settings.default_repository_name(stack, "nextwork-flask-backend"))


def test_a_pinned_name_aws_would_refuse_stops_the_program_before_any_resource():
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_stack("dev", {PREFIX + "repositoryName": "Nextwork/Backend"})
    assert caught.value.cause.problems[0].startswith(f"{PREFIX}repositoryName = 'Nextwork/Backend'")
    assert caught.value.registrations == []


def _standard_fakes():
    from ops.offline.fakes import INVOKE_FAKES, RESOURCE_FAKES
    return dict(RESOURCE_FAKES), dict(INVOKE_FAKES)


def test_the_control_plane_log_group_exists_before_the_cluster_with_the_configured_retention(dev, prod):
    for evaluation, retention in ((dev, 7), (prod, 90)):
        group = evaluation.one("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane-logs")
        assert group.inputs["retentionInDays"] == retention
        assert group.urn in evaluation.transitive_dependencies(evaluation.one("eks:index:Cluster"))


@pytest.mark.parametrize("days", [8, 29, 5000, -1])
def test_a_retention_cloudwatch_does_not_offer_is_refused(days):
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_stack("dev", {PREFIX + "controlPlaneLogRetentionDays": days})
    [problem] = caught.value.cause.problems
    assert problem.startswith(f"{PREFIX}controlPlaneLogRetentionDays = {days}: ")
    assert caught.value.registrations == []
