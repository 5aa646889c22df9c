"""Container logs and Container Insights: the CloudWatch Observability add-on, its role and its log groups.

Evaluated as `pulumi up` (and a new stack's preview) of the stacks under the offline mocks, with
the components wired as __main__.py wires them (components/container_insights.py).
"""

from __future__ import annotations

import json

import pytest

import control_plane_logs
from ops.offline import harness
from ops.offline.fakes import INVOKE_FAKES, RESOURCE_FAKES, log_group_invoke_fakes
from ops.offline.stacks import PREVIEW_FAKES, evaluate_stack
from tests.infra.test_settings_hostile import PREFIX, problems_for

COMPONENT = "backend-on-eks:index:ContainerInsights"
ADDON = "aws:eks/addon:Addon"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KINDS = ("application", "dataplane", "host", "performance")


def _mine(evaluation: harness.Evaluation) -> list[harness.Registration]:
    [component] = evaluation.of_type(COMPONENT)
    return [r for r in evaluation.registrations if component in evaluation.ancestors(r)]


def _one(evaluation: harness.Evaluation, type_: str) -> harness.Registration:
    [found] = [r for r in _mine(evaluation) if r.type == type_]
    return found


def _addon(evaluation: harness.Evaluation) -> harness.Registration:
    return _one(evaluation, ADDON)


def _groups(evaluation: harness.Evaluation) -> dict[str, harness.Registration]:
    return {r.inputs["name"].rsplit("/", 1)[1]: r for r in _mine(evaluation) if r.type == LOG_GROUP}


def _cluster_name(evaluation: harness.Evaluation) -> str:
    return evaluation.one("eks:index:Cluster").inputs["name"]


def test_prod_keeps_container_logs_and_dev_does_not_by_default(prod):
    assert prod.of_type(COMPONENT) and _addon(prod).inputs["addonName"] == "amazon-cloudwatch-observability"
    assert not evaluate_stack("dev").of_type(COMPONENT)


def test_prod_declares_container_insights_with_no_missing_fake_output(prod):
    assert prod.missing_fake_outputs() == []


def test_the_program_owns_each_group_the_agent_and_fluent_bit_write_to(prod):
    cluster = _cluster_name(prod)
    assert {kind: group.inputs["name"] for kind, group in _groups(prod).items()} == {
        kind: f"/aws/containerinsights/{cluster}/{kind}" for kind in KINDS}


def test_every_group_keeps_logs_for_the_stacks_retention(prod):
    assert prod.config[PREFIX + "containerLogRetentionDays"] == "30"
    assert {group.inputs["retentionInDays"] for group in _groups(prod).values()} == {30}


def test_every_group_carries_the_tag_that_tells_it_from_one_a_pod_re_created(prod):
    assert {json.dumps(group.inputs["tags"], sort_keys=True) for group in _groups(prod).values()} == {
        json.dumps({control_plane_logs.OWNER_TAG: "backend-on-eks/prod"})}


def test_the_add_on_starts_only_once_its_groups_role_nodes_and_pod_identity_agent_exist(prod):
    waits_for = prod.transitive_dependencies(_addon(prod))
    [agent] = [r for r in prod.of_type(ADDON) if r.inputs["addonName"] == "eks-pod-identity-agent"]
    needed = [*_groups(prod).values(), _one(prod, ATTACHMENT), agent, prod.one("eks:index:ManagedNodeGroup")]
    assert all(r.urn in waits_for for r in needed), [r.name for r in needed if r.urn not in waits_for]


def test_the_agents_service_account_gets_its_role_through_pod_identity(prod):
    [association] = _addon(prod).inputs["podIdentityAssociations"]
    assert association == {"serviceAccount": "cloudwatch-agent", "roleArn": _one(prod, ROLE).outputs["arn"]}
    assert "serviceAccountRoleArn" not in _addon(prod).inputs


def test_only_pod_identity_may_assume_the_agents_role(prod):
    trust = json.loads(_one(prod, ROLE).inputs["assumeRolePolicy"])
    assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                   "Action": ["sts:AssumeRole", "sts:TagSession"]}]


def test_the_agents_role_has_the_policy_aws_documents_for_it_and_nothing_else(prod):
    role = _one(prod, ROLE)
    attachments = [r for r in prod.of_type(ATTACHMENT) if r.inputs["role"] == role.outputs["name"]]
    assert [a.inputs["policyArn"] for a in attachments] == ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
    assert not [r for r in prod.of_type("aws:iam/rolePolicy:RolePolicy") if r.inputs["role"] == role.outputs["name"]]


