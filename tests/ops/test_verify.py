"""`verify` against a fake Kubernetes API: the healthy report, then one test per failure kind."""

from __future__ import annotations

import json
import socket
import time

import pytest

from ops import EXIT_UNHEALTHY, EXIT_UNREACHABLE, EXIT_WRONG_ANSWERS
from tests.ops.cluster_state import OTHER_DIGEST, STACK_DIGEST
from tests.ops.conftest import stack_outputs

PROXY = "/api/v1/namespaces/backend/services/backend:80/proxy"


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- healthy deployment ------------------------------------------------------------------------


def test_healthy_stack_exits_zero_with_every_section_printed(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api))

    assert result.code == 0, result.out
    for section in ("NODES", "ROLLOUT deployment/backend", "PODS", "EVENTS", "IMAGE", "HTTP via"):
        assert section in result.out
    assert "RESULT: OK, every check passed" in result.out


def test_rollout_row_shows_desired_updated_ready_and_available(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api))

    rollout = result.out.split("ROLLOUT deployment/backend\n", 1)[1].splitlines()
    assert rollout[0].split() == ["DESIRED", "UPDATED", "READY", "AVAILABLE", "STATUS"]
    assert rollout[1].split() == ["2", "2", "2", "2", "complete"]


def test_each_pod_is_listed_with_node_ip_phase_and_restarts(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api))

    rows = [line.split() for line in result.out.splitlines() if line.startswith("backend-7d9c-")]
    assert [
        "backend-7d9c-00000",
        "ip-10-0-1-10.us-west-2.compute.internal",
        "10.0.1.100",
        "Running",
        "0",
        "Ready",
    ] in rows


def test_pods_are_found_with_the_deployments_own_selector(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api))

    # The fake also runs a crashing `app=backend` canary that the selector does not match.
    assert "canary" not in result.out
    pod_queries = [r for r in kube_api.requests if r.startswith("/api/v1/namespaces/backend/pods?")]
    assert pod_queries and all("labelSelector=app.kubernetes.io/name%3Dbackend" in q for q in pod_queries)


def test_latest_events_of_each_pod_are_shown_newest_last(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api), "--events", "2")

    events = [line.split()[4] for line in result.out.splitlines() if line.startswith("backend-7d9c-00001  20")]
    assert events == ["Created", "Started"]


def test_events_are_read_per_pod_with_a_field_selector(kube_api, run_verify):
    run_verify(stack_outputs(kube_api))

    event_queries = [r for r in kube_api.requests if "/events?" in r]
    assert any("involvedObject.name%3Dbackend-7d9c-00001" in q for q in event_queries)
    assert all("involvedObject.kind%3DPod" in q for q in event_queries)


def test_without_service_url_http_checks_go_through_the_service_proxy(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api))

    assert result.code == 0
    assert f"{PROXY}/readyz" in kube_api.paths()
    assert f"{PROXY}/contents/python" in kube_api.paths()
    assert "HTTP via API server proxy to service backend/backend:80" in result.out


def test_with_service_url_http_checks_call_it_directly(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api, serviceUrl=kube_api.url, portForwardCommand=None))

    assert result.code == 0
    assert "/readyz" in kube_api.paths() and "/contents/python" in kube_api.paths()
    assert not any("/proxy/" in path for path in kube_api.paths())
    assert f"HTTP via {kube_api.url}" in result.out


def test_topic_option_selects_the_contents_path(kube_api, run_verify):
    run_verify(stack_outputs(kube_api), "--topic", "kubernetes")

    assert f"{PROXY}/contents/kubernetes" in kube_api.paths()


def test_a_rollout_in_progress_is_waited_for_with_progress_on_stderr(kube_api, run_verify):
    kube_api.scenario.rollout_pending_reads = 3

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 0, result.out
    assert "rollout of deployment/backend: 1/2 updated, 2/2 ready" in result.err
    assert "rollout of deployment/backend: complete after" in result.err
    assert "rollout" not in result.out.split("RESULT")[1]


def test_an_old_pod_still_terminating_is_shown_but_not_judged(kube_api, run_verify):
    kube_api.scenario.terminating_old_pod = True

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 0, result.out
    old_row = next(line for line in result.out.splitlines() if line.startswith("backend-5f6b-00000"))
    assert old_row.split()[-1] == "Terminating"


