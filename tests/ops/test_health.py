"""Rules `verify` applies to API objects that the fake cluster scenarios do not reach."""

from __future__ import annotations

import pytest
from kubernetes import client

from ops import health
from ops.cluster import ClusterError, selector_string


def deployment(containers, generation=2, observed=2):
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="backend", generation=generation),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": "backend"}),
            template=client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=containers)),
        ),
        status=client.V1DeploymentStatus(
            observed_generation=observed, replicas=1, updated_replicas=1, ready_replicas=1, available_replicas=1
        ),
    )


def test_selector_expressions_become_set_based_label_selectors():
    selector = client.V1LabelSelector(
        match_labels={"app": "backend"},
        match_expressions=[
            client.V1LabelSelectorRequirement(key="tier", operator="In", values=["web", "api"]),
            client.V1LabelSelectorRequirement(key="canary", operator="DoesNotExist"),
        ],
    )

    assert selector_string(selector) == "app=backend,tier in (web,api),!canary"


def test_an_empty_selector_is_refused_rather_than_listing_every_pod():
    with pytest.raises(ClusterError, match="spec.selector is empty"):
        selector_string(client.V1LabelSelector())


def test_a_rollout_not_yet_observed_by_the_controller_is_not_complete():
    state = health.rollout(deployment([client.V1Container(name="a", image="x")], generation=3, observed=2))

    assert not state.complete
    assert state.describe() == "waiting for the controller to observe the new spec"


def test_sidecars_from_other_repositories_are_not_judged_by_digest():
    repo = "localhost:5000/backend"
    app = client.V1Container(name="app", image=f"{repo}@sha256:{'a' * 64}")
    sidecar = client.V1Container(name="proxy", image="public.ecr.aws/envoy:v1.30")

    assert health.app_containers(deployment([app, sidecar]), repo) == [app]


def test_a_deployment_with_no_container_from_the_stack_repository_fails():
    other = client.V1Container(name="app", image="docker.io/library/nginx:1.27")

    failures = health.digest_failures(deployment([other]), [], "localhost:5000/backend", "sha256:" + "a" * 64)

    assert failures == [
        "deployment backend runs no image from localhost:5000/backend (images: docker.io/library/nginx:1.27)"
    ]


@pytest.mark.parametrize(
    "image_id",
    [f"docker-pullable://repo@sha256:{'c' * 64}", f"repo@sha256:{'c' * 64}"],
)
def test_digests_are_read_from_either_image_id_form(image_id):
    assert health.digest_of(image_id) == "sha256:" + "c" * 64