def test_the_node_role_gets_no_cloudwatch_rights(prod):
    node_role = prod.one(ROLE, "cluster-node-role")
    policies = [r.inputs["policyArn"] for r in prod.of_type(ATTACHMENT) if r.inputs["role"] == node_role.outputs["name"]]
    assert policies and not [p for p in policies if "CloudWatch" in p]


def test_the_agent_collects_container_insights_without_application_signals(prod):
    configuration = json.loads(_addon(prod).inputs["configurationValues"])
    assert configuration == {"agent": {"config": {"logs": {"metrics_collected": {
        "kubernetes": {"enhanced_container_insights": True}}}}}}


def test_the_add_on_version_is_left_to_eks_until_the_catalog_pins_one(prod):
    assert "addonVersion" not in _addon(prod).inputs


def test_a_new_stacks_preview_declares_the_same_groups(prod_preview):
    assert sorted(_groups(prod_preview)) == list(KINDS)


def test_two_stacks_in_one_account_write_to_different_groups(prod):
    other = evaluate_stack("prod", {PREFIX + "clusterName": "backend-on-eks-prod-eu"})
    names = {group.inputs["name"] for group in _groups(prod).values()}
    assert names.isdisjoint(group.inputs["name"] for group in _groups(other).values())


def test_turning_it_off_leaves_no_add_on_role_or_group_and_still_the_control_plane_logs():
    off = evaluate_stack("prod", {PREFIX + "containerInsights": False})
    assert not off.of_type(COMPONENT)
    assert [r.inputs["name"] for r in off.of_type(LOG_GROUP)] == ["/aws/eks/backend-on-eks-prod/cluster"]


def test_the_pod_identity_agent_runs_for_container_insights_alone():
    alone = evaluate_stack("dev", {PREFIX + "containerInsights": True})
    assert [r.inputs["addonName"] for r in alone.of_type(ADDON)] == ["eks-pod-identity-agent",
                                                                     "amazon-cloudwatch-observability"]


# --- a group left behind by a pod still flushing during a destroy ------------------------------------

def _dev_with_container_insights(groups) -> harness.Evaluation:
    config = {**harness.stack_file_config("dev"), PREFIX + "containerInsights": True}
    return harness.evaluate("dev", config, RESOURCE_FAKES, {**INVOKE_FAKES, **log_group_invoke_fakes(groups)},
                            preview=True, preview_fakes=PREVIEW_FAKES)


def test_a_container_insights_group_re_created_after_a_destroy_stops_the_program_before_any_resource():
    group = "/aws/containerinsights/backend-on-eks-dev/application"
    with pytest.raises(harness.ProgramFailed) as failure:
        _dev_with_container_insights({group: {}})
    assert failure.value.registrations == []
    assert f"log group {group} exists but cluster backend-on-eks-dev does not" in str(failure.value)
    assert "the CloudWatch agent or Fluent Bit re-created it" in str(failure.value)


def test_the_stacks_own_container_insights_group_is_accepted():
    group = "/aws/containerinsights/backend-on-eks-dev/host"
    evaluation = _dev_with_container_insights({group: {control_plane_logs.OWNER_TAG: "backend-on-eks/dev"}})
    assert group in {r.inputs["name"] for r in evaluation.of_type(LOG_GROUP)}


# --- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("days", ["2", "4", "29", "366", "3654", "-1"])
def test_a_retention_cloudwatch_does_not_accept_is_refused(days):
    [problem] = problems_for({"containerLogRetentionDays": days})
    assert problem.startswith(f"{PREFIX}containerLogRetentionDays = {days}: must be ")


def test_the_refusal_lists_the_periods_cloudwatch_accepts():
    [problem] = problems_for({"containerLogRetentionDays": "2"})
    assert problem.endswith("must be one of the periods CloudWatch Logs accepts: 0, 1, 3, 5, 7, 14, 30, 60, 90, "
                            "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653")


def test_a_bad_retention_fails_the_program_before_any_resource():
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_stack("prod", {PREFIX + "containerLogRetentionDays": 2})
    assert "containerLogRetentionDays" in str(caught.value) and caught.value.registrations == []


def test_container_insights_that_is_not_a_boolean_is_refused():
    [problem] = problems_for({"containerInsights": "yes"})
    assert problem.startswith(f"{PREFIX}containerInsights = 'yes': ")
