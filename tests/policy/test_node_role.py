"""The node role carries exactly the three AWS managed policies, through every way IAM grants more."""

from __future__ import annotations

import copy
import json

import pytest

from tests.policy.adapter import assert_only_violation, violations
from tests.policy.builders import ATTACHMENT, ROLE, changed, plus, registration

POLICY = "node-role-least-privilege"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
THREE = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]


def node_role_urn(prod):
    return prod.one(ROLE, "cluster-node-role").urn


def attachment(prod, name, policy_arn, *, role="cluster-node-role", depends=True):
    return registration(prod, ATTACHMENT, name, {"policyArn": policy_arn, "role": role},
                        property_dependencies={"role": [node_role_urn(prod)]} if depends else {})


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123456789012:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/service-role/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy ",
    "arn:aws:iam::aws:policy/amazoneks_cni_policy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy/../AdministratorAccess",
    "AmazonEKS_CNI_Policy",
], ids=repr)
def test_a_policy_that_only_looks_like_an_aws_managed_one_is_stopped(prod, arn):
    # Replace the real CNI attachment, so the count stays three and only the ARN differs.
    evaluation = copy.deepcopy(prod)
    [cni] = [r for r in evaluation.registrations if r.name == "cluster-node-AmazonEKS_CNI_Policy"]
    cni.inputs["policyArn"] = arn
    assert "it also has" in assert_only_violation(violations(evaluation), POLICY)[0]


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_the_three_managed_policies_pass_in_every_partition(prod, partition):
    evaluation = copy.deepcopy(prod)
    for r in evaluation.registrations:
        if r.type == ATTACHMENT:
            r.inputs["policyArn"] = r.inputs["policyArn"].replace("arn:aws:", f"arn:{partition}:")
    assert violations(evaluation) == {}


def test_an_attachment_naming_the_role_without_a_dependency_is_still_counted(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(name="cluster-node-role"))
    found = violations(plus(evaluation, attachment(prod, "admin", ADMIN, depends=False)))
    assert "it also has AdministratorAccess" in assert_only_violation(found, POLICY)[0]


def test_an_attachment_naming_the_role_by_arn_is_still_counted(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(arn="arn:aws:iam::123456789012:role/node"))
    found = violations(plus(evaluation, attachment(prod, "admin", ADMIN, role="arn:aws:iam::123456789012:role/node",
                                                   depends=False)))
    assert_only_violation(found, POLICY)


