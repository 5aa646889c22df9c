"""Who may use the cluster: every actor from stack config, whoever runs `up`, with no entry that
duplicates the one EKS makes for the cluster's creator."""

from __future__ import annotations

import pytest

from ops.offline import harness
from ops.offline.fakes import ACCOUNT
from ops.offline.stacks import evaluate_stack
from tests.support.types import EKS_CLUSTER

PREFIX = "backend-on-eks:"
CREATOR_TAG = "backend-on-eks/cluster-creator"
CI_DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/backend-on-eks-deploy"
CI_PREVIEW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/backend-on-eks-preview"
PERSON = f"arn:aws:iam::{ACCOUNT}:user/alice"
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"

ACTORS = {
    PREFIX + "adminPrincipalArns": [PERSON, OPERATOR_ROLE],
    PREFIX + "deployPrincipalArns": [CI_DEPLOY_ROLE],
    PREFIX + "viewerPrincipalArns": [CI_PREVIEW_ROLE],
}


def evaluate(caller: str, clusters: dict | None = None, overrides: dict | None = None) -> harness.Evaluation:
    """prod with every kind of actor configured, run by `caller` in an account holding `clusters`
    (name -> tags); STS and EKS answer as AWS does (ops/offline/fakes.identity_invoke_fakes)."""
    return evaluate_stack("prod", {**ACTORS, **(overrides or {})}, caller_arn=caller, existing_clusters=clusters or {})


def entries(evaluation: harness.Evaluation) -> dict[str, list[str]]:
    """Principal ARN -> the access policies associated with it, as the cluster would get them."""
    found = {}
    for entry in evaluation.one(EKS_CLUSTER).inputs.get("accessEntries", {}).values():
        policies = entry["accessPolicies"].values()
        assert all(policy["accessScope"] == {"type": "cluster"} for policy in policies)
        found[entry["principalArn"]] = sorted(policy["policyArn"] for policy in policies)
    return found


def existing_prod_cluster(creator: str) -> dict:
    return {"backend-on-eks-prod": {CREATOR_TAG: creator}}


def test_the_first_up_records_its_caller_as_the_creator_by_iam_role_not_sts_session():
    evaluation = evaluate(CI_DEPLOY_ROLE)
    assert evaluation.one(EKS_CLUSTER).inputs["clusterTags"] == {CREATOR_TAG: CI_DEPLOY_ROLE}


def test_the_creator_gets_no_second_entry_even_when_listed():
    assert CI_DEPLOY_ROLE not in entries(evaluate(CI_DEPLOY_ROLE))


def test_every_other_actor_gets_an_entry_with_the_policy_of_its_role():
    assert entries(evaluate(CI_DEPLOY_ROLE)) == {
        PERSON: [ADMIN_POLICY], OPERATOR_ROLE: [ADMIN_POLICY], CI_PREVIEW_ROLE: [VIEW_POLICY],
    }


def test_a_later_up_by_someone_else_keeps_the_same_entries_as_the_creators_up():
    by_ci = evaluate(CI_DEPLOY_ROLE, existing_prod_cluster(CI_DEPLOY_ROLE))
    by_person = evaluate(PERSON, existing_prod_cluster(CI_DEPLOY_ROLE))
    assert entries(by_person) == entries(by_ci) == entries(evaluate(CI_DEPLOY_ROLE))
    assert PERSON in entries(by_person)  # the caller of a later run keeps its own entry


def test_a_cluster_a_person_created_gives_ci_its_own_entry():
    by_ci = evaluate(CI_DEPLOY_ROLE, existing_prod_cluster(PERSON))
    assert entries(by_ci)[CI_DEPLOY_ROLE] == [ADMIN_POLICY]
    assert PERSON not in entries(by_ci)
    assert by_ci.one(EKS_CLUSTER).inputs["clusterTags"] == {CREATOR_TAG: PERSON}


def test_a_preview_by_the_read_only_role_declares_what_the_deploy_will():
    preview = evaluate(CI_PREVIEW_ROLE, existing_prod_cluster(CI_DEPLOY_ROLE))
    assert entries(preview) == entries(evaluate(CI_DEPLOY_ROLE, existing_prod_cluster(CI_DEPLOY_ROLE)))


def test_a_configured_creator_wins_over_the_caller():
    evaluation = evaluate(CI_DEPLOY_ROLE, overrides={PREFIX + "clusterCreatorArn": OPERATOR_ROLE})
    assert OPERATOR_ROLE not in entries(evaluation)
    assert entries(evaluation)[CI_DEPLOY_ROLE] == [ADMIN_POLICY]


def test_an_existing_cluster_with_no_recorded_creator_stops_the_program_before_any_resource():
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate(CI_DEPLOY_ROLE, {"backend-on-eks-prod": {}})
    assert "backend-on-eks:clusterCreatorArn" in str(caught.value)
    assert caught.value.registrations == []


def test_a_cluster_of_another_stack_does_not_count_as_this_stacks():
    evaluation = evaluate(PERSON, {"backend-on-eks-dev": {CREATOR_TAG: CI_DEPLOY_ROLE}})
    assert evaluation.one(EKS_CLUSTER).inputs["clusterTags"] == {CREATOR_TAG: PERSON}
