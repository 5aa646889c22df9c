"""Secrets stay secrets end to end: a stack value set with `pulumi config set --secret` reaches
the container through a Kubernetes Secret, is sent to the engine as a secret (so the state keeps
it encrypted), and shows in no plain property, export or rendered manifest."""

from __future__ import annotations

import json

import pytest

from ops.offline import harness
from ops.offline.manifests import REDACTED, manifests
from ops.offline.stacks import evaluate_stack
from tests.support.types import DEPLOYMENT

PREFIX = "backend-on-eks:"
SECRET_URL = "https://reader:s3cr3t-t0ken@hn.algolia.com/api/v1/search"
SECRET = "kubernetes:core/v1:Secret"


def with_secret_upstream(**kwargs) -> harness.Evaluation:
    return evaluate_stack("prod", {PREFIX + "upstreamUrl": SECRET_URL}, secret_keys=[PREFIX + "upstreamUrl"], **kwargs)


@pytest.fixture(scope="module")
def evaluation() -> harness.Evaluation:
    return with_secret_upstream()


def container_env(evaluation: harness.Evaluation) -> dict[str, dict]:
    [container] = evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]["containers"]
    return {variable["name"]: variable for variable in container["env"]}


def test_a_secret_backend_value_reaches_the_container_through_a_kubernetes_secret(evaluation):
    secret = evaluation.one(SECRET)
    assert secret.inputs["stringData"] == {"UPSTREAM_URL": SECRET_URL}
    assert container_env(evaluation)["UPSTREAM_URL"] == {
        "name": "UPSTREAM_URL",
        "valueFrom": {"secretKeyRef": {"name": secret.outputs["metadata"]["name"], "key": "UPSTREAM_URL"}},
    }


def test_the_secret_is_sent_to_the_engine_as_a_secret(evaluation):
    assert evaluation.one(SECRET).secret_inputs == {"stringData"}


def test_the_secret_value_appears_in_no_plain_property_and_no_export(evaluation):
    for registration in evaluation.registrations:
        if registration.type == SECRET:
            continue
        assert "s3cr3t-t0ken" not in json.dumps(registration.inputs), registration.name
    assert "s3cr3t-t0ken" not in json.dumps(evaluation.exports)


def test_the_rendered_manifests_redact_the_secret_and_stay_valid_objects(evaluation):
    [secret] = [manifest for manifest in manifests(evaluation) if manifest["kind"] == "Secret"]
    assert secret["stringData"] == {"UPSTREAM_URL": REDACTED}
    assert "s3cr3t-t0ken" not in json.dumps(manifests(evaluation))


def test_the_secret_is_autonamed_so_a_changed_value_rolls_the_pods(evaluation):
    # pulumi-kubernetes replaces a Secret whose data changes; only an autonamed one can get a new
    # name, which changes the pod template and rolls the Deployment.
    assert "name" not in evaluation.one(SECRET).inputs["metadata"]


def test_a_preview_wires_the_secret_the_same_way():
    preview = with_secret_upstream(preview=True)
    assert container_env(preview)["UPSTREAM_URL"]["valueFrom"]["secretKeyRef"]["key"] == "UPSTREAM_URL"
    assert "s3cr3t-t0ken" not in json.dumps(preview.one(DEPLOYMENT, "workload-deployment").inputs)


def test_the_network_policy_still_opens_the_secret_urls_port(evaluation):
    [_, upstream] = evaluation.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "workload-network-policy").inputs["spec"]["egress"]
    assert upstream == {"ports": [{"protocol": "TCP", "port": 443}]}


def test_without_secret_keys_there_is_no_secret_object(dev, prod):
    assert dev.of_type(SECRET) == [] and prod.of_type(SECRET) == []


def test_a_key_that_cannot_stay_secret_is_refused_without_showing_its_value():
    arn = "arn:aws:iam::123456789012:role/Secretive"
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_stack("prod", {PREFIX + "adminPrincipalArns": [arn]}, secret_keys=[PREFIX + "adminPrincipalArns"])
    [problem] = caught.value.cause.problems
    assert problem.startswith(f"{PREFIX}adminPrincipalArns = [secret]: ") and "Secretive" not in problem
    assert caught.value.registrations == []


def test_the_rendered_secret_passes_the_kubernetes_schema(evaluation):
    import kubernetes_validate
    [secret] = [manifest for manifest in manifests(evaluation) if manifest["kind"] == "Secret"]
    kubernetes_validate.validate(secret, evaluation.config[PREFIX + "kubernetesVersion"], strict=True)


def test_a_stack_with_a_secret_still_passes_the_policy_pack(evaluation):
    from tests.policy.adapter import violations
    assert violations(evaluation) == {}
