"""The policy pack over what a real `pulumi preview` hands it, and still strict on `up`.

A pull request previews a deployed stack: pulumi-docker rebuilds the changed image in preview and
answers its local image ID, a bare `sha256:<hex>`, so that is the Deployment's image there. A new
stack's preview has no image at all yet: the SDK skips the image policy for it.
"""

from __future__ import annotations

import copy

import pytest

from ops.offline.harness import UNKNOWN, Evaluation
from tests.policy.adapter import analyze, violations
from tests.support.types import DEPLOYMENT

REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/nextwork-flask-backend"
HEX = "0123456789abcdef" * 4


def with_image(evaluation: Evaluation, image: str) -> Evaluation:
    copied = copy.deepcopy(evaluation)
    [container] = copied.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]["containers"]
    container["image"] = image
    return copied


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_policy_passes_a_pull_requests_preview_of_the_deployed_stack(stack, request):
    analysis = analyze(request.getfixturevalue(f"{stack}_pr_preview"))
    assert (analysis.violations, analysis.skipped) == ({}, {})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_policy_passes_or_waits_for_up_in_a_new_stacks_preview(stack, request):
    assert violations(request.getfixturevalue(f"{stack}_preview")) == {}


def test_in_a_new_stacks_preview_the_image_policy_is_skipped_for_the_image_not_yet_built(prod_preview):
    # As the policy SDK does: reading the unknown image raises, and the policy does not run.
    assert analyze(prod_preview).skipped["image-by-digest"] == [
        "string value at .spec.template.spec.containers.0.image can't be known during preview",
    ]


def test_in_a_new_stacks_preview_what_only_up_knows_is_skipped_and_nothing_else(prod_preview):
    assert set(analyze(prod_preview).skipped) == {
        "image-by-digest",            # the image is built on up
        "eks-secrets-encryption",     # the KMS key's ARN exists after up
        "node-role-least-privilege",  # AWS computes the role's managed-policy list
    }


@pytest.mark.parametrize("image", [
    f"{REPOSITORY}@sha256:{HEX}",
    f"{REPOSITORY}:0a1b2c3d4e5f6a7b@sha256:{HEX}",
    f"sha256:{HEX}",
], ids=["pushed-digest", "tag-and-digest", "local-image-id"])
def test_an_image_pinned_by_content_passes(prod, image):
    assert violations(with_image(prod, image)) == {}


@pytest.mark.parametrize("image", [
    f"{REPOSITORY}:v1",
    REPOSITORY,
    f"{REPOSITORY}:latest",
    f"{REPOSITORY}@sha256:abc",
    f"{REPOSITORY}@sha256:{HEX.upper()}",
    f"{REPOSITORY}@sha256:{HEX}0",
    f"sha256:{HEX[:-1]}",
    f"sha256:{HEX.upper()}",
    f"{REPOSITORY}@sha256:{HEX}:v1",
], ids=["tag", "no-tag", "latest", "short-digest", "uppercase-digest", "long-digest", "short-image-id",
        "uppercase-image-id", "text-after-digest"])
def test_an_image_not_pinned_by_content_is_stopped_on_up(prod, image):
    found = violations(with_image(prod, image))
    assert list(found) == ["image-by-digest"]
    assert f"not {image!r}" in found["image-by-digest"][0]


def test_a_tag_is_stopped_in_a_pull_requests_preview_too(prod_pr_preview):
    found = violations(with_image(prod_pr_preview, f"{REPOSITORY}:latest"))
    assert list(found) == ["image-by-digest"]


def test_an_unknown_image_is_skipped_not_stopped(prod):
    analysis = analyze(with_image(prod, UNKNOWN))
    assert analysis.violations == {}
    assert list(analysis.skipped) == ["image-by-digest"]
