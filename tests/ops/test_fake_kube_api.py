"""The fake API server itself: what it serves must be what a real API server could send."""

from __future__ import annotations

import json
import urllib.request

import kubernetes_validate
import pytest

from tests.ops.cluster_state import Scenario
from tests.ops.fake_kube_api import FakeKubeApi

KUBERNETES_VERSION = "1.33"  # the EKS version the stack deploys by default
SCENARIOS = {
    "healthy": Scenario(),
    "rolling": Scenario(rollout_pending_reads=None),
    "stuck": Scenario(rollout_pending_reads=None, progress_deadline_exceeded=True),
    "crashloop": Scenario(waiting_reason="CrashLoopBackOff", waiting_message="back-off 5m0s"),
    "image-pull": Scenario(waiting_reason="ImagePullBackOff"),
    "node-down": Scenario(node_ready=["Unknown"]),
}
PATHS = (
    "/api/v1/nodes",
    "/apis/apps/v1/namespaces/backend/deployments/backend",
    "/api/v1/namespaces/backend/pods",
    "/api/v1/namespaces/backend/events",
    "/api/v1/namespaces/backend/services/backend",
)


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_served_object_passes_the_official_schema_strictly(scenario):
    with FakeKubeApi(scenario) as api:
        documents = [fetch(api.url + path) for path in PATHS]

    for document in documents:
        # strict: unknown or misspelled fields fail too, not only missing required ones
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_times_are_rfc3339_utc_as_the_api_writes_them():
    with FakeKubeApi() as api:
        events = fetch(api.url + "/api/v1/namespaces/backend/events")

    assert events["items"][0]["lastTimestamp"] == "2026-11-27T10:00:04Z"
