"""What `verify` asks last: are the stack's metrics and logs arriving, and is any alarm or alert firing.

CloudWatch is read with the aws CLI, as the front door's health is (ops/front_door.py): the
alarms' states (`describe-alarms`), Container Insights' metrics reported for the stack's namespace
in the last three hours (`list-metrics --recently-active PT3H`, the one window ListMetrics has), and
the backend's newest lines in the application log group (`filter-log-events`). AMP has no CLI command
that queries, so its Prometheus API is asked over HTTPS, signed with SigV4 for `aps` with the
caller's own credentials as the CLI resolves them (`aws configure export-credentials`): whether a
backend target answered the scraper (`up == 1`) and which alerts are firing (`api/v1/alerts`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlparse

import requests
from requests_aws4auth import AWS4Auth

from ops.catalog import CallFailed, aws_json

# Logs older than this are not "arriving": the backend writes a line for every health check.
LOG_FRESHNESS_SECONDS = 15 * 60
# Reported every minute for every namespace with running pods (Container Insights metrics reference).
PODS_METRIC = "namespace_number_of_running_pods"
FIRING = "ALARM"


class ObservabilityError(RuntimeError):
    """AMP could not be asked: no credentials to sign with, or no answer it would give."""


@dataclass(frozen=True)
class Sources:
    """What the stack exports about where its signals go; None/empty where it collects none."""
    region: str
    cluster_name: str
    namespace: str
    alarm_names: tuple[str, ...] = ()
    application_log_group: str | None = None
    prometheus_endpoint: str | None = None
    scrape_job: str | None = None


@dataclass
class Findings:
    lines: list[str] = field(default_factory=list)
    """What was seen, one line each, good or bad."""
    problems: list[str] = field(default_factory=list)
    """Each a reason the stack is not healthy: an alarm or alert firing, a signal not arriving."""
    unreachable: list[str] = field(default_factory=list)
    """Each a source that could not be asked."""

    def seen(self, line: str) -> None:
        self.lines.append(line)

    def problem(self, line: str) -> None:
        self.lines.append(line)
        self.problems.append(line)

    def not_asked(self, line: str) -> None:
        self.lines.append(line)
        self.unreachable.append(line)


AwsCli = Callable[[list[str], str, float], Any]
"""(arguments after `aws`, region, timeout) -> the JSON it printed; CallFailed otherwise."""


def check(sources: Sources, timeout: float = 15.0, aws: AwsCli = aws_json,
          http: requests.Session | None = None, now: Callable[[], float] = time.time) -> Findings:
    findings = Findings()
    steps = []
    if sources.alarm_names:
        steps.append(lambda: _alarms(sources, findings, aws, timeout))
    group, endpoint, job = sources.application_log_group, sources.prometheus_endpoint, sources.scrape_job
    if group:
        steps.append(lambda: _container_insights(sources, findings, aws, timeout))
        steps.append(lambda: _logs(sources, group, findings, aws, timeout, now()))
    if endpoint and job:
        steps.append(lambda: _prometheus(sources, endpoint, job, findings, aws, timeout, http or requests.Session()))
    for step in steps:
        try:
            step()
        except (ObservabilityError, CallFailed) as error:
            findings.not_asked(str(error))
    return findings


def _alarms(sources: Sources, findings: Findings, aws: AwsCli, timeout: float) -> None:
    answer = aws(["cloudwatch", "describe-alarms", "--alarm-names", *sources.alarm_names], sources.region, timeout)
    states = {alarm.get("AlarmName"): alarm for alarm in _list(answer, "MetricAlarms")}
    for name in sources.alarm_names:
        alarm = states.get(name)
        if alarm is None:
            findings.problem(f"alarm {name}: CloudWatch does not know it (deleted outside the stack?)")
        elif alarm.get("StateValue") == FIRING:
            findings.problem(f"alarm {name} is firing: {alarm.get('StateReason') or 'no reason given'}")
        else:
            findings.seen(f"alarm {name}: {alarm.get('StateValue')}")


def _container_insights(sources: Sources, findings: Findings, aws: AwsCli, timeout: float) -> None:
    answer = aws(["cloudwatch", "list-metrics", "--namespace", "ContainerInsights", "--metric-name", PODS_METRIC,
                  "--dimensions", f"Name=ClusterName,Value={sources.cluster_name}",
                  f"Name=Namespace,Value={sources.namespace}", "--recently-active", "PT3H"],
                 sources.region, timeout)
    if _list(answer, "Metrics"):
        findings.seen(f"Container Insights: {PODS_METRIC} reported for namespace {sources.namespace}")
    else:
        findings.problem(f"Container Insights: no {PODS_METRIC} for namespace {sources.namespace} in the last "
                         "3 h: the amazon-cloudwatch-observability add-on's agent is not reporting "
                         f"(aws eks describe-addon --cluster-name {sources.cluster_name} "
                         "--addon-name amazon-cloudwatch-observability)")


def _logs(sources: Sources, group: str, findings: Findings, aws: AwsCli, timeout: float, now: float) -> None:
    # Not describe-log-streams' lastEventTimestamp: CloudWatch updates it eventually, up to an hour late.
    since = int((now - LOG_FRESHNESS_SECONDS) * 1000)
    answer = aws(["logs", "filter-log-events", "--log-group-name", group, "--start-time", str(since),
                  "--filter-pattern", f'{{ $.kubernetes.namespace_name = "{sources.namespace}" }}',
                  "--max-items", "1"], sources.region, timeout)
    if _list(answer, "events"):
        findings.seen(f"logs: {group} holds namespace {sources.namespace}'s lines of the last "
                      f"{LOG_FRESHNESS_SECONDS // 60} min")
    else:
        findings.problem(f"logs: no line of namespace {sources.namespace} in {group} in the last "
                         f"{LOG_FRESHNESS_SECONDS // 60} min; Fluent Bit is not shipping the backend's logs")


def _prometheus(sources: Sources, endpoint: str, job: str, findings: Findings, aws: AwsCli, timeout: float,
                http: requests.Session) -> None:
    credentials = aws(["configure", "export-credentials", "--format", "process"], sources.region, timeout)
    if not isinstance(credentials, dict) or not credentials.get("AccessKeyId") or not credentials.get("SecretAccessKey"):
        raise ObservabilityError("`aws configure export-credentials` gave no credentials to sign AMP's queries with")
    auth = AWS4Auth(credentials["AccessKeyId"], credentials["SecretAccessKey"], sources.region, "aps",
                    session_token=credentials.get("SessionToken"))
    endpoint = endpoint.rstrip("/") + "/"
    up = _prometheus_get(http, auth, endpoint + "api/v1/query", {"query": f'up{{job="{job}"}}'}, timeout)
    answering = sorted(sample.get("metric", {}).get("pod", "?") for sample in _list(up, "result")
                       if isinstance(sample, dict) and (sample.get("value") or [None, None])[1] == "1")
    if answering:
        findings.seen(f"metrics: job {job} scraped from {', '.join(answering)}")
    else:
        findings.problem(f"metrics: no pod of job {job} answers the scraper (no up == 1 in the workspace)")
    alerts = _prometheus_get(http, auth, endpoint + "api/v1/alerts", {}, timeout)
    firing = sorted({alert.get("labels", {}).get("alertname", "?") for alert in _list(alerts, "alerts")
                     if isinstance(alert, dict) and alert.get("state") == "firing"})
    for name in firing:
        findings.problem(f"alert {name} is firing in the workspace")
    if not firing:
        findings.seen("alerts: none firing in the workspace")


def _prometheus_get(http: requests.Session, auth: AWS4Auth, url: str, params: dict, timeout: float) -> Any:
    # The Host header as sent, port included: requests-aws4auth otherwise signs the host without
    # its port, which AWS refuses wherever the endpoint is not on 443.
    try:
        response = http.get(url, params=params, auth=auth, timeout=timeout, headers={"Host": urlparse(url).netloc})
    except requests.RequestException as error:
        raise ObservabilityError(f"AMP {url}: {error}") from None
    if response.status_code != 200:
        raise ObservabilityError(f"AMP {url} answered {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError:
        raise ObservabilityError(f"AMP {url} answered no JSON: {response.text[:200]!r}") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ObservabilityError(f"AMP {url} did not answer success: {str(body)[:200]}")
    return body.get("data")


def _list(answer: Any, key: str) -> list:
    value = answer.get(key) if isinstance(answer, dict) else None
    return value if isinstance(value, list) else []
