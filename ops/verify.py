"""Checks a deployed stack the way the tutorial checks it by hand in the EKS console.

Nodes, then the Deployment's rollout (waited for, bounded), its pods and their latest events,
the image digest they run against the one the stack built, and finally the backend over HTTP.
Every problem becomes one line in `Report.failures`; the report is printed as it is gathered so
a slow step never hides the ones before it.
"""

from __future__ import annotations

import time
from datetime import timezone
from dataclasses import dataclass, field
from typing import Callable, TextIO

from kubernetes import client

from ops import front_door, health, observability, table
from ops.cluster import Cluster, ClusterError, PodEvent, selector_string
from ops.endpoint import DirectEndpoint, Endpoint, ProxyEndpoint, check_contents, check_readiness
from ops.outputs import StackOutputs
from ops.progress import Progress


@dataclass(frozen=True)
class Options:
    timeout: float = 300.0
    poll_interval: float = 2.0
    topic: str = "python"
    events_per_pod: int = 5
    http_timeout: float = 15.0
    api_timeout: float = 15.0


UNHEALTHY = "unhealthy"
WRONG_ANSWERS = "wrong answers"
UNREACHABLE = "could not reach"
# The verdict when several kinds failed: a sick stack explains wrong or missing answers, and
# wrong answers say more than a path that did not answer.
VERDICT_ORDER = (UNHEALTHY, WRONG_ANSWERS, UNREACHABLE)


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    rollout_complete: bool = False
    # Pod name -> digest its app container runs; what the e2e test checks a rollout against.
    pod_digests: dict[str, str | None] = field(default_factory=dict)
    # What the stack's alarms, metrics and logs say (ops/observability.py): reported, never a
    # failure. A scraper AMP is still starting (about 20 minutes after a first `up`) or an alarm on
    # the load balancer's targets during the rollout would otherwise fail a good deploy, and the
    # gate would roll the image back for a fault that is not the image's.
    observations: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [problem.message for problem in self.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        """"ok", or the first kind of VERDICT_ORDER that failed."""
        kinds = {problem.kind for problem in self.problems}
        return next((kind for kind in VERDICT_ORDER if kind in kinds), "ok")

    def add(self, kind: str, messages: list[str]) -> None:
        self.problems += [Problem(kind, message) for message in messages]

    def as_json(self, outputs: StackOutputs) -> dict:
        return {
            "ok": self.ok, "verdict": self.verdict,
            "stack": {"clusterName": outputs.cluster_name, "region": outputs.region,
                      "deployment": f"{outputs.namespace}/{outputs.deployment_name}",
                      "imageRef": outputs.image_ref},
            "rolloutComplete": self.rollout_complete,
            "podDigests": dict(sorted(self.pod_digests.items())),
            "problems": [{"kind": problem.kind, "message": problem.message} for problem in self.problems],
            "observations": list(self.observations),
        }


def verify(
    outputs: StackOutputs,
    options: Options,
    out: TextIO,
    err: TextIO,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    report = Report()
    print(
        f"Stack: cluster {outputs.cluster_name} ({outputs.region}), "
        f"deployment {outputs.namespace}/{outputs.deployment_name}, image {outputs.image_ref}",
        file=out,
    )
    try:
        cluster = Cluster.from_kubeconfig(
            outputs.kubeconfig, outputs.namespace, request_timeout=options.api_timeout
        )
    except ClusterError as error:
        report.add(UNREACHABLE, [str(error)])
        _print_verdict(report, out)
        return report
    with cluster:
        _Verification(outputs, options, cluster, report, out, err, sleep).run()
    _print_verdict(report, out)
    return report


class _Verification:
    """One run of the checks; state shared by the steps lives here, results go to `report`."""

    def __init__(
        self,
        outputs: StackOutputs,
        options: Options,
        cluster: Cluster,
        report: Report,
        out: TextIO,
        err: TextIO,
        sleep: Callable[[float], None],
    ):
        self.outputs = outputs
        self.options = options
        self.cluster = cluster
        self.report = report
        self.out = out
        self.err = err
        self.sleep = sleep

    def run(self) -> None:
        try:
            nodes = self.cluster.nodes()
        except ClusterError as error:
            # Nothing else can be read either; say how to get access rather than listing echoes.
            self.fail(f"{error}{_access_hint(self.outputs)}", UNREACHABLE)
            return
        self.show_nodes(nodes)
        self.report.add(UNHEALTHY, health.node_failures(nodes))

        try:
            deployment, pods = self.wait_for_rollout()
        except ClusterError as error:
            self.fail(str(error), _kind_of(error))
            return
        self.show_pods(pods)
        self.report.add(UNHEALTHY, health.pod_failures(_live(pods)))
        if not pods:
            self.fail(f"no pods match deployment {deployment.metadata.name}'s selector")
        self.show_events(pods)
        self.check_digest(deployment, pods)
        self.check_front_door()
        self.check_http()
        self.check_observability()

    def fail(self, reason: str, kind: str = UNHEALTHY) -> None:
        self.report.add(kind, [reason])

    def emit(self, section: str) -> None:
        print(f"\n{section}", file=self.out)
        self.out.flush()

    def show_nodes(self, nodes: list[client.V1Node]) -> None:
        rows = []
        for node in nodes:
            ready, _ = health.node_ready(node)
            info = node.status.node_info if node.status else None
            rows.append(
                [
                    node.metadata.name,
                    "Ready" if ready == "True" else f"NotReady ({ready})",
                    info.kubelet_version if info else "?",
                    _address(node, "InternalIP"),
                ]
            )
        self.emit(table.render("NODES", ["NAME", "STATUS", "VERSION", "INTERNAL-IP"], rows))

    def wait_for_rollout(self) -> tuple[client.V1Deployment, list[client.V1Pod]]:
        name = self.outputs.deployment_name
        deadline = time.monotonic() + self.options.timeout
        progress: Progress | None = None
        while True:
            try:
                deployment = self.cluster.deployment(name)
                pods = self.cluster.pods(selector_string(deployment.spec.selector))
            except ClusterError:
                if progress:
                    progress.finish("interrupted by an API error")
                raise
            state = health.rollout(deployment)
            outcome = self.rollout_outcome(name, state, pods, deadline)
            if outcome:
                if progress:
                    progress.finish(outcome)
                self.show_rollout(name, state, outcome)
                self.report.rollout_complete = state.complete
                return deployment, pods
            if progress is None:
                progress = Progress(self.err, f"rollout of deployment/{name}", self.options.timeout)
            progress.update(state.describe())
            self.sleep(min(self.options.poll_interval, max(deadline - time.monotonic(), 0)))

    def rollout_outcome(
        self, name: str, state: health.Rollout, pods: list[client.V1Pod], deadline: float
    ) -> str | None:
        """None while waiting is worth it; otherwise the rollout's STATUS, its failure recorded."""
        if state.complete:
            return "complete"
        if state.deadline_exceeded:
            self.fail(f"rollout of deployment {name} is stuck: {state.deadline_exceeded}")
            return "stuck (ProgressDeadlineExceeded)"
        if health.pod_failures(_live(pods)):
            # A container that cannot start will not fix itself within the timeout; the pod
            # check reports it, so no rollout failure is added on top.
            return "stopped: a pod cannot start"
        if time.monotonic() >= deadline:
            self.fail(
                f"rollout of deployment {name} did not complete within "
                f"{self.options.timeout:g}s ({state.describe()})"
            )
            return f"not complete within {self.options.timeout:g}s"
        return None

    def show_rollout(self, name: str, state: health.Rollout, outcome: str) -> None:
        row = [state.desired, state.updated, state.ready, state.available, outcome]
        self.emit(
            table.render(
                f"ROLLOUT deployment/{name}",
                ["DESIRED", "UPDATED", "READY", "AVAILABLE", "STATUS"],
                [row],
            )
        )

    def show_pods(self, pods: list[client.V1Pod]) -> None:
        rows = [
            [
                pod.metadata.name,
                pod.spec.node_name or "-",
                pod.status.pod_ip or "-",
                pod.status.phase or "?",
                health.restarts(pod),
                health.container_state(pod),
            ]
            for pod in pods
        ]
        headers = ["NAME", "NODE", "IP", "PHASE", "RESTARTS", "STATE"]
        self.emit(table.render("PODS", headers, rows))

    def show_events(self, pods: list[client.V1Pod]) -> None:
        limit = self.options.events_per_pod
        if limit == 0:
            return
        rows: list[list[object]] = []
        for pod in pods:
            name = pod.metadata.name or ""  # a pod the API server lists always has one
            try:
                events = self.cluster.pod_events(name, limit)
            except ClusterError as error:
                self.fail(str(error), _kind_of(error))
                continue
            rows.extend(_event_row(name, event) for event in events)
        headers = ["POD", "TIME (UTC)", "TYPE", "REASON", "COUNT", "MESSAGE"]
        self.emit(table.render(f"EVENTS (latest {limit} per pod)", headers, rows))

    def check_digest(self, deployment: client.V1Deployment, pods: list[client.V1Pod]) -> None:
        expected = self.outputs.image_digest
        failures = health.digest_failures(deployment, pods, self.outputs.repository_url, expected)
        names = {c.name for c in health.app_containers(deployment, self.outputs.repository_url)}
        rows = []
        for pod in _live(pods):
            for status in pod.status.container_statuses or []:
                if status.name in names:
                    running = health.digest_of(status.image_id)
                    self.report.pod_digests[pod.metadata.name or ""] = running
                    if running is None:
                        rows.append([pod.metadata.name, status.name, "-", "not pulled yet"])
                    else:
                        verdict = "match" if running == expected else "MISMATCH"
                        rows.append([pod.metadata.name, status.name, _short(running), verdict])
        self.emit(
            table.render(f"IMAGE (stack built {expected})", ["POD", "CONTAINER", "DIGEST", "CHECK"], rows)
        )
        self.report.add(UNHEALTHY, failures)

    def check_front_door(self) -> None:
        """With a load balancer: its targets (the nodes, on the nodePort), waited for until the
        health check has an answer for each, within the timeout."""
        arn = self.outputs.target_group_arn
        if arn is None:
            return
        deadline = time.monotonic() + self.options.timeout
        while True:
            try:
                targets = front_door.describe_target_health(arn, self.outputs.region, self.options.api_timeout)
            except front_door.FrontDoorError as error:
                self.fail(str(error), UNREACHABLE)
                return
            if front_door.settled(targets) or time.monotonic() >= deadline:
                break
            self.sleep(self.options.poll_interval)
        rows = [[t.id, t.port if t.port is not None else "-", t.state, t.reason or "-"] for t in targets]
        self.emit(table.render(f"FRONT DOOR {self.outputs.service_url or ''} (target group {arn})",
                               ["TARGET", "PORT", "STATE", "REASON"], rows))
        self.report.add(UNHEALTHY, front_door.failures(targets, arn))

    def check_observability(self) -> None:
        """Are the metrics and logs arriving, and is any alarm or alert firing (ops/observability.py):
        shown and noted in the report, not judged (see Report.observations)."""
        outputs = self.outputs
        sources = observability.Sources(
            region=outputs.region, cluster_name=outputs.cluster_name, namespace=outputs.namespace,
            alarm_names=outputs.alarm_names, application_log_group=outputs.application_log_group,
            prometheus_endpoint=outputs.prometheus_endpoint, scrape_job=outputs.scrape_job)
        findings = observability.check(sources, self.options.api_timeout)
        if not findings.lines:
            return
        self.emit("OBSERVABILITY\n" + "\n".join(f"  {line}" for line in findings.lines))
        self.report.observations += [*findings.problems, *findings.unreachable]

    def check_http(self) -> None:
        endpoint = self.endpoint()
        if endpoint is None:
            return
        checks = [
            check_readiness(endpoint),
            check_contents(endpoint, self.options.topic),
        ]
        rows = [[f"GET /{c.path}", c.status or "-", "ok" if c.ok else "FAIL", c.detail] for c in checks]
        self.emit(
            table.render(f"HTTP via {endpoint.description}", ["REQUEST", "STATUS", "CHECK", "DETAIL"], rows)
        )
        for check in checks:
            if not check.ok:
                # Status 0: nothing answered; any status is an answer, and the wrong one.
                self.fail(f"GET /{check.path} via {endpoint.description}: {check.detail}",
                          WRONG_ANSWERS if check.status else UNREACHABLE)

    def endpoint(self) -> Endpoint | None:
        if self.outputs.service_url:
            return DirectEndpoint(self.outputs.service_url, self.options.http_timeout)
        try:
            service = self.cluster.service(self.outputs.service_name)
        except ClusterError as error:
            self.fail(str(error), _kind_of(error))
            return None
        port = _service_port(service, self.outputs.node_port, self.outputs.container_port)
        if port is None:
            exposed = ", ".join(
                f"{p.port}->{p.target_port} (nodePort {p.node_port})" for p in service.spec.ports or []
            )
            self.fail(
                f"service {self.outputs.service_name} exposes no port with nodePort "
                f"{self.outputs.node_port} or targetPort {self.outputs.container_port} (ports: {exposed})"
            )
            return None
        return ProxyEndpoint(self.cluster, self.outputs.service_name, port, self.options.http_timeout)


def _kind_of(error: ClusterError) -> str:
    # A 404 is an answer: an object the stack declares is missing. Anything else (no answer,
    # 401/403, a server error) says nothing about the stack's health.
    return UNHEALTHY if error.status == 404 else UNREACHABLE


def _access_hint(outputs: StackOutputs) -> str:
    hints = []
    command = _exec_command(outputs.kubeconfig)
    if command:
        hints.append(f"the kubeconfig gets its token by running `{command}`: is that CLI installed and logged in?")
    if outputs.update_kubeconfig_command:
        hints.append(f"check access with: {outputs.update_kubeconfig_command}")
    return f" ({'; '.join(hints)})" if hints else ""


def _exec_command(kubeconfig: dict) -> str | None:
    """The credential plugin's command and subcommands (`aws eks get-token`), flags left out."""
    for user in kubeconfig.get("users") or []:
        plugin = (user.get("user") or {}).get("exec") if isinstance(user, dict) else None
        if isinstance(plugin, dict) and plugin.get("command"):
            words = [plugin["command"]]
            for arg in plugin.get("args") or []:
                if str(arg).startswith("-"):
                    break
                words.append(str(arg))
            return " ".join(words)
    return None


def _short(digest: str) -> str:
    # Twelve hex digits, as docker and crictl print image IDs; failure lines keep the full digest.
    return digest[: len("sha256:") + 12]


def _live(pods: list[client.V1Pod]) -> list[client.V1Pod]:
    return [pod for pod in pods if not pod.metadata.deletion_timestamp]


def _service_port(service: client.V1Service, node_port: int, container_port: int) -> int | None:
    ports = service.spec.ports or []
    for port in ports:
        if port.node_port == node_port:
            return port.port
    for port in ports:
        if str(port.target_port) == str(container_port):
            return port.port
    return None


def _address(node: client.V1Node, kind: str) -> str:
    for address in (node.status and node.status.addresses) or []:
        if address.type == kind:
            return address.address
    return "-"


def _event_row(pod: str, event: PodEvent) -> list[object]:
    when = event.time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if event.time else "-"
    message = event.message if len(event.message) <= 100 else event.message[:97] + "..."
    return [pod, when, event.type, event.reason, event.count, message]


def _print_verdict(report: Report, out: TextIO) -> None:
    if report.ok:
        print("\nRESULT: OK, every check passed", file=out)
    else:
        print(f"\nRESULT: FAILED, {len(report.failures)} problem(s):", file=out)
        for failure in report.failures:
            print(f"  - {failure}", file=out)
    if report.observations:
        print(f"NOTICE: {len(report.observations)} observability finding(s), not counted against the deploy:", file=out)
        for observation in report.observations:
            print(f"  - {observation}", file=out)
    out.flush()
