"""Redeploying a destroyed stack: a control-plane log group that EKS re-created after the destroy
stops the program before it declares anything, instead of failing the `up` half-way."""

from __future__ import annotations

import pytest
import yaml

import access
import control_plane_logs
from ops.offline import harness
from ops.offline.fakes import CALLER_ROLE_ARN, INVOKE_FAKES, RESOURCE_FAKES, log_group_invoke_fakes
from ops.offline.stacks import PREVIEW_FAKES

GROUP = "/aws/eks/backend-on-eks-dev/cluster"
OWN_TAGS = {control_plane_logs.OWNER_TAG: "backend-on-eks/dev"}
WORKFLOW = harness.PROJECT_DIR / ".github" / "workflows" / "destroy.yml"


def evaluate_dev(groups, clusters=None, preview=False) -> harness.Evaluation:
    return harness.evaluate("dev", harness.stack_file_config("dev"), RESOURCE_FAKES,
                            {**INVOKE_FAKES, **log_group_invoke_fakes(groups)}, preview=preview,
                            preview_fakes=PREVIEW_FAKES, existing_clusters=clusters or {})


@pytest.mark.parametrize("preview", [True, False])
def test_a_group_eks_re_created_after_a_destroy_stops_the_program_before_any_resource(preview):
    with pytest.raises(harness.ProgramFailed) as failure:
        evaluate_dev({GROUP: {}}, preview=preview)
    assert failure.value.registrations == []
    message = str(failure.value)
    assert f"log group {GROUP} exists but cluster backend-on-eks-dev does not" in message
    assert f"aws logs delete-log-group --log-group-name {GROUP} --region us-east-1" in message


def test_a_group_tagged_by_another_stack_is_not_taken_for_this_stacks_own():
    with pytest.raises(harness.ProgramFailed, match="lacks the tag"):
        evaluate_dev({GROUP: {control_plane_logs.OWNER_TAG: "backend-on-eks/prod"}})


def test_the_stacks_own_group_left_by_an_up_that_stopped_before_the_cluster_is_accepted():
    evaluation = evaluate_dev({GROUP: OWN_TAGS})
    assert evaluation.one("aws:cloudwatch/logGroup:LogGroup").inputs["name"] == GROUP


def test_a_deployed_stacks_group_without_the_tag_is_accepted_while_its_cluster_exists():
    # Stacks deployed before the tag existed: their group is in their state; the next up tags it.
    evaluation = evaluate_dev({GROUP: {}}, clusters={"backend-on-eks-dev": {access.CREATOR_TAG: CALLER_ROLE_ARN}})
    assert evaluation.one("aws:cloudwatch/logGroup:LogGroup").inputs["tags"] == OWN_TAGS


def test_a_longer_group_name_under_the_same_prefix_does_not_collide():
    evaluation = evaluate_dev({GROUP + "-archive": {}})
    assert evaluation.one("aws:cloudwatch/logGroup:LogGroup").inputs["name"] == GROUP


def test_the_programs_group_carries_the_tag_that_tells_it_from_one_eks_made():
    evaluation = evaluate_dev({})
    assert evaluation.one("aws:cloudwatch/logGroup:LogGroup").inputs["tags"] == OWN_TAGS


def test_the_destroy_workflow_deletes_the_group_eks_re_creates_after_the_destroy():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["destroy"]["steps"]
    names = [step.get("name", "") for step in steps]
    cleanup = steps[names.index("Delete the log groups re-created after the destroy")]
    assert names.index("pulumi destroy ${{ inputs.stack }}") < names.index(cleanup["name"])
    assert "python -m ops logs delete-left-group" in cleanup["run"]
