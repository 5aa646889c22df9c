"""The image step through its real lifecycle: previews and ups from several checkouts, changes,
reverts, and ECR's lifecycle policy expiring tags.

ECR (IMMUTABLE tags) refuses a push under a tag it holds, and pulumi-docker 4.x pushes on every
Create or Update of a `docker.Image`. So at each step the question is: would the engine create or
update a `docker.Image` whose tag ECR already holds? Each test runs the real program under mocks
with an ECR fake that answers the program's two invokes as AWS does, and records what each `up`
pushed, as the docker provider would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from components.image import content_tag, sent_files
from ops.offline import harness
from ops.offline.fakes import ACCOUNT, INVOKE_FAKES, REGION, RESOURCE_FAKES
from tests.support.types import DEPLOYMENT, GET_IMAGES, GET_REPOSITORIES, IMAGE

STACK = "dev"


class FakeEcr:
    """ECR as the program's invokes see it. Shapes follow pulumi-aws's GetRepositoriesResult and
    GetImagesResult; listing the images of a repository that does not exist fails, as ECR's
    ListImages does (RepositoryNotFoundException)."""

    def __init__(self) -> None:
        self.repositories: dict[str, dict[str, str]] = {}  # name -> {tag: digest}
        self.state: dict[str, dict] = {}  # the stack's docker.Image records: URN -> checked inputs

    def get_repositories(self, args: dict) -> dict:
        return {"id": REGION, "names": sorted(self.repositories), "region": REGION}

    def get_images(self, args: dict) -> dict:
        name = args["repositoryName"]
        if name not in self.repositories:
            raise Exception(
                f"reading ECR Images ({name}): RepositoryNotFoundException: The repository with name "
                f"'{name}' does not exist in the registry with id '{ACCOUNT}'"
            )
        return {
            "imageIds": [{"imageDigest": digest, "imageTag": tag} for tag, digest in self.repositories[name].items()],
            "region": REGION, "registryId": ACCOUNT, "repositoryName": name,
        }

    def invoke_fakes(self) -> dict:
        return {**INVOKE_FAKES, GET_REPOSITORIES: self.get_repositories, GET_IMAGES: self.get_images}

    def record_up(self, evaluation: harness.Evaluation, project_dir: Path) -> None:
        """What the `up` left in ECR: the repository, and whatever its docker.Image pushed. The
        engine pushes only on Create or Update: when the provider's Diff finds every checked input
        (its Check adds build.contextDigest) equal to the stack's record, nothing is pushed."""
        repository = evaluation.one("aws:ecr/repository:Repository").inputs["name"]
        images = self.repositories.setdefault(repository, {})
        declared = {}
        for image in evaluation.of_type(IMAGE):
            checked = {**image.inputs, "contextDigest": provider_context_digest(project_dir, image.inputs["build"])}
            declared[image.urn] = checked
            if self.state.get(image.urn) == checked:
                continue
            tag = image.inputs["imageName"].rsplit(":", 1)[1]
            assert tag not in images, f"ECR refuses the push: tag {tag} is immutable and already held"
            images[tag] = image.outputs["repoDigest"].split("@", 1)[1]
        self.state = declared

    def expire(self, tag: str) -> None:
        for images in self.repositories.values():
            images.pop(tag, None)


def evaluate(ecr: FakeEcr, project_dir: Path = harness.PROJECT_DIR, preview: bool = False) -> harness.Evaluation:
    values = harness.stack_file_config(STACK, project_dir)
    return harness.evaluate(
        STACK, values, RESOURCE_FAKES, ecr.invoke_fakes(), preview=preview, project_dir=project_dir
    )


def provider_context_digest(project_dir: Path, build: dict) -> str:
    """pulumi-docker's Check: hashContext over the Dockerfile and the files sent, modes included,
    with paths resolved from the provider's working directory (the project directory)."""
    context = Path(project_dir, build["context"])
    digest = hashlib.sha256(Path(project_dir, build["dockerfile"]).read_bytes())
    for relative in sent_files(context):
        path = context / relative
        digest.update(f"{relative}{stat.filemode(path.stat().st_mode)}".encode() + path.read_bytes())
    return digest.hexdigest()


def up(ecr: FakeEcr, project_dir: Path = harness.PROJECT_DIR) -> harness.Evaluation:
    evaluation = evaluate(ecr, project_dir)
    ecr.record_up(evaluation, project_dir)
    return evaluation


def deployed_image(evaluation: harness.Evaluation) -> str:
    [container] = evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]["containers"]
    return container["image"]


def changes(before: harness.Evaluation, after: harness.Evaluation) -> set[str]:
    """What the engine would change between two runs, resource by resource (by URN, by inputs)."""
    old = {r.urn: r for r in before.registrations}
    new = {r.urn: r for r in after.registrations}
    found = {f"delete {old[urn].type} {old[urn].name}" for urn in old.keys() - new.keys()}
    found |= {f"create {new[urn].type} {new[urn].name}" for urn in new.keys() - old.keys()}
    found |= {
        f"update {new[urn].type} {new[urn].name}"
        for urn in old.keys() & new.keys() if old[urn].inputs != new[urn].inputs
    }
    return found


