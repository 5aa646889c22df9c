"""imageDigest: a stack runs an image its repository holds instead of building one (a rollback),
and a digest that is malformed or not in the stack's repository stops the program before any
resource. Against the ECR fake of test_image_lifecycle, which answers as ECR does."""

from __future__ import annotations

import pytest

from ops.offline import harness
from ops.offline.fakes import RESOURCE_FAKES
from tests.infra.test_image_lifecycle import (
    DEPLOYMENT, IMAGE, STACK, FakeEcr, changes, deployed_image, up,
)

KEY = f"{harness.PROJECT}:imageDigest"
GOOD = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def pinned(ecr: FakeEcr, digest, preview: bool = False) -> harness.Evaluation:
    values = {**harness.stack_file_config(STACK), KEY: digest}
    return harness.evaluate(STACK, values, RESOURCE_FAKES, ecr.invoke_fakes(), preview=preview)


@pytest.fixture
def ecr_after_two_builds() -> FakeEcr:
    """The stack's repository after two ups that each built: an older image (GOOD) and the newest."""
    ecr = FakeEcr()
    first = up(ecr)
    repository = first.one("aws:ecr/repository:Repository").inputs["name"]
    ecr.repositories[repository]["0123456789abcdef"] = GOOD
    return ecr


def repository_url(evaluation: harness.Evaluation) -> str:
    return evaluation.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]


def test_a_pinned_digest_runs_that_image_of_the_stacks_repository_and_builds_nothing(ecr_after_two_builds):
    evaluation = pinned(ecr_after_two_builds, GOOD)
    assert deployed_image(evaluation) == f"{repository_url(evaluation)}@{GOOD}"
    assert evaluation.of_type(IMAGE) == []


def test_a_pinned_digest_is_previewed_as_it_is_deployed(ecr_after_two_builds):
    preview = pinned(ecr_after_two_builds, GOOD, preview=True)
    assert preview.of_type(IMAGE) == []
    assert preview.exports["imageBuilt"] is False


def test_a_pinned_image_exports_its_digest_and_the_tag_the_repository_holds_it_under(ecr_after_two_builds):
    evaluation = pinned(ecr_after_two_builds, GOOD)
    assert evaluation.exports["imageRef"].endswith(f"@{GOOD}")
    assert evaluation.exports["imageTag"] == "0123456789abcdef"
    assert evaluation.exports["imageBuilt"] is False


def test_a_rollback_changes_the_deployments_image_and_nothing_else_of_the_stack(ecr_after_two_builds):
    current = up(ecr_after_two_builds)  # the newest image, already held: nothing built
    rolled_back = pinned(ecr_after_two_builds, GOOD)
    assert changes(current, rolled_back) == {f"update {DEPLOYMENT} workload-deployment"}


def test_unpinning_after_a_rollback_deploys_the_commits_own_image_again(ecr_after_two_builds):
    current = up(ecr_after_two_builds)
    pinned(ecr_after_two_builds, GOOD)
    again = up(ecr_after_two_builds)
    assert deployed_image(again) == deployed_image(current)
    assert again.of_type(IMAGE) == []  # the repository holds the commit's tag: nothing to build


def test_a_digest_the_stacks_repository_does_not_hold_stops_the_program_before_any_resource(ecr_after_two_builds):
    with pytest.raises(harness.ProgramFailed) as failed:
        pinned(ecr_after_two_builds, OTHER)
    message = str(failed.value)
    assert KEY in message and OTHER in message and "holds no image with that digest" in message
    assert [r.type for r in failed.value.registrations if r.type != "pulumi:pulumi:Stack"] == []


def test_a_pinned_digest_on_a_stack_without_a_repository_yet_is_refused_before_any_resource():
    with pytest.raises(harness.ProgramFailed) as failed:
        pinned(FakeEcr(), GOOD)
    assert "does not exist yet" in str(failed.value) and KEY in str(failed.value)
    assert [r.type for r in failed.value.registrations if r.type != "pulumi:pulumi:Stack"] == []


@pytest.mark.parametrize("digest", [
    "sha256:" + "a" * 63, "sha256:" + "a" * 65, "sha256:" + "A" * 64, "sha512:" + "a" * 64, "a" * 64,
    "latest", "0123456789abcdef", f"repo@sha256:{'a' * 64}", "sha256:" + "g" * 64, "sha256:",
])
def test_a_digest_that_is_not_sha256_and_64_lowercase_hex_is_refused_naming_key_value_and_form(digest):
    ecr = FakeEcr()
    with pytest.raises(harness.ProgramFailed) as failed:
        pinned(ecr, digest)
    message = str(failed.value)
    assert KEY in message and repr(digest) in message and "sha256: and 64 lowercase hex digits" in message
    assert [r.type for r in failed.value.registrations if r.type != "pulumi:pulumi:Stack"] == []


@pytest.mark.parametrize("digest", [f" sha256:{'a' * 64}", f"sha256:{'a' * 64}\n", f"sha256:{'a' * 64}\u200b"])
def test_a_digest_with_spaces_or_invisible_characters_is_refused_before_any_resource(digest):
    with pytest.raises(harness.ProgramFailed) as failed:
        pinned(FakeEcr(), digest)
    assert f"{KEY} = {digest!r}: " in str(failed.value)
    assert [r.type for r in failed.value.registrations if r.type != "pulumi:pulumi:Stack"] == []


def test_an_empty_digest_builds_app_as_before():
    ecr = FakeEcr()
    evaluation = pinned(ecr, "")
    assert len(evaluation.of_type(IMAGE)) == 1