def test_kubeconfig_comes_from_the_stack_not_the_environment(kube_api, run_verify, tmp_path, monkeypatch):
    ambient = dict(kube_api.kubeconfig())
    ambient["clusters"] = [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}}]
    (tmp_path / "ambient").write_text(json.dumps(ambient))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "ambient"))
    monkeypatch.setenv("HOME", str(tmp_path))

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 0, result.out


def test_kubeconfig_credentials_are_never_printed(kube_api, run_verify):
    kubeconfig = kube_api.kubeconfig()
    kubeconfig["users"] = [{"name": "fake", "user": {"token": "s3cr3t-bearer-token"}}]
    kube_api.scenario.readyz_status = 503  # a failing run prints the most

    result = run_verify(stack_outputs(kube_api, kubeconfig=json.dumps(kubeconfig)))

    assert result.code == EXIT_WRONG_ANSWERS
    assert "s3cr3t" not in result.out + result.err


# --- failures: each exits 1 with its own one-line reason ------------------------------------


def test_node_not_ready_fails_naming_the_node(kube_api, run_verify):
    kube_api.scenario.node_ready = ["True", "Unknown"]
    kube_api.scenario.node_ready_message = "Kubelet stopped posting node status."

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 1
    assert result.failures == [
        "node ip-10-0-1-11.us-west-2.compute.internal is NotReady "
        "(Ready=Unknown: Kubelet stopped posting node status.)"
    ]


def test_no_nodes_fails(kube_api, run_verify):
    kube_api.scenario.node_ready = []

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 1
    assert "the cluster has no nodes: the node group has not joined" in result.failures


@pytest.mark.parametrize(
    "reason", ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"]
)
def test_a_container_that_cannot_start_fails_naming_pod_and_reason(kube_api, run_verify, reason):
    kube_api.scenario.waiting_reason = reason
    kube_api.scenario.waiting_message = "details from the kubelet"

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 1
    assert (
        f"pod backend-7d9c-00000 container backend is in {reason}: details from the kubelet"
        in result.failures
    )


def test_an_image_that_cannot_be_pulled_is_reported_once_not_also_as_a_digest_problem(kube_api, run_verify):
    kube_api.scenario.waiting_reason = "ImagePullBackOff"

    result = run_verify(stack_outputs(kube_api))

    assert result.failures == ["pod backend-7d9c-00000 container backend is in ImagePullBackOff"]


def test_a_container_that_cannot_start_stops_the_wait_before_the_timeout(kube_api, run_verify):
    kube_api.scenario.waiting_reason = "CrashLoopBackOff"

    started = time.monotonic()
    result = run_verify(stack_outputs(kube_api), "--timeout", "30")

    assert time.monotonic() - started < 10
    assert "stopped: a pod cannot start" in result.out
    assert not any("did not complete" in failure for failure in result.failures)


def test_a_rollout_that_does_not_complete_in_time_fails_with_its_progress(kube_api, run_verify):
    kube_api.scenario.rollout_pending_reads = None

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 1
    assert result.failures == [
        "rollout of deployment backend did not complete within 2s "
        "(1/2 updated, 2/2 ready, 2/2 available, 2 old replica(s) pending termination)"
    ]


def test_progress_deadline_exceeded_fails_without_waiting_for_the_timeout(kube_api, run_verify):
    kube_api.scenario.rollout_pending_reads = None
    kube_api.scenario.progress_deadline_exceeded = True

    started = time.monotonic()
    result = run_verify(stack_outputs(kube_api), "--timeout", "30")

    assert time.monotonic() - started < 10
    assert result.code == 1
    assert result.failures == [
        'rollout of deployment backend is stuck: ReplicaSet "backend-7d9c" has timed out progressing.'
    ]


def test_pods_running_another_digest_fail(kube_api, run_verify):
    kube_api.scenario.running_digest = OTHER_DIGEST

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 1
    assert (
        f"pod backend-7d9c-00001 container backend runs {OTHER_DIGEST}, "
        f"not the stack's image digest {STACK_DIGEST}"
    ) in result.failures