def test_an_inline_role_policy_on_the_node_role_is_stopped(prod):
    inline = registration(prod, "aws:iam/rolePolicy:RolePolicy", "node-extra", {
        "role": "cluster-node-role", "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})},
        property_dependencies={"role": [node_role_urn(prod)]})
    assert "inline policy 'node-extra'" in assert_only_violation(violations(plus(prod, inline)), POLICY)[0]


def test_a_policy_attachment_listing_the_node_role_is_stopped(prod):
    shared = registration(prod, "aws:iam/policyAttachment:PolicyAttachment", "shared-admin",
                          {"policyArn": ADMIN, "roles": ["cluster-node-role"]},
                          property_dependencies={"roles": [node_role_urn(prod)]})
    assert "AdministratorAccess" in assert_only_violation(violations(plus(prod, shared)), POLICY)[0]


def test_exclusive_inline_policies_on_the_node_role_are_stopped(prod):
    exclusive = registration(prod, "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive", "node-inline",
                             {"roleName": "cluster-node-role", "policyNames": ["admin"]},
                             property_dependencies={"roleName": [node_role_urn(prod)]})
    assert "inline policies ['admin']" in assert_only_violation(violations(plus(prod, exclusive)), POLICY)[0]


def test_exclusive_inline_policies_that_are_empty_pass(prod):
    exclusive = registration(prod, "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive", "node-inline",
                             {"roleName": "cluster-node-role", "policyNames": []},
                             property_dependencies={"roleName": [node_role_urn(prod)]})
    assert violations(plus(prod, exclusive)) == {}


def exclusive_attachments(prod, arns):
    return registration(prod, "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "node-exclusive",
                        {"roleName": "cluster-node-role", "policyArns": arns},
                        property_dependencies={"roleName": [node_role_urn(prod)]})


def test_exclusive_attachments_of_the_three_pass(prod):
    arns = [f"arn:aws:iam::aws:policy/{name}" for name in THREE]
    assert violations(plus(prod, exclusive_attachments(prod, arns))) == {}


def test_exclusive_attachments_with_a_fourth_policy_are_stopped(prod):
    found = violations(plus(prod, exclusive_attachments(prod, [ADMIN])))
    assert "AdministratorAccess (in 'node-exclusive')" in assert_only_violation(found, POLICY)[0]


def test_role_level_managed_policies_beyond_the_three_are_stopped(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(managedPolicyArns=[ADMIN]))
    assert "AdministratorAccess" in assert_only_violation(violations(evaluation), POLICY)[0]


def test_role_level_managed_policies_as_aws_reports_them_after_up_pass(prod):
    arns = [f"arn:aws:iam::aws:policy/{name}" for name in THREE]
    assert violations(changed(prod, ROLE, lambda i: i.update(managedPolicyArns=arns))) == {}


def test_an_inline_policy_on_the_role_itself_is_stopped(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(inlinePolicies=[{"name": "x", "policy": "{}"}]))
    assert "inline policies (inlinePolicies)" in assert_only_violation(violations(evaluation), POLICY)[0]


def test_the_empty_inline_policy_aws_reports_for_a_role_without_one_passes(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(inlinePolicies=[{"name": "", "policy": ""}]))
    assert violations(evaluation) == {}


def test_a_duplicate_attachment_of_an_allowed_policy_is_stopped(prod):
    found = violations(plus(prod, attachment(prod, "cni-again", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy")))
    assert "duplicate attachments" in assert_only_violation(found, POLICY)[0]


# --- Which role is the node role ----------------------------------------------------------------------

def lambda_trust():
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def test_a_role_the_node_group_uses_is_the_node_role_whatever_its_trust_policy_says(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(assumeRolePolicy=lambda_trust()))
    found = violations(plus(evaluation, attachment(prod, "admin", ADMIN)))
    assert "it also has AdministratorAccess" in assert_only_violation(found, POLICY)[0]


def test_a_role_in_an_instance_profile_is_a_node_role(prod):
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": lambda_trust()})
    profile = registration(prod, "aws:iam/instanceProfile:InstanceProfile", "profile", {"role": other.urn})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    assert "node role 'other'" in assert_only_violation(violations(plus(prod, other, profile, extra)), POLICY)[0]


@pytest.mark.parametrize("principal", [
    {"Service": "EC2.amazonaws.com"}, {"Service": ["lambda.amazonaws.com", " ec2.amazonaws.com"]},
    {"Service": "ec2.amazonaws.com.cn"}, "*", {"AWS": "*"},
], ids=repr)
def test_a_role_ec2_may_assume_however_the_trust_is_spelled_is_a_node_role(prod, principal):
    trust = json.dumps({"Statement": {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}})
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": trust})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    assert "node role 'other'" in assert_only_violation(violations(plus(prod, other, extra)), POLICY)[0]


def test_a_role_ec2_is_denied_is_not_a_node_role(prod):
    trust = json.dumps({"Statement": [{"Effect": "Deny", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "*"},
                                      {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]})
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": trust})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    assert violations(plus(prod, other, extra)) == {}


def test_a_role_whose_trust_policy_cannot_be_read_is_held_to_the_node_rule(prod):
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": "{not json"})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    assert_only_violation(violations(plus(prod, other, extra)), POLICY)


@pytest.mark.parametrize(("type_", "key", "value"), [
    ("eks:index:ManagedNodeGroup", "nodeRoleArn", "arn:aws:iam::123456789012:role/other"),
    ("aws:eks/nodeGroup:NodeGroup", "nodeRoleArn", "arn:aws:iam::123456789012:role/other"),
    ("eks:index:Cluster", "instanceRole", "arn:aws:iam::123456789012:role/other"),
    ("eks:index:Cluster", "instanceRoles", ["arn:aws:iam::123456789012:role/other"]),
])
def test_a_role_handed_to_nodes_in_any_input_is_a_node_role(prod, type_, key, value):
    # The role trusts only Lambda and is known to the group by its ARN, not by a dependency.
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": lambda_trust(), "name": "other"})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    if type_ == "eks:index:Cluster":  # the stack's own cluster, given the role
        evaluation = plus(changed(prod, type_, lambda i: i.update({key: value})), other, extra)
    else:
        evaluation = plus(prod, other, registration(prod, type_, "user", {key: value}), extra)
    assert "node role 'other'" in assert_only_violation(violations(evaluation), POLICY)[0]


def test_a_role_no_node_uses_and_ec2_cannot_assume_may_carry_anything(prod):
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": lambda_trust(), "name": "other"})
    inline = registration(prod, "aws:iam/rolePolicy:RolePolicy", "other-inline", {"role": "other", "policy": "{}"},
                          property_dependencies={"role": [other.urn]})
    exclusive = registration(prod, "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive", "other-exclusive",
                             {"roleName": "other", "policyNames": ["x"]}, property_dependencies={"roleName": [other.urn]})
    assert violations(plus(prod, other, inline, exclusive)) == {}


def test_a_role_without_a_trust_policy_is_not_a_node_role(prod):
    other = registration(prod, ROLE, "other", {})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    assert violations(plus(prod, other, extra)) == {}


def test_a_trust_statement_without_an_effect_allows(prod):
    trust = json.dumps({"Statement": [{"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": trust})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    assert_only_violation(violations(plus(prod, other, extra)), POLICY)


def test_an_arn_with_a_path_names_the_role_by_its_last_segment(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(name="cluster-node-role"))
    found = violations(plus(evaluation, attachment(prod, "admin", ADMIN, depends=False,
                                                   role="arn:aws:iam::123456789012:role/nodes/cluster-node-role")))
    assert_only_violation(found, POLICY)


def test_an_arn_that_only_contains_the_name_elsewhere_does_not_name_the_role(prod):
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": lambda_trust(), "name": "other"})
    evaluation = changed(prod, ROLE, lambda i: i.update(name="cluster-node-role"))
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN,
                                                            "role": "arn:aws:iam::123456789012:role/cluster-node-role/other"},
                         property_dependencies={"role": [other.urn]})
    assert violations(plus(evaluation, other, extra)) == {}


@pytest.mark.parametrize("inline", [{"name": "x", "policy": ""}, {"name": "", "policy": "{}"}], ids=repr)
def test_an_inline_policy_with_a_name_or_a_document_is_stopped(prod, inline):
    assert_only_violation(violations(changed(prod, ROLE, lambda i: i.update(inlinePolicies=[inline]))), POLICY)


def test_every_problem_of_the_node_role_is_listed(prod):
    inline = registration(prod, "aws:iam/rolePolicy:RolePolicy", "node-extra", {"role": "cluster-node-role", "policy": "{}"},
                          property_dependencies={"role": [node_role_urn(prod)]})
    exclusive_a = exclusive_attachments(prod, [ADMIN])
    exclusive_b = registration(prod, "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "more",
                               {"roleName": "cluster-node-role", "policyArns": ["arn:aws:iam::aws:policy/PowerUserAccess"]},
                               property_dependencies={"roleName": [node_role_urn(prod)]})
    found = assert_only_violation(violations(plus(prod, inline, exclusive_a, exclusive_b)), POLICY)[0]
    assert found.endswith("it also has inline policy 'node-extra', AdministratorAccess (in 'node-exclusive'), "
                          "PowerUserAccess (in 'more').")


def test_a_trust_policy_is_read_past_a_statement_that_denies(prod):
    trust = json.dumps({"Statement": [{"Effect": "Deny", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*"},
                                      {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}}]})
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": trust})
    extra = registration(prod, ATTACHMENT, "other-admin", {"policyArn": ADMIN, "role": "other"},
                         property_dependencies={"role": [other.urn]})
    assert_only_violation(violations(plus(prod, other, extra)), POLICY)


@pytest.mark.parametrize("first", ["aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
                                   "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"])
def test_an_exclusive_resource_does_not_end_the_search_for_attachments(prod, first):
    key = "policyNames" if "Policies" in first else "policyArns"
    exclusive = registration(prod, first, "exclusive", {"roleName": "cluster-node-role", key: []},
                             property_dependencies={"roleName": [node_role_urn(prod)]})
    assert "AdministratorAccess" in assert_only_violation(violations(plus(prod, exclusive, attachment(prod, "admin", ADMIN))), POLICY)[0]


def test_exclusive_attachments_on_a_role_nodes_do_not_use_are_not_this_policys_concern(prod):
    other = registration(prod, ROLE, "other", {"assumeRolePolicy": lambda_trust(), "name": "other"})
    exclusive = registration(prod, "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "other-ex",
                             {"roleName": "other", "policyArns": [ADMIN]}, property_dependencies={"roleName": [other.urn]})
    assert violations(plus(prod, other, exclusive)) == {}


def test_the_node_role_messages_end_with_what_was_found(prod):
    inline = changed(prod, ROLE, lambda i: i.update(inlinePolicies=[{"name": "x", "policy": "{}"}]))
    assert assert_only_violation(violations(inline), POLICY)[0].endswith("; it also has inline policies (inlinePolicies).")
    exclusive = registration(prod, "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive", "node-inline",
                             {"roleName": "cluster-node-role", "policyNames": ["admin"]},
                             property_dependencies={"roleName": [node_role_urn(prod)]})
    assert assert_only_violation(violations(plus(prod, exclusive)), POLICY)[0].endswith("; it also has inline policies ['admin'].")
    duplicate = attachment(prod, "cni-again", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy")
    assert assert_only_violation(violations(plus(prod, duplicate)), POLICY)[0].endswith("; it also has duplicate attachments.")


# --- Named by a literal, in any case ------------------------------------------------------------------------
# IAM role names are not distinguished by case, and a role the stack auto-names is known to AWS as
# its logical name plus a random suffix: a literal in any of those spellings names the node role.

def inline_policy(prod, role):
    return registration(prod, "aws:iam/rolePolicy:RolePolicy", "node-extra", {
        "role": role, "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})})


@pytest.mark.parametrize("role", ["cluster-node-role-1a2b3c4", "Cluster-Node-Role-1A2B3C4", "cluster-node-role",
                                  "arn:aws:iam::123456789012:role/cluster-node-role-1a2b3c4"])
def test_an_inline_policy_naming_the_auto_named_node_role_by_a_literal_is_stopped(prod, role):
    assert "inline policy 'node-extra'" in assert_only_violation(violations(plus(prod, inline_policy(prod, role))), POLICY)[0]


@pytest.mark.parametrize("role", ["CLUSTER-NODE-ROLE", "Cluster-Node-Role", " cluster-node-role ",
                                  "arn:aws:iam::123456789012:role/Cluster-Node-Role"])
def test_an_inline_policy_naming_the_node_role_in_another_case_is_stopped(prod, role):
    evaluation = changed(prod, ROLE, lambda i: i.update(name="cluster-node-role"))
    assert "inline policy 'node-extra'" in assert_only_violation(violations(plus(evaluation, inline_policy(prod, role))), POLICY)[0]


@pytest.mark.parametrize("kind", ["attachment", "exclusive"])
def test_every_way_of_granting_reads_the_role_name_in_any_case(prod, kind):
    evaluation = changed(prod, ROLE, lambda i: i.update(name="cluster-node-role"))
    grant = (attachment(prod, "admin", ADMIN, role="CLUSTER-NODE-ROLE", depends=False) if kind == "attachment" else
             registration(prod, "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive", "node-inline",
                          {"roleName": "Cluster-Node-Role", "policyNames": ["admin"]}))
    assert_only_violation(violations(plus(evaluation, grant)), POLICY)


@pytest.mark.parametrize("role", ["cluster-node-role-other", "cluster-node-roles", "other-cluster-node-role"])
def test_a_literal_that_is_not_the_node_roles_name_does_not_name_it(prod, role):
    assert violations(plus(prod, inline_policy(prod, role))) == {}


def test_a_literal_under_the_node_roles_name_prefix_names_it(prod):
    evaluation = changed(prod, ROLE, lambda i: i.update(namePrefix="nodes-"))
    assert_only_violation(violations(plus(evaluation, inline_policy(prod, "NODES-20240101abcdef"))), POLICY)
