"""`verify`'s last step (ops/observability.py): metrics and logs arriving, alarms and alerts firing.

CloudWatch is an `aws` CLI stand-in on PATH that answers from a JSON file as the CLI prints and
fails (exit 254, the message on stderr). AMP is a real VictoriaMetrics serving the Prometheus API
under the workspace's path, scraping a real backend, with a real vmalert running the stack's own
alerting rules, behind a gate that checks SigV4 as AMP's front end does.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from components.alerting import alert_rules
from ops import observability
from tests.app.app_server import AppServer, free_port
from tests.support import fake_aws_cli
from tests.support.fake_upstream import FakeUpstream
from tests.support.sigv4_gate import SigV4Gate
from tests.support.tools import find_tool

REGION = "us-east-1"
JOB = "nextwork-flask-backend"
WORKSPACE_PATH = "/workspaces/ws-0123abcd-4567-89ef-0123-456789abcdef"
CREDENTIALS = {"Version": 1, "AccessKeyId": "ASIAEXAMPLEKEY", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
               "SessionToken": "IQoJb3JpZ2luX2VjEXAMPLETOKEN", "Expiration": "2026-12-04T12:00:00+00:00"}
NOW = 1_780_000_000.0

FAKE_AWS = r'''
import json, os, sys
state_file = os.environ["FAKE_AWS_STATE"]
state = json.load(open(state_file))
args = sys.argv[1:]
state["calls"].append(args)
json.dump(state, open(state_file, "w"))
command = " ".join(args[:2])
if command in state.get("fail", {}):
    sys.stderr.write(state["fail"][command] + "\n")
    sys.exit(254)
if command not in state["answers"]:
    sys.stderr.write("unexpected call " + " ".join(args) + "\n")
    sys.exit(2)
print(json.dumps(state["answers"][command]))
'''


class Account:
    def __init__(self, tmp_path: Path, monkeypatch) -> None:
        self.file = fake_aws_cli.install(tmp_path, monkeypatch, FAKE_AWS)
        self.write()

    def write(self, answers: dict | None = None, fail: dict | None = None) -> None:
        self.file.write_text(json.dumps({"calls": [], "answers": {"configure export-credentials": CREDENTIALS,
                                                                  **(answers or {})}, "fail": fail or {}}))

    def calls(self, command: str) -> list[list[str]]:
        return [call for call in json.loads(self.file.read_text())["calls"] if " ".join(call[:2]) == command]


@pytest.fixture
def account(tmp_path, monkeypatch):
    return Account(tmp_path, monkeypatch)


def sources(**overrides) -> observability.Sources:
    return observability.Sources(**{"region": REGION, "cluster_name": "backend-on-eks-prod", "namespace": "backend",
                                    **overrides})


def alarm(name: str, state: str, reason: str = "") -> dict:
    return {"AlarmName": name, "StateValue": state, "StateReason": reason}


# --- CloudWatch alarms ---------------------------------------------------------------------------------

def test_a_firing_alarm_is_a_problem_named_with_cloudwatchs_reason(account):
    account.write({"cloudwatch describe-alarms": {"MetricAlarms": [
        alarm("restarts", "ALARM", "Threshold Crossed: 1 datapoint [2.0] was greater than the threshold (0.0)."),
        alarm("targets", "OK")]}})
    findings = observability.check(sources(alarm_names=("restarts", "targets")))
    assert findings.problems == ["alarm restarts is firing: Threshold Crossed: 1 datapoint [2.0] was greater "
                                 "than the threshold (0.0)."]
    assert "alarm targets: OK" in findings.lines


def test_an_alarm_without_data_yet_is_reported_but_is_no_problem(account):
    account.write({"cloudwatch describe-alarms": {"MetricAlarms": [alarm("restarts", "INSUFFICIENT_DATA")]}})
    findings = observability.check(sources(alarm_names=("restarts",)))
    assert findings.problems == [] and findings.lines == ["alarm restarts: INSUFFICIENT_DATA"]


def test_an_alarm_cloudwatch_no_longer_knows_is_a_problem(account):
    account.write({"cloudwatch describe-alarms": {"MetricAlarms": []}})
    [problem] = observability.check(sources(alarm_names=("restarts",))).problems
    assert problem.startswith("alarm restarts: CloudWatch does not know it")


def test_the_alarms_are_asked_by_name_in_the_stacks_region(account):
    account.write({"cloudwatch describe-alarms": {"MetricAlarms": [alarm("a", "OK"), alarm("b", "OK")]}})
    observability.check(sources(alarm_names=("a", "b")))
    [call] = account.calls("cloudwatch describe-alarms")
    assert call == ["cloudwatch", "describe-alarms", "--alarm-names", "a", "b", "--output", "json", "--region", REGION]


def test_a_refused_cli_call_is_reported_unreachable_with_awss_words(account):
    account.write(fail={"cloudwatch describe-alarms": "An error occurred (AccessDenied) when calling the "
                                                       "DescribeAlarms operation: not authorized"})
    findings = observability.check(sources(alarm_names=("a",)))
    assert findings.problems == []
    [line] = findings.unreachable
    assert "(exit 254)" in line and "AccessDenied" in line


def test_without_the_aws_cli_it_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    [line] = observability.check(sources(alarm_names=("a",))).unreachable
    assert "`aws cloudwatch describe-alarms --alarm-names a`: no `aws` CLI on PATH" in line


def test_a_stack_that_collects_nothing_is_asked_nothing(account):
    assert observability.check(sources()).lines == []
    assert json.loads(account.file.read_text())["calls"] == []


# --- Container Insights and the logs ----------------------------------------------------------------------

def insights_answers(metrics: list, events: list) -> dict:
    return {"cloudwatch list-metrics": {"Metrics": metrics}, "logs filter-log-events": {"events": events}}


POD_METRIC = {"Namespace": "ContainerInsights", "MetricName": "namespace_number_of_running_pods",
              "Dimensions": [{"Name": "ClusterName", "Value": "backend-on-eks-prod"}, {"Name": "Namespace", "Value": "backend"}]}
GROUP = "/aws/containerinsights/backend-on-eks-prod/application"


def test_container_insights_reporting_and_lines_arriving_are_no_problem(account):
    account.write(insights_answers([POD_METRIC], [{"message": "{}", "timestamp": int(NOW * 1000)}]))
    findings = observability.check(sources(application_log_group=GROUP), now=lambda: NOW)
    assert findings.problems == [] and len(findings.lines) == 2


def test_no_container_insights_metric_in_three_hours_is_a_problem(account):
    account.write(insights_answers([], [{"message": "{}"}]))
    [problem] = observability.check(sources(application_log_group=GROUP), now=lambda: NOW).problems
    assert problem.startswith("Container Insights: no namespace_number_of_running_pods for namespace backend")


def test_container_insights_is_asked_for_the_stacks_cluster_and_namespace_recently_active(account):
    account.write(insights_answers([POD_METRIC], [{"message": "{}"}]))
    observability.check(sources(application_log_group=GROUP), now=lambda: NOW)
    [call] = account.calls("cloudwatch list-metrics")
    assert call[2:11] == ["--namespace", "ContainerInsights", "--metric-name", "namespace_number_of_running_pods",
                          "--dimensions", "Name=ClusterName,Value=backend-on-eks-prod", "Name=Namespace,Value=backend",
                          "--recently-active", "PT3H"]


def test_no_backend_line_in_fifteen_minutes_is_a_problem(account):
    account.write(insights_answers([POD_METRIC], []))
    [problem] = observability.check(sources(application_log_group=GROUP), now=lambda: NOW).problems
    assert problem == (f"logs: no line of namespace backend in {GROUP} in the last 15 min; Fluent Bit is not "
                       "shipping the backend's logs")


def test_the_logs_are_searched_for_the_namespaces_lines_of_the_last_fifteen_minutes(account):
    account.write(insights_answers([POD_METRIC], [{"message": "{}"}]))
    observability.check(sources(application_log_group=GROUP), now=lambda: NOW)
    [call] = account.calls("logs filter-log-events")
    assert call[2:10] == ["--log-group-name", GROUP, "--start-time", str(int((NOW - 900) * 1000)),
                          "--filter-pattern", '{ $.kubernetes.namespace_name = "backend" }', "--max-items", "1"]


# --- AMP: a real Prometheus API behind a SigV4 gate ------------------------------------------------------

class Workspace:
    """VictoriaMetrics under the workspace's path (scraping `targets` every second) and vmalert running
    `rules` against it, its alerts served through VictoriaMetrics as AMP serves them."""

    def __init__(self, workdir: Path, targets: list[str], rules: str) -> None:
        self.workdir, self.targets, self.rules = workdir, targets, rules
        self.port, self.alert_port = free_port(), free_port()
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> "Workspace":
        scrape = self.workdir / "scrape.yml"
        scrape.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": [
            {"job_name": JOB, "static_configs": [{"targets": self.targets, "labels": {"pod": "backend-1"}}]}]}))
        rules = self.workdir / "rules.yml"
        rules.write_text(self.rules)
        base = f"http://127.0.0.1:{self.port}{WORKSPACE_PATH}"
        commands = [
            [find_tool("victoria-metrics", ".venv"), f"-promscrape.config={scrape}",
             f"-storageDataPath={self.workdir / 'data'}", f"-httpListenAddr=127.0.0.1:{self.port}",
             f"-http.pathPrefix={WORKSPACE_PATH}", f"-vmalert.proxyURL=http://127.0.0.1:{self.alert_port}",
             "-search.latencyOffset=0s"],
            [find_tool("vmalert", ".venv"), f"-rule={rules}", f"-datasource.url={base}",
             f"-httpListenAddr=127.0.0.1:{self.alert_port}", "-evaluationInterval=1s",
             # vmalert will not start without a notifier; nothing listens there (AMP's is SNS).
             "-notifier.url=http://127.0.0.1:9/"],
        ]
        for index, command in enumerate(commands):
            with open(self.workdir / f"process-{index}.log", "wb") as log:
                self.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        return self

    def wait_for(self, path: str, done) -> dict:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = requests.get(f"http://127.0.0.1:{self.port}{WORKSPACE_PATH}{path}", timeout=2).json()
                if done(body):
                    return body
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never settled: " + (self.workdir / "process-1.log").read_text()[-2000:])
            time.sleep(0.25)

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


def evaluations(rules_answer: dict) -> dict[str, str]:
    """Each rule's last evaluation, as vmalert's rules API gives it: a new value is a new evaluation."""
    return {rule["name"]: rule["lastEvaluation"] for group in rules_answer["data"]["groups"] for rule in group["rules"]}


def stack_rules(immediate: bool) -> str:
    rules = yaml.safe_load(alert_rules(JOB, 5, 1000))
    if immediate:
        # The stack's rules wait 5-10 min before firing; the test cannot.
        for rule in rules["groups"][0]["rules"]:
            rule["for"] = "0s"
    return yaml.safe_dump(rules)


def gate_for(workspace: Workspace) -> SigV4Gate:
    return SigV4Gate(f"http://127.0.0.1:{workspace.port}", REGION, CREDENTIALS["AccessKeyId"],
                     CREDENTIALS["SecretAccessKey"], CREDENTIALS["SessionToken"])


def amp_sources(gate: SigV4Gate, **overrides) -> observability.Sources:
    return sources(prometheus_endpoint=f"{gate.url}{WORKSPACE_PATH}/", scrape_job=JOB, **overrides)


def test_a_scraped_backend_with_no_alert_firing_is_healthy(account, tmp_path):
    with FakeUpstream() as upstream, AppServer(tmp_path / "app", {"UPSTREAM_URL": upstream.url}) as backend:
        with Workspace(tmp_path, [f"127.0.0.1:{backend.admin_port}"], stack_rules(immediate=True)) as workspace:
            workspace.wait_for('/api/v1/query?query=up{job="%s"}' % JOB, lambda body: body["data"]["result"])
            # Rules evaluated before the first scrape fired BackendNotScraped: wait until every rule
            # has been evaluated again after the scrape was seen (vmalert's own evaluation times).
            seen = evaluations(workspace.wait_for("/api/v1/rules", lambda body: body["data"]["groups"]))
            workspace.wait_for("/api/v1/rules", lambda body: all(
                when != seen[rule] for rule, when in evaluations(body).items()))
            with gate_for(workspace) as gate:
                findings = observability.check(amp_sources(gate))
    assert findings.problems == [] and findings.unreachable == [], findings.lines
    assert findings.lines == [f"metrics: job {JOB} scraped from backend-1", "alerts: none firing in the workspace"]
    assert gate.refused == [] and len(gate.passed) == 2


def test_a_backend_nobody_scrapes_is_a_problem_and_its_alert_is_reported_firing(account, tmp_path):
    with Workspace(tmp_path, [f"127.0.0.1:{free_port()}"], stack_rules(immediate=True)) as workspace:
        workspace.wait_for("/api/v1/alerts", lambda body: [a for a in body["data"]["alerts"] or [] if a["state"] == "firing"])
        with gate_for(workspace) as gate:
            findings = observability.check(amp_sources(gate))
    assert findings.problems == [f"metrics: no pod of job {JOB} answers the scraper (no up == 1 in the workspace)",
                                 "alert BackendNotScraped is firing in the workspace"]


def test_queries_signed_for_another_region_get_amps_refusal(account, tmp_path):
    with Workspace(tmp_path, [], stack_rules(immediate=False)) as workspace:
        workspace.wait_for("/api/v1/query?query=vector(1)", lambda body: body["status"] == "success")
        with gate_for(workspace) as gate:
            findings = observability.check(amp_sources(gate, region="eu-west-1"))
    [line] = findings.unreachable
    assert "answered 403" in line and "Credential should be scoped to a valid region" in line
    assert gate.passed == []


def test_without_credentials_from_the_cli_nothing_is_sent_unsigned(account, tmp_path):
    account.write({"configure export-credentials": {}})
    with Workspace(tmp_path, [], stack_rules(immediate=False)) as workspace, gate_for(workspace) as gate:
        findings = observability.check(amp_sources(gate))
    assert findings.unreachable == ["`aws configure export-credentials` gave no credentials to sign AMP's queries with"]
    assert gate.passed == [] and gate.refused == []


def test_the_gate_refuses_a_request_signed_with_another_secret(tmp_path):
    # The gate's own check, so the tests above prove the signature and not just its shape.
    from requests_aws4auth import AWS4Auth
    with Workspace(tmp_path, [], stack_rules(immediate=False)) as workspace, gate_for(workspace) as gate:
        wrong = AWS4Auth(CREDENTIALS["AccessKeyId"], "another-secret", REGION, "aps",
                         session_token=CREDENTIALS["SessionToken"])
        answer = requests.get(f"{gate.url}{WORKSPACE_PATH}/api/v1/query", params={"query": "up"}, auth=wrong, timeout=5)
    assert answer.status_code == 403 and "signature we calculated does not match" in answer.text