def test_a_deployment_specifying_another_digest_fails(kube_api, run_verify):
    kube_api.scenario.deployment_digest = OTHER_DIGEST
    kube_api.scenario.running_digest = OTHER_DIGEST

    result = run_verify(stack_outputs(kube_api))

    assert result.code == 1
    assert any(
        failure.startswith("deployment backend container backend specifies ")
        and failure.endswith(f"@{OTHER_DIGEST}, not the stack's image digest {STACK_DIGEST}")
        for failure in result.failures
    ), result.failures


def test_readiness_endpoint_down_fails_with_its_status(kube_api, run_verify):
    kube_api.scenario.readyz_status = 503

    result = run_verify(stack_outputs(kube_api))

    assert result.code == EXIT_WRONG_ANSWERS
    assert result.failures == [
        "GET /readyz via API server proxy to service backend/backend:80: "
        'answered HTTP 503, expected 200: {"status": "not ready"}'
    ]


def test_contents_endpoint_error_fails(kube_api, run_verify):
    kube_api.scenario.contents_status = 502

    result = run_verify(stack_outputs(kube_api))

    assert result.code == EXIT_WRONG_ANSWERS
    assert result.failures == [
        "GET /contents/python via API server proxy to service backend/backend:80: "
        'answered HTTP 502, expected 200: {"message": "upstream search failed"}'
    ]


def test_contents_body_without_outcome_list_breaks_the_contract(kube_api, run_verify):
    kube_api.scenario.contents_body = b'{"hits": []}'

    result = run_verify(stack_outputs(kube_api))

    assert result.code == EXIT_WRONG_ANSWERS
    assert any("answered 200 but the body has no 'outcome' list" in f for f in result.failures)


def test_contents_item_missing_a_field_breaks_the_contract(kube_api, run_verify):
    kube_api.scenario.contents_body = b'{"outcome": [{"id": "1", "title": "t"}]}'

    result = run_verify(stack_outputs(kube_api))

    assert result.code == EXIT_WRONG_ANSWERS
    assert any(f.endswith("answered 200 but outcome[0] lacks url") for f in result.failures)


def test_service_url_that_does_not_answer_fails(kube_api, run_verify):
    url = f"http://127.0.0.1:{closed_port()}"

    result = run_verify(stack_outputs(kube_api, serviceUrl=url, portForwardCommand=None))

    assert result.code == EXIT_UNREACHABLE
    assert any(f.startswith(f"GET /readyz via {url}: no answer from {url}") for f in result.failures)


def test_unreachable_api_server_fails_with_the_access_hint(kube_api, run_verify):
    kubeconfig = kube_api.kubeconfig()
    kubeconfig["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{closed_port()}"

    result = run_verify(stack_outputs(kube_api, kubeconfig=json.dumps(kubeconfig)))

    assert result.code == EXIT_UNREACHABLE
    assert len(result.failures) == 1
    assert result.failures[0].startswith("cannot list nodes at http://127.0.0.1:")
    assert result.failures[0].endswith(
        "(check access with: aws eks update-kubeconfig --name backend-eks --region us-west-2)"
    )


def test_an_unreachable_api_server_with_an_exec_plugin_names_the_plugin_command(kube_api, run_verify):
    kubeconfig = kube_api.kubeconfig()
    kubeconfig["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{closed_port()}"
    # What pulumi-eks writes; `true` prints no credential, so the client carries on without a token.
    kubeconfig["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "true",
            "args": ["eks", "get-token", "--cluster-name", "backend-eks"],
        }
    }

    result = run_verify(stack_outputs(kube_api, kubeconfig=json.dumps(kubeconfig)))

    assert result.code == EXIT_UNREACHABLE
    assert "the kubeconfig gets its token by running `true eks get-token`" in result.failures[0]


def test_a_missing_deployment_fails_naming_it(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api, deploymentName="frontend"))

    assert result.code == 1
    assert result.failures[-1].startswith("cannot read deployment backend/frontend: HTTP 404")


# --- the verdict: which kind of failure, for a deploy to act on ---------------------------------


def test_a_stack_that_is_unhealthy_and_answers_wrongly_is_judged_unhealthy(kube_api, run_verify):
    # The sick pod explains the wrong answer; rolling back is about the pods.
    kube_api.scenario.waiting_reason = "CrashLoopBackOff"
    kube_api.scenario.contents_status = 502

    result = run_verify(stack_outputs(kube_api))

    assert result.code == EXIT_UNHEALTHY


