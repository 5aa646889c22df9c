"""The creator's ARN, spelled differently in the lists or holding characters EKS tags refuse."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

import access
from ops.offline import harness
from ops.offline.fakes import ACCOUNT
from ops.offline.stacks import evaluate_stack

PREFIX = "backend-on-eks:"
CREATOR_TAG = access.CREATOR_TAG
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/backend-on-eks-deploy"


def entry_arns(evaluation: harness.Evaluation) -> list[str]:
    return sorted(entry["principalArn"] for entry in evaluation.one("eks:index:Cluster").inputs["accessEntries"].values())


@pytest.mark.parametrize("listed", [
    f"arn:aws:iam::{ACCOUNT}:role/backend-on-eks-deploy",          # without its path
    f"arn:aws:iam::{ACCOUNT}:role/other/path/backend-on-eks-deploy",  # another path
    f"arn:aws:iam::{ACCOUNT}:role/ci/Backend-On-EKS-Deploy",        # another case
])
def test_the_creator_listed_by_another_spelling_gets_no_second_entry(listed):
    evaluation = evaluate_stack("prod", {PREFIX + "deployPrincipalArns": [listed]}, caller_arn=DEPLOY_ROLE,
                                existing_clusters={})
    assert listed not in entry_arns(evaluation)


def test_a_role_of_the_same_name_in_another_account_is_not_the_creator():
    other = "arn:aws:iam::210987654321:role/ci/backend-on-eks-deploy"
    evaluation = evaluate_stack("prod", {PREFIX + "deployPrincipalArns": [other]}, caller_arn=DEPLOY_ROLE,
                                existing_clusters={})
    assert other in entry_arns(evaluation)


def test_a_creator_with_a_comma_in_its_name_is_tagged_escaped_and_read_back_whole():
    creator = f"arn:aws:iam::{ACCOUNT}:role/ci/deploy,prod"
    evaluation = evaluate_stack("prod", caller_arn=creator, existing_clusters={})
    tag = evaluation.one("eks:index:Cluster").inputs["clusterTags"][CREATOR_TAG]
    assert tag == f"escaped:arn:aws:iam::{ACCOUNT}:role/ci/deploy=2Cprod"
    # A later up by another role reads the creator back from the tag: listed, it gets no entry.
    later = evaluate_stack("prod", {PREFIX + "deployPrincipalArns": [creator, DEPLOY_ROLE]}, caller_arn=DEPLOY_ROLE,
                           existing_clusters={"backend-on-eks-prod": {CREATOR_TAG: tag}})
    assert creator not in entry_arns(later) and DEPLOY_ROLE in entry_arns(later)


def test_a_plain_creator_is_tagged_as_it_is_so_existing_clusters_read_the_same():
    evaluation = evaluate_stack("prod", caller_arn=DEPLOY_ROLE, existing_clusters={})
    assert evaluation.one("eks:index:Cluster").inputs["clusterTags"][CREATOR_TAG] == DEPLOY_ROLE


def test_a_creator_too_long_for_a_tag_even_escaped_stops_the_program_before_any_resource():
    creator = f"arn:aws:iam::{ACCOUNT}:role/{'p,' * 130}/deploy"
    with pytest.raises(harness.ProgramFailed, match="over the 256 EKS accepts") as failure:
        evaluate_stack("prod", caller_arn=creator, existing_clusters={})
    assert failure.value.registrations == []


TAG_SET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.:/=+-@")


@given(st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60))
def test_every_escaped_tag_value_uses_only_characters_eks_accepts_and_reads_back(path):
    arn = f"arn:aws:iam::{ACCOUNT}:role/{path}/deploy"
    value = access.creator_tag_value(arn)
    assert set(value) <= TAG_SET and len(value) <= 256
    assert access.creator_from_tag(value) == arn
