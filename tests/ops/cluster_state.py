"""The cluster a stack deploys, as the Kubernetes API would describe it, with knobs for failures.

Objects are built with the official client's models so their shape (field names, nesting,
camelCase on the wire) is the API's own, not a hand-written approximation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from kubernetes import client

REPOSITORY_URL = "123456789012.dkr.ecr.us-west-2.amazonaws.com/backend-on-eks"
STACK_DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64
EPOCH = datetime(2026, 11, 27, 10, 0, 0, tzinfo=timezone.utc)


@dataclass
class Scenario:
    """What the fake cluster looks like; each field defaults to a healthy deployment."""

    namespace: str = "backend"
    deployment_name: str = "backend"
    service_name: str = "backend"
    replicas: int = 2
    node_ready: list[str] = field(default_factory=lambda: ["True", "True"])
    node_ready_message: str = "kubelet is posting ready status"
    # Deployment reads that answer "rollout in progress" before it completes; None: never completes.
    rollout_pending_reads: int | None = 0
    progress_deadline_exceeded: bool = False
    # Waiting reason of the first pod's app container, e.g. "CrashLoopBackOff".
    waiting_reason: str | None = None
    waiting_message: str = ""
    # An old ReplicaSet's pod on its way out (deletionTimestamp set), still on the previous image.
    terminating_old_pod: bool = False
    deployment_digest: str = STACK_DIGEST
    running_digest: str = STACK_DIGEST
    node_port: int = 30080
    container_port: int = 8080
    service_port: int = 80
    readyz_status: int = 200
    contents_status: int = 200
    contents_body: bytes | None = None  # None: a body that honours the contract

    @property
    def labels(self) -> dict[str, str]:
        return {"app": self.deployment_name, "app.kubernetes.io/name": self.deployment_name}

    @property
    def selector(self) -> dict[str, str]:
        # Deliberately not `app=<name>`: verify must use the Deployment's own selector.
        return {"app.kubernetes.io/name": self.deployment_name}

    def contents(self, topic: str) -> bytes:
        if self.contents_body is not None:
            return self.contents_body
        item = {"id": "1", "title": f"{topic} news", "url": "https://example.com/1"}
        return json.dumps({"outcome": [item]}).encode()


def nodes(scenario: Scenario) -> client.V1NodeList:
    items = [
        client.V1Node(
            metadata=client.V1ObjectMeta(name=f"ip-10-0-1-{10 + index}.us-west-2.compute.internal"),
            status=client.V1NodeStatus(
                conditions=[
                    client.V1NodeCondition(
                        type="MemoryPressure", status="False", reason="KubeletHasSufficientMemory"
                    ),
                    client.V1NodeCondition(
                        type="Ready",
                        status=ready,
                        reason="KubeletReady" if ready == "True" else "NodeStatusUnknown",
                        message=scenario.node_ready_message,
                    ),
                ],
                addresses=[client.V1NodeAddress(type="InternalIP", address=f"10.0.1.{10 + index}")],
                node_info=_node_info(),
            ),
        )
        for index, ready in enumerate(scenario.node_ready)
    ]
    return client.V1NodeList(api_version="v1", kind="NodeList", metadata=client.V1ListMeta(), items=items)


def _node_info() -> client.V1NodeSystemInfo:
    return client.V1NodeSystemInfo(
        architecture="amd64",
        boot_id="b",
        container_runtime_version="containerd://1.7.27",
        kernel_version="6.1.0",
        kube_proxy_version="",
        kubelet_version="v1.33.1-eks-1",
        machine_id="m",
        operating_system="linux",
        os_image="Amazon Linux 2023",
        system_uuid="u",
    )


def deployment(scenario: Scenario, complete: bool) -> client.V1Deployment:
    replicas = scenario.replicas
    if complete:
        # A pod whose container cannot start is never ready, whatever the rollout's progress.
        ready = replicas - 1 if scenario.waiting_reason else replicas
        counts = dict(replicas=replicas, updated_replicas=replicas, ready_replicas=ready, available_replicas=ready)
    else:
        # Mid rolling update: one new pod started, not ready yet; the old ones still serve.
        counts = dict(replicas=replicas + 1, updated_replicas=1, ready_replicas=replicas, available_replicas=replicas)
    progressing = (
        client.V1DeploymentCondition(
            type="Progressing",
            status="False",
            reason="ProgressDeadlineExceeded",
            message=f'ReplicaSet "{scenario.deployment_name}-7d9c" has timed out progressing.',
        )
        if scenario.progress_deadline_exceeded
        else client.V1DeploymentCondition(
            type="Progressing",
            status="True",
            reason="NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
        )
    )
    return client.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=client.V1ObjectMeta(
            name=scenario.deployment_name, namespace=scenario.namespace, generation=3, labels=scenario.labels
        ),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=scenario.selector),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=scenario.labels),
                spec=client.V1PodSpec(
                    containers=[
                        client.V1Container(
                            name="backend",
                            image=f"{REPOSITORY_URL}@{scenario.deployment_digest}",
                            ports=[client.V1ContainerPort(container_port=scenario.container_port)],
                        )
                    ]
                ),
            ),
        ),
        status=client.V1DeploymentStatus(
            observed_generation=3,
            conditions=[
                client.V1DeploymentCondition(type="Available", status="True", reason="MinimumReplicasAvailable"),
                progressing,
            ],
            **counts,
        ),
    )


def pods(scenario: Scenario) -> list[client.V1Pod]:
    """The deployment's pods, plus a decoy that an `app=<name>` selector would wrongly include."""
    result = [_pod(scenario, index) for index in range(scenario.replicas)]
    if scenario.terminating_old_pod:
        old = _pod(scenario, 0)
        old.metadata.name = f"{scenario.deployment_name}-5f6b-00000"
        old.metadata.labels["pod-template-hash"] = "5f6b"
        old.metadata.deletion_timestamp = EPOCH
        old.status.container_statuses[0].image_id = f"{REPOSITORY_URL}@{OTHER_DIGEST}"
        result.append(old)
    decoy = _pod(scenario, 99)
    decoy.metadata.name = f"{scenario.deployment_name}-canary-0"
    decoy.metadata.labels = {"app": scenario.deployment_name, "app.kubernetes.io/name": "canary"}
    decoy.status.container_statuses[0].state = client.V1ContainerState(
        waiting=client.V1ContainerStateWaiting(reason="CrashLoopBackOff", message="decoy")
    )
    return result + [decoy]