def test_a_missing_deployment_is_unhealthy_not_unreachable(kube_api, run_verify):
    # The API answered 404: an object the stack declares is gone.
    result = run_verify(stack_outputs(kube_api, deploymentName="missing"))

    assert result.code == EXIT_UNHEALTHY


def test_the_json_result_gives_the_verdict_and_each_problems_kind(kube_api, run_verify, tmp_path):
    kube_api.scenario.contents_status = 502
    target = tmp_path / "verify.json"

    result = run_verify(stack_outputs(kube_api), "--json", str(target))

    document = json.loads(target.read_text())
    assert result.code == EXIT_WRONG_ANSWERS
    assert (document["ok"], document["verdict"]) == (False, "wrong answers")
    assert document["problems"] == [{"kind": "wrong answers", "message": result.failures[0]}]
    assert document["stack"]["imageRef"] == stack_outputs(kube_api)["imageRef"]
    assert "RESULT: FAILED" in result.out  # the report still goes to stdout


def test_a_passing_run_records_the_digest_each_pod_runs_in_the_json(kube_api, run_verify, tmp_path):
    target = tmp_path / "verify.json"

    assert run_verify(stack_outputs(kube_api), "--json", str(target)).code == 0

    document = json.loads(target.read_text())
    assert (document["ok"], document["verdict"], document["problems"]) == (True, "ok", [])
    assert set(document["podDigests"].values()) == {STACK_DIGEST}
    assert document["rolloutComplete"] is True


def test_json_to_stdout_sends_the_report_to_stderr(kube_api, run_verify):
    result = run_verify(stack_outputs(kube_api), "--json", "-")

    assert json.loads(result.out)["verdict"] == "ok"
    assert "RESULT: OK" in result.err


# --- observability: alarms, metrics and logs (ops/observability.py) -------------------------------


def test_a_firing_alarm_is_reported_but_does_not_fail_the_deploy(kube_api, run_verify, tmp_path, monkeypatch):
    # A rollout trips the load balancer's target alarm for a minute, and AMP's scraper needs about
    # 20 min after a first up: failing here would make the gate roll back a good image.
    from tests.ops.test_observability import Account, alarm
    account = Account(tmp_path, monkeypatch)
    account.write({"cloudwatch describe-alarms": {"MetricAlarms": [alarm("restarts", "ALARM", "Threshold Crossed")]}})
    result = run_verify({**stack_outputs(kube_api), "alarmNames": ["restarts"]})

    assert result.code == 0, result.out
    assert "OBSERVABILITY" in result.out and "alarm restarts is firing: Threshold Crossed" in result.out
    assert "RESULT: OK, every check passed" in result.out
    assert "NOTICE: 1 observability finding(s), not counted against the deploy:\n  - alarm restarts is firing" in result.out


def test_observability_findings_are_in_the_json_result(kube_api, run_verify, tmp_path, monkeypatch):
    from tests.ops.test_observability import Account, alarm
    account = Account(tmp_path, monkeypatch)
    account.write({"cloudwatch describe-alarms": {"MetricAlarms": [alarm("restarts", "ALARM", "Threshold Crossed")]}})
    result_file = tmp_path / "result.json"
    result = run_verify({**stack_outputs(kube_api), "alarmNames": ["restarts"]}, "--json", str(result_file))

    assert result.code == 0, result.out
    report = json.loads(result_file.read_text())
    assert report["ok"] and report["observations"] == ["alarm restarts is firing: Threshold Crossed"]


def test_quiet_alarms_are_shown_and_leave_no_notice(kube_api, run_verify, tmp_path, monkeypatch):
    from tests.ops.test_observability import Account, alarm
    account = Account(tmp_path, monkeypatch)
    account.write({"cloudwatch describe-alarms": {"MetricAlarms": [alarm("restarts", "OK")]}})
    result = run_verify({**stack_outputs(kube_api), "alarmNames": ["restarts"]})

    assert result.code == 0, result.out
    assert "alarm restarts: OK" in result.out and "NOTICE" not in result.out