def checkout(tmp_path: Path, name: str, umask: int = 0o022) -> Path:
    """Another clone of the same commit: the tracked files, at another path, under another umask."""
    # Tracked files and new ones not yet committed (not ignored ones): the working tree's commit.
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=harness.PROJECT_DIR, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    root = tmp_path / name
    for relative in filter(None, tracked):
        source, target = harness.PROJECT_DIR / relative, root / relative
        if not source.is_file():
            continue  # deleted in the working tree but not yet in the index
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        executable = os.stat(source).st_mode & 0o100
        target.chmod((0o777 if executable else 0o666) & ~umask)
    return root


@pytest.fixture
def ecr() -> FakeEcr:
    return FakeEcr()


def app_tag(project_dir: Path = harness.PROJECT_DIR) -> str:
    platform = harness.effective_config(harness.stack_file_config(STACK))[f"{harness.PROJECT}:imagePlatform"]
    return content_tag(project_dir / "app", platform)


def test_a_new_stacks_first_preview_asks_for_no_images_of_the_repository_it_has_not_created(ecr):
    preview = evaluate(ecr, preview=True)
    invoked = [call.token for call in preview.invokes]
    assert GET_REPOSITORIES in invoked and GET_IMAGES not in invoked
    assert preview.one(IMAGE).inputs["buildOnPreview"] is True


def test_the_first_up_builds_and_pushes_the_content_tag_and_deploys_what_it_pushed(ecr):
    first = up(ecr)
    image = first.one(IMAGE)
    assert image.inputs["imageName"].endswith(":" + app_tag())
    assert deployed_image(first) == image.outputs["repoDigest"]


def test_a_second_up_of_the_same_checkout_builds_nothing_and_deploys_the_same_digest(ecr):
    first = up(ecr)
    second = up(ecr)
    assert second.of_type(IMAGE) == []
    assert deployed_image(second) == deployed_image(first)


def test_a_second_up_changes_nothing_but_dropping_the_finished_builds_record(ecr):
    # The one step pulumi-docker 4.x cannot make a perfect no-op: declaring the docker.Image again
    # cannot be told apart from a revert, which would push a held tag. Its Delete is a no-op.
    first = up(ecr)
    assert changes(first, up(ecr)) == {f"delete {IMAGE} image-image"}


def test_a_second_up_from_another_checkout_with_another_umask_builds_nothing(ecr, tmp_path):
    first = up(ecr)
    other = checkout(tmp_path, "other-clone", umask=0o002)
    assert app_tag(other) == app_tag()
    second = up(ecr, other)
    assert second.of_type(IMAGE) == []
    assert deployed_image(second) == deployed_image(first)
    assert changes(first, second) == {f"delete {IMAGE} image-image"}


def test_every_up_after_that_changes_nothing_from_any_checkout(ecr, tmp_path):
    up(ecr)
    second = up(ecr)
    assert changes(second, up(ecr)) == set()
    assert changes(second, up(ecr, checkout(tmp_path, "other-clone", umask=0o002))) == set()


def test_a_dockerfile_only_change_builds_and_pushes_a_tag_ecr_does_not_hold(ecr, tmp_path):
    first = up(ecr)
    changed = checkout(tmp_path, "changed")
    dockerfile = changed / "app" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "LABEL org.opencontainers.image.title=backend\n")
    second = up(ecr, changed)  # FakeEcr refuses a push under a held tag
    [image] = second.of_type(IMAGE)
    assert image.inputs["imageName"].endswith(":" + app_tag(changed))
    assert deployed_image(second) == image.outputs["repoDigest"] != deployed_image(first)


def test_a_revert_to_a_tag_ecr_still_holds_deploys_the_held_digest_without_building(ecr, tmp_path):
    first = up(ecr)
    changed = checkout(tmp_path, "changed")
    (changed / "app" / "backend" / "extra.py").write_text("VALUE = 1\n")
    up(ecr, changed)
    reverted = up(ecr, checkout(tmp_path, "reverted"))
    assert reverted.of_type(IMAGE) == []
    assert deployed_image(reverted) == deployed_image(first)


def test_a_revert_to_a_tag_the_lifecycle_policy_expired_builds_and_pushes_it_again(ecr, tmp_path):
    first = up(ecr)
    changed = checkout(tmp_path, "changed")
    (changed / "app" / "backend" / "extra.py").write_text("VALUE = 1\n")
    up(ecr, changed)
    ecr.expire(app_tag())
    reverted = up(ecr, checkout(tmp_path, "reverted"))
    [image] = reverted.of_type(IMAGE)
    assert image.inputs["imageName"] == first.one(IMAGE).inputs["imageName"]
    assert deployed_image(reverted) == image.outputs["repoDigest"]


def test_a_changed_image_is_built_during_the_pull_requests_preview(ecr, tmp_path):
    up(ecr)
    changed = checkout(tmp_path, "changed")
    (changed / "app" / "backend" / "extra.py").write_text("VALUE = 1\n")
    preview = evaluate(ecr, changed, preview=True)
    assert preview.one(IMAGE).inputs["buildOnPreview"] is True


def test_the_build_paths_in_state_are_the_same_from_every_checkout(ecr, tmp_path):
    # Relative to the project directory (the CLI's and the provider's working directory).
    here = evaluate(ecr).one(IMAGE).inputs["build"]
    there = evaluate(ecr, checkout(tmp_path, "other-clone")).one(IMAGE).inputs["build"]
    assert here == there
    assert (here["context"], here["dockerfile"]) == ("app", "app/Dockerfile")
