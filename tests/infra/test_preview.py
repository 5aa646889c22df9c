"""The offline model answers as a real `pulumi preview` does, and the identity lookups as AWS does.

A preview of a new stack creates nothing: IDs and every output only the cloud assigns are
unknown, and so is all the program builds from them. pulumi-docker builds in preview (never
pushing) only once it knows the image name, which a new stack's repository URL is not; a
deployed stack's preview rebuilds a changed image and answers its local image ID.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from ops.offline import harness
from ops.offline.fakes import (
    ACCOUNT,
    INVOKE_FAKES,
    PREVIEW_FAKES,
    RESOURCE_FAKES,
    AwsApiError,
    fake_digest,
    identity_invoke_fakes,
)
from ops.offline.stacks import evaluate_stack
from tests.support.types import DEPLOYMENT, IMAGE, REPOSITORY

UNKNOWN = harness.UNKNOWN
IMAGE_PATH = "spec.template.spec.containers[0].image"
BARE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
TOKEN = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
INSTANCES = "aws:ec2/getInstances:getInstances"


def image_of(evaluation: harness.Evaluation) -> str:
    [container] = evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]["containers"]
    return container["image"]


@pytest.fixture(params=["dev", "prod"])
def new_stack_preview(request) -> harness.Evaluation:
    return request.getfixturevalue(f"{request.param}_preview")


# --- A new stack ---------------------------------------------------------------------------------

def test_a_new_stacks_preview_plans_every_resource_as_yet_to_be_created(new_stack_preview):
    assert new_stack_preview.preview
    assert all(r.pending for r in new_stack_preview.registrations)


def test_outputs_only_the_cloud_assigns_are_unknown_in_a_new_stacks_preview(new_stack_preview):
    repository = new_stack_preview.one(REPOSITORY)
    assert {repository.outputs[name] for name in ("repositoryUrl", "registryId", "arn")} == {UNKNOWN}
    assert repository.outputs["name"] == repository.inputs["name"]  # an input is known
    assert new_stack_preview.one("eks:index:Cluster").outputs["kubeconfigJson"] == UNKNOWN


def test_a_resource_yet_to_be_created_has_an_unknown_id_in_preview(new_stack_preview):
    node_group = new_stack_preview.one("eks:index:ManagedNodeGroup")
    assert {"launchTemplate.id", "launchTemplate.version"} <= node_group.unknown_inputs


def test_what_the_program_builds_from_an_unknown_is_unknown_in_preview(new_stack_preview):
    assert new_stack_preview.one("pulumi:providers:kubernetes", "workload-provider").unknown_inputs == {"kubeconfig"}
    assert {name for name, value in new_stack_preview.exports.items() if value == UNKNOWN} >= {
        "kubeconfig", "repositoryUrl", "imageRef",
    }
    assert new_stack_preview.exports["namespace"] == "backend"  # from config: known


def test_a_new_stacks_preview_does_not_build_the_image_because_its_name_is_unknown(new_stack_preview):
    image = new_stack_preview.one(IMAGE)
    assert "imageName" in image.unknown_inputs
    assert image.outputs["repoDigest"] == UNKNOWN
    assert new_stack_preview.one(DEPLOYMENT, "workload-deployment").unknown_inputs == {IMAGE_PATH}


def test_an_invoke_with_an_unknown_argument_is_not_made_in_preview(new_stack_preview):
    # The registry ID is unknown until the repository exists, so no ECR token is fetched.
    assert TOKEN not in [invoke.token for invoke in new_stack_preview.invokes]
    assert {"registry.username", "registry.password"} <= new_stack_preview.one(IMAGE).unknown_inputs


def test_an_invoke_with_known_arguments_is_made_in_preview_too(new_stack_preview):
    assert "aws:index/getPartition:getPartition" in [invoke.token for invoke in new_stack_preview.invokes]


def test_an_invoke_waiting_on_a_resource_yet_to_be_created_is_not_made_in_preview():
    # The node lookup waits on the node group (a remote component), which a new stack lacks.
    evaluation = evaluate_stack("dev", {"backend-on-eks:nodePortIngressCidrs": ["203.0.113.0/24"]}, preview=True)
    assert INSTANCES not in [invoke.token for invoke in evaluation.invokes]
    assert evaluation.exports["serviceUrl"] == UNKNOWN


def test_without_preview_fakes_a_preview_knows_nothing_a_provider_computes():
    evaluation = harness.evaluate("dev", harness.stack_file_config("dev"), dict(RESOURCE_FAKES), dict(INVOKE_FAKES),
                                  preview=True, deployed=lambda type_: type_ != IMAGE)
    assert "imageName" not in evaluation.one(IMAGE).unknown_inputs
    assert evaluation.one(IMAGE).outputs["repoDigest"] == UNKNOWN


# --- A deployed stack, for a change to app/ ----------------------------------------------------

def test_a_deployed_stacks_preview_answers_its_unchanged_resources_as_up_did(dev, dev_pr_preview):
    assert not dev_pr_preview.one(REPOSITORY).pending
    assert dev_pr_preview.one(REPOSITORY).outputs == dev.one(REPOSITORY).outputs
    assert TOKEN in [invoke.token for invoke in dev_pr_preview.invokes]


def test_a_deployed_stacks_preview_runs_the_changed_image_by_its_bare_local_image_id(dev, dev_pr_preview):
    # pulumi-docker rebuilds the image in preview and never pushes it: no repository, no digest.
    image = dev_pr_preview.one(IMAGE)
    assert image.pending
    assert BARE_DIGEST.fullmatch(image_of(dev_pr_preview))
    assert image_of(dev_pr_preview) == image.outputs["repoDigest"] == dev_pr_preview.exports["imageRef"]
    assert image_of(dev) == f"{image.inputs['imageName'].rsplit(':', 1)[0]}@{fake_digest(image.inputs['imageName'])}"


def test_an_image_whose_name_is_unknown_is_not_built_even_when_it_asks_to_be():
    args = type("Args", (), {"inputs": {"imageName": UNKNOWN, "buildOnPreview": True, "build": {"context": "app"}}})
    assert PREVIEW_FAKES[IMAGE](args) == {}


# --- Who runs the program, and which clusters exist --------------------------------------------

ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci/deployers/backend-deploy"
USER = f"arn:aws:iam::{ACCOUNT}:user/ops/alice"
IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
SESSION = "aws:iam/getSessionContext:getSessionContext"
CLUSTERS = "aws:eks/getClusters:getClusters"
CLUSTER = "aws:eks/getCluster:getCluster"


def test_sts_names_a_role_session_by_role_name_without_its_path():
    caller = identity_invoke_fakes(ROLE, session_name="deploy-dev-42")[IDENTITY]({})
    assert caller["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/backend-deploy/deploy-dev-42"
    assert caller["accountId"] == ACCOUNT and caller["userId"].endswith(":deploy-dev-42")


def test_the_session_context_maps_a_role_session_back_to_the_role_with_its_path():
    fakes = identity_invoke_fakes(ROLE, session_name="deploy-dev-42")
    context = fakes[SESSION]({"arn": fakes[IDENTITY]({})["arn"]})
    assert (context["issuerArn"], context["issuerName"], context["sessionName"]) == (
        ROLE, "backend-deploy", "deploy-dev-42")


def test_an_iam_user_is_both_the_caller_and_the_issuer():
    fakes = identity_invoke_fakes(USER)
    caller = fakes[IDENTITY]({})
    assert caller["arn"] == USER
    assert fakes[SESSION]({"arn": caller["arn"]})["issuerArn"] == USER


def test_a_session_of_a_role_iam_does_not_know_fails_the_lookup():
    with pytest.raises(AwsApiError, match="NoSuchEntity"):
        identity_invoke_fakes(ROLE)[SESSION]({"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/other/s"})


def test_a_new_account_lists_no_cluster_and_describing_one_is_not_found():
    fakes = identity_invoke_fakes(ROLE)
    assert fakes[CLUSTERS]({})["names"] == []
    with pytest.raises(AwsApiError, match="ResourceNotFoundException: No cluster found for name: backend"):
        fakes[CLUSTER]({"name": "backend"})


def test_an_existing_cluster_is_listed_and_described_with_its_tags():
    fakes = identity_invoke_fakes(ROLE, {"backend": {"backend-on-eks/cluster-creator": ROLE}})
    assert fakes[CLUSTERS]({})["names"] == ["backend"]
    assert fakes[CLUSTER]({"name": "backend"})["tags"] == {"backend-on-eks/cluster-creator": ROLE}


def test_a_caller_that_is_no_iam_principal_is_refused():
    with pytest.raises(ValueError, match="not an IAM role or user ARN"):
        identity_invoke_fakes(f"arn:aws:sts::{ACCOUNT}:assumed-role/backend-deploy/s")


@pytest.fixture
def identity_program(tmp_path):
    """A program that asks who runs it and which clusters exist, as the stack's program will."""
    (tmp_path / "Pulumi.yaml").write_text("name: backend-on-eks\nruntime: python\nconfig: {}\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""
        import pulumi
        import pulumi_aws as aws

        caller = aws.get_caller_identity()
        pulumi.export("issuer", aws.iam.get_session_context(arn=caller.arn).issuer_arn)
        pulumi.export("clusters", aws.eks.get_clusters().names)
    """))
    return tmp_path


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_harness_runs_the_program_as_the_given_caller_in_the_given_account(identity_program, preview):
    evaluation = harness.evaluate("dev", {}, {}, dict(INVOKE_FAKES), preview=preview, project_dir=identity_program,
                                  caller_arn=ROLE, existing_clusters={"backend": {}})
    assert evaluation.exports == {"issuer": ROLE, "clusters": ["backend"]}


def test_by_default_the_harness_runs_the_program_as_ci_in_a_new_account(identity_program):
    evaluation = harness.evaluate("dev", {}, {}, dict(INVOKE_FAKES), project_dir=identity_program)
    assert evaluation.exports == {"issuer": f"arn:aws:iam::{ACCOUNT}:role/ci/backend-on-eks-deploy", "clusters": []}
