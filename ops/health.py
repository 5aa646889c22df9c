"""Judges Kubernetes objects: each function turns API objects into one-line failure reasons.

Pure functions over the official client's models, so every rule is testable without a cluster
and the reasons read the same whatever produced the objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubernetes import client

# Waiting reasons after which a container will not start without someone changing something.
FATAL_WAITING_REASONS = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
)

_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Rollout:
    desired: int
    updated: int
    ready: int
    available: int
    total: int
    observed: bool
    deadline_exceeded: str | None

    @property
    def complete(self) -> bool:
        # The same test as `kubectl rollout status`, plus ready == desired as the issue asks.
        return (
            self.observed
            and self.updated == self.desired
            and self.ready == self.desired
            and self.available == self.desired
            and self.total == self.updated
        )

    def describe(self) -> str:
        if not self.observed:
            return "waiting for the controller to observe the new spec"
        parts = [
            f"{self.updated}/{self.desired} updated",
            f"{self.ready}/{self.desired} ready",
            f"{self.available}/{self.desired} available",
        ]
        if self.total > self.updated:
            parts.append(f"{self.total - self.updated} old replica(s) pending termination")
        return ", ".join(parts)


def rollout(deployment: client.V1Deployment) -> Rollout:
    status = deployment.status or client.V1DeploymentStatus()
    desired = deployment.spec.replicas if deployment.spec.replicas is not None else 1
    deadline = next(
        (
            condition.message or condition.reason
            for condition in status.conditions or []
            if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded"
        ),
        None,
    )
    return Rollout(
        desired=desired,
        updated=status.updated_replicas or 0,
        ready=status.ready_replicas or 0,
        available=status.available_replicas or 0,
        total=status.replicas or 0,
        observed=(status.observed_generation or 0) >= (deployment.metadata.generation or 0),
        deadline_exceeded=deadline,
    )


def node_ready(node: client.V1Node) -> tuple[str, str]:
    """(status of the Ready condition, its message); 'Unknown' when the kubelet never reported."""
    for condition in (node.status and node.status.conditions) or []:
        if condition.type == "Ready":
            return condition.status, condition.message or condition.reason or ""
    return "Unknown", "no Ready condition reported"


def node_failures(nodes: list[client.V1Node]) -> list[str]:
    if not nodes:
        return ["the cluster has no nodes: the node group has not joined"]
    failures = []
    for node in nodes:
        status, message = node_ready(node)
        if status != "True":
            failures.append(f"node {node.metadata.name} is NotReady (Ready={status}: {message})")
    return failures


def container_problem(pod: client.V1Pod) -> tuple[str, str, str] | None:
    """(container, reason, message) of the first container stuck in a fatal waiting state."""
    statuses = (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])
    for status in statuses:
        waiting = status.state and status.state.waiting
        if waiting and waiting.reason in FATAL_WAITING_REASONS:
            return status.name, waiting.reason, " ".join((waiting.message or "").split())
    return None


def pod_failures(pods: list[client.V1Pod]) -> list[str]:
    failures = []
    for pod in pods:
        problem = container_problem(pod)
        if problem:
            container, reason, message = problem
            detail = f": {message}" if message else ""
            failures.append(f"pod {pod.metadata.name} container {container} is in {reason}{detail}")
    return failures


def restarts(pod: client.V1Pod) -> int:
    total = 0
    for status in pod.status.container_statuses or []:
        total += status.restart_count or 0
    return total


def container_state(pod: client.V1Pod) -> str:
    """A one-word state per pod, the way `kubectl get pods` shows STATUS."""
    if pod.metadata.deletion_timestamp:
        return "Terminating"
    problem = container_problem(pod)
    if problem:
        return problem[1]
    statuses = pod.status.container_statuses or []
    if statuses and all(status.ready for status in statuses):
        return "Ready"
    for status in statuses:
        if status.state and status.state.waiting and status.state.waiting.reason:
            return status.state.waiting.reason
    return "NotReady"


def digest_of(image: str | None) -> str | None:
    """`sha256:<hex>` from an image reference or a containerStatus imageID, if it names one."""
    match = _DIGEST.search(image or "")
    return match.group(1) if match else None


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    # A ':' after the last '/' is a tag; one before it belongs to a registry host:port.
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def app_containers(deployment: client.V1Deployment, repository_url: str) -> list[client.V1Container]:
    """The containers running the stack's image; sidecars from other repositories are not judged."""
    return [
        container
        for container in deployment.spec.template.spec.containers
        if _repository(container.image or "") == repository_url
    ]


def digest_failures(
    deployment: client.V1Deployment,
    pods: list[client.V1Pod],
    repository_url: str,
    expected: str,
) -> list[str]:
    containers = app_containers(deployment, repository_url)
    name = deployment.metadata.name
    if not containers:
        images = ", ".join(c.image or "?" for c in deployment.spec.template.spec.containers)
        return [f"deployment {name} runs no image from {repository_url} (images: {images})"]
    failures = [
        f"deployment {name} container {container.name} specifies {container.image}, "
        f"not the stack's image digest {expected}"
        for container in containers
        if digest_of(container.image) != expected
    ]
    names = {container.name for container in containers}
    for pod in pods:
        if pod.metadata.deletion_timestamp:
            continue  # an old pod on its way out is not what the service runs
        for status in pod.status.container_statuses or []:
            if status.name not in names:
                continue
            running = digest_of(status.image_id)
            if running is None and container_problem(pod):
                continue  # the pod's own failure (e.g. ImagePullBackOff) already says why
            if running is None:
                failures.append(
                    f"pod {pod.metadata.name} container {status.name} has not pulled an image yet"
                )
            elif running != expected:
                failures.append(
                    f"pod {pod.metadata.name} container {status.name} runs {running}, "
                    f"not the stack's image digest {expected}"
                )
    return failures
