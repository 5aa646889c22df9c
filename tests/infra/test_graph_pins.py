"""Facts about the program the mutation run over components/ found no test pinning.

Each test here was written for a mutant of components/ that the rest of the suite let survive
(mutmut 3.8.1, sampled; the run and its verdicts are in the issue 11 note). Each names the
behaviour it pins, so the change a real bug could make fails a test that says what broke.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pulumi
import pytest

from components.image import content_tag, sent_files
from ops.offline import harness
from ops.offline.fakes import ACCOUNT, INVOKE_FAKES, REGION, RESOURCE_FAKES
from ops.offline.stacks import evaluate_stack
from tests.support.types import GET_IMAGES, GET_REPOSITORIES

HELD_DIGEST = "sha256:" + "ab" * 32
PREFIX = "backend-on-eks:"


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "backend").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return tmp_path


def test_a_question_mark_in_a_dockerignore_pattern_stands_for_exactly_one_character(context):
    # docker (Go filepath.Match rules): `?` is one character other than `/`, never "optional".
    (context / ".dockerignore").write_text("backend/a?p.py\n")
    for name in ("app.py", "ap.py", "aapp.py"):
        (context / "backend" / name).write_text("print('x')\n")
    assert [f for f in sent_files(context) if f.startswith("backend/")] == ["backend/aapp.py", "backend/ap.py"]


def test_without_a_dockerignore_docker_sends_every_file_of_the_context(context):
    # A .dockerignore is optional to docker: none means nothing is excluded, not a failed build.
    (context / "backend" / "app.py").write_text("print('x')\n")
    assert sent_files(context) == ["Dockerfile", "backend/app.py"]


def test_an_up_that_finds_its_tag_held_tells_the_user_which_digest_it_deploys(dev, caplog):
    # Such an up declares no docker.Image and the engine shows the old build's record deleted:
    # this line is what tells the person running it that nothing was built and what runs.
    repository = dev.one("aws:ecr/repository:Repository").inputs["name"]
    tag = content_tag(harness.PROJECT_DIR / "app", dev.config[f"{harness.PROJECT}:imagePlatform"])
    invoke_fakes = {
        **INVOKE_FAKES,
        GET_REPOSITORIES: lambda args: {"id": REGION, "names": [repository], "region": REGION},
        GET_IMAGES: lambda args: {
            "imageIds": [{"imageDigest": HELD_DIGEST, "imageTag": tag}],
            "region": REGION, "registryId": ACCOUNT, "repositoryName": repository,
        },
    }
    with caplog.at_level(logging.INFO):
        harness.evaluate("dev", harness.stack_file_config("dev"), RESOURCE_FAKES, invoke_fakes)
    assert f"ECR already holds tag {tag}: deploying {HELD_DIGEST}, nothing to build" in caplog.messages


def declared_outputs(component: pulumi.ComponentResource) -> set[str]:
    """The `pulumi.Output` attributes the component's class declares. components/ postpones
    annotations, so each annotation is the source text of its hint."""
    return {name for name, hint in vars(type(component)).get("__annotations__", {}).items() if "pulumi.Output[" in hint}


def test_every_component_records_each_output_it_declares_in_state_under_its_own_name(monkeypatch):
    # register_outputs is what the engine stores for a component (stack export, the console): an
    # output registered under another name, or not at all, is lost to everyone reading the state.
    registered: dict[str, tuple[pulumi.ComponentResource, dict]] = {}
    register_outputs = pulumi.ComponentResource.register_outputs

    def recording(self, outputs):
        if type(self).__module__.startswith("components."):
            registered[type(self).__name__] = (self, dict(outputs))
        return register_outputs(self, outputs)

    monkeypatch.setattr(pulumi.ComponentResource, "register_outputs", recording)
    harness.evaluate("dev", harness.stack_file_config("dev"), RESOURCE_FAKES, dict(INVOKE_FAKES))
    assert {"Network", "Cluster", "Registry", "Image", "Workload", "NodePortAccess"} <= set(registered)
    for name, (component, outputs) in registered.items():
        for attribute in declared_outputs(component):
            assert attribute in outputs, f"{name}.{attribute} is not registered: {sorted(outputs)}"
            assert outputs[attribute] is getattr(component, attribute), f"{name}.{attribute}"


def test_the_secret_holding_secret_backend_values_is_an_opaque_secret():
    # "Opaque" (Kubernetes' SecretTypeOpaque, case-sensitive) is the type for arbitrary values; any
    # other string is a custom type to the API server, and a Secret's type never changes in place.
    evaluation = evaluate_stack(
        "dev", {PREFIX + "upstreamUrl": "https://u:p@example.com/search"}, secret_keys=[PREFIX + "upstreamUrl"],
    )
    assert evaluation.one("kubernetes:core/v1:Secret").inputs["type"] == "Opaque"