def _pod(scenario: Scenario, index: int) -> client.V1Pod:
    waiting = scenario.waiting_reason if index == 0 else None
    if waiting:
        state = client.V1ContainerState(
            waiting=client.V1ContainerStateWaiting(reason=waiting, message=scenario.waiting_message)
        )
    else:
        state = client.V1ContainerState(running=client.V1ContainerStateRunning(started_at=EPOCH))
    return client.V1Pod(
        metadata=client.V1ObjectMeta(
            name=f"{scenario.deployment_name}-7d9c-{index:05d}",
            namespace=scenario.namespace,
            labels={**scenario.labels, "pod-template-hash": "7d9c"},
        ),
        spec=client.V1PodSpec(
            node_name=f"ip-10-0-1-{10 + index % 2}.us-west-2.compute.internal",
            containers=[client.V1Container(name="backend", image=f"{REPOSITORY_URL}@{scenario.deployment_digest}")],
        ),
        status=client.V1PodStatus(
            phase="Pending" if waiting == "ImagePullBackOff" else "Running",
            pod_ip=f"10.0.1.{100 + index}",
            container_statuses=[
                client.V1ContainerStatus(
                    name="backend",
                    image=f"{REPOSITORY_URL}@{scenario.deployment_digest}",
                    # Kubelet reports the digest it pulled; before a pull it is empty.
                    image_id="" if waiting in ("ImagePullBackOff", "ErrImagePull")
                    else f"{REPOSITORY_URL}@{scenario.running_digest}",
                    ready=waiting is None,
                    restart_count=4 if waiting == "CrashLoopBackOff" else 0,
                    started=waiting is None,
                    state=state,
                )
            ],
        ),
    )


def events(scenario: Scenario, pod_name: str) -> list[client.CoreV1Event]:
    """The Events tab of the console: scheduled, pulled, created, started (or the back-off)."""
    image = f"{REPOSITORY_URL}@{scenario.deployment_digest}"
    steps = [
        ("Normal", "Scheduled", "Successfully assigned pod to node"),
        ("Normal", "Pulling", f'Pulling image "{image}"'),
    ]
    failing = scenario.waiting_reason if pod_name.endswith("-00000") else None
    if failing in ("ImagePullBackOff", "ErrImagePull"):
        steps += [
            ("Warning", "Failed", f'Failed to pull image "{image}": not found'),
            ("Warning", "BackOff", f'Back-off pulling image "{image}"'),
        ]
    else:
        steps += [
            ("Normal", "Pulled", "Successfully pulled image in 2.1s"),
            ("Normal", "Created", "Created container backend"),
            ("Normal", "Started", "Started container backend"),
        ]
        if failing:
            steps.append(("Warning", "BackOff", "Back-off restarting failed container backend"))
    return [
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=f"{pod_name}.{index}", namespace=scenario.namespace),
            involved_object=client.V1ObjectReference(kind="Pod", name=pod_name, namespace=scenario.namespace),
            type=kind,
            reason=reason,
            message=message,
            count=1,
            first_timestamp=EPOCH + timedelta(seconds=index),
            last_timestamp=EPOCH + timedelta(seconds=index),
        )
        for index, (kind, reason, message) in enumerate(steps)
    ][::-1]  # the API promises no order; newest first makes the sorting in verify matter


def service(scenario: Scenario) -> client.V1Service:
    return client.V1Service(
        api_version="v1",
        kind="Service",
        metadata=client.V1ObjectMeta(name=scenario.service_name, namespace=scenario.namespace),
        spec=client.V1ServiceSpec(
            type="NodePort",
            selector=scenario.selector,
            ports=[
                client.V1ServicePort(
                    name="http",
                    port=scenario.service_port,
                    target_port=scenario.container_port,
                    node_port=scenario.node_port,
                    protocol="TCP",
                )
            ],
        ),
    )


def not_found(kind: str, name: str) -> client.V1Status:
    return client.V1Status(
        api_version="v1",
        kind="Status",
        status="Failure",
        message=f'{kind} "{name}" not found',
        reason="NotFound",
        code=404,
        metadata=client.V1ListMeta(),
    )
