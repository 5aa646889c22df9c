"""The backend on Kubernetes: namespace, Deployment, NodePort Service and disruption budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

CONTAINER_PORT_NAME = "http"
# The backend's probes and metrics listen on a port of their own, answered by the server's main
# process: a probe gets its answer whatever the public port is doing (held by slow clients, every
# worker thread waiting on the upstream), so a busy pod is not restarted for being busy.
ADMIN_PORT_NAME = "admin"
# The image's non-root user (app/Dockerfile); numeric so the kubelet can enforce runAsNonRoot.
RUN_AS_USER = 10001
# Long enough for the load balancer path (kube-proxy on every node) to drop the pod before it
# gets SIGTERM, short enough to stay well inside the grace period.
PRE_STOP_DELAY_SECONDS = 5
TERMINATION_GRACE_PERIOD_SECONDS = 30
# How long a rollout may go without progress before Kubernetes marks it failed
# (ProgressDeadlineExceeded): a new pod's startup probe allows 60 s, so this is several tries.
PROGRESS_DEADLINE_SECONDS = 300
# How long `up` waits for the rollout. pulumi-kubernetes' Deployment await does not stop at
# ProgressDeadlineExceeded (provider/pkg/await/deployment.go waits for the new ReplicaSet to be
# available) and gives up only after its default 10 minutes; bounded here to the deadline and a
# minute, so a rollout that never becomes ready fails `up` soon after Kubernetes says so.
ROLLOUT_TIMEOUT_SECONDS = PROGRESS_DEADLINE_SECONDS + 60


@dataclass
class WorkloadArgs:
    kubeconfig: pulumi.Input[str]
    app_name: str
    namespace: str
    image: pulumi.Input[str]
    """An image reference pinned by digest (`repo@sha256:...`), so a new build rolls out."""
    replicas: int
    node_port: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    container_port: int = 8080
    admin_port: int = 8081
    admin_sources: Sequence[str] = ()
    """CIDR blocks that may reach the admin port besides the kubelet (the VPC, for a scraper)."""
    liveness_path: str = "/healthz"
    readiness_path: str = "/readyz"
    environment: Mapping[str, str] = field(default_factory=dict)
    secret_environment: Mapping[str, str] = field(default_factory=dict)
    """Variables whose stack values are secrets: they reach the container through a Kubernetes
    Secret, and stay secret in Pulumi's state, never as plain values in the pod spec."""
    max_replicas: int | None = None
    """With a number, a HorizontalPodAutoscaler runs the Deployment from `replicas` to this many
    pods on CPU; None: always `replicas` pods."""
    target_cpu_utilization: int = 70
    """Average CPU use the autoscaler keeps the pods at, as a percentage of the CPU request."""
    egress_ports: Sequence[int] = (443,)
    """TCP ports the backend may reach outside the cluster (the upstream search API)."""
    part_of: str = "backend-on-eks"


class Workload(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    node_port: pulumi.Output[int]
    pod_selector: dict[str, str]
    admin_port_name: str

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Workload", name, None, opts)

        # Built from the cluster's own kubeconfig and passed to every object below, so nothing
        # ever lands in whatever cluster an ambient ~/.kube/config happens to point at.
        provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=args.kubeconfig,
            # No delete_unreachable: with it, any refresh that cannot reach the API (a runner
            # outside prod's endpoint CIDRs, a principal without an access entry, expired
            # credentials) deletes every object from the state, and the next `up` fails on each
            # "already exists". Left unset, the provider reads PULUMI_K8S_DELETE_UNREACHABLE,
            # which the Destroy workflow sets for `pulumi destroy` alone.
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._prefix, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self, provider=provider)
        self._selector = {"app": args.app_name}
        self._labels = {
            **self._selector,
            "app.kubernetes.io/name": args.app_name,
            "app.kubernetes.io/component": "backend",
            "app.kubernetes.io/part-of": args.part_of,
            "app.kubernetes.io/managed-by": "pulumi",
        }

        namespace = self._namespace()
        deployment = self._deployment(namespace, self._environment_secret(namespace))
        service = self._service(namespace)
        if args.max_replicas is not None:
            self._autoscaler(namespace, deployment, args.max_replicas)
        self._disruption_budget(namespace)
        self._network_policy(namespace)

        self.namespace = namespace
        self.pod_selector = dict(self._selector)
        self.admin_port_name = ADMIN_PORT_NAME
        self.deployment_name = deployment.metadata.name
        self.service_name = service.metadata.name
        self.node_port = service.spec.ports[0].node_port
        self.register_outputs({
            "namespace": self.namespace,
            "deployment_name": self.deployment_name,
            "service_name": self.service_name,
            "node_port": self.node_port,
        })

    def _namespace(self) -> pulumi.Output[str]:
        return k8s.core.v1.Namespace(
            f"{self._prefix}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self._args.namespace,
                labels={
                    # The API server rejects any pod here that is not fully locked down.
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            ),
            opts=self._child,
        ).metadata.name

    def _environment_secret(self, namespace: pulumi.Input[str]) -> k8s.core.v1.Secret | None:
        return k8s.core.v1.Secret(
            f"{self._prefix}-environment",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=namespace, labels=self._labels),
            type="Opaque",
            string_data={variable: pulumi.Output.secret(value) for variable, value in self._args.secret_environment.items()},
            opts=self._child,
        ) if self._args.secret_environment else None

    def _deployment(self, namespace: pulumi.Input[str], environment_secret: k8s.core.v1.Secret | None) -> k8s.apps.v1.Deployment:
        return k8s.apps.v1.Deployment(
            f"{self._prefix}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self._args.app_name, namespace=namespace, labels=self._labels,
                # Turning podAutoscaling off hands `.spec.replicas` back from the autoscaler, whose
                # controller owns the field through the scale subresource: without force the
                # server-side apply that re-adds it fails on that conflict (pulumi/pulumi#13321).
                # The program is the Deployment's source of truth, so its apply wins conflicts.
                annotations={"pulumi.com/patchForce": "true",
                             "pulumi.com/timeoutSeconds": str(ROLLOUT_TIMEOUT_SECONDS)},
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # Always declared, so a new Deployment starts at `replicas` pods; with an autoscaler
                # the count is then its to set, through ignore_changes below.
                replicas=self._args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                revision_history_limit=5,
                progress_deadline_seconds=PROGRESS_DEADLINE_SECONDS,
                # Never below the desired count during a rollout: a new pod must be ready
                # before an old one goes.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=self._labels),
                    spec=self._pod_spec(
                        self._args, self._selector, environment_secret.metadata.name if environment_secret else None,
                    ),
                ),
            ),
            # With an autoscaler, pulumi-kubernetes' server-side apply of an ignored field
            # (provider/pkg/await/await.go, handleSSAIgnoreFields) leaves it out of the apply once
            # another manager owns it (the HPA's controller, after its first scale), and otherwise
            # re-sends the live value. So an `up` never resets what the HPA chose, and turning
            # podAutoscaling on keeps the pods running instead of dropping to one (omitting the
            # field would make Kubernetes reset it).
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(
                ignore_changes=["spec.replicas"] if self._args.max_replicas is not None else None)),
        )

    def _service(self, namespace: pulumi.Input[str]) -> k8s.core.v1.Service:
        return k8s.core.v1.Service(
            f"{self._prefix}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self._args.app_name, namespace=namespace, labels=self._labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="NodePort",
                # Cluster, not Local: every node answers the nodePort and the NLB's health check
                # (through the nodePort) passes on any node while one pod is ready, so traffic spreads
                # over all nodes and a rollout or a node without a pod never takes a target out.
                # The price: kube-proxy source-NATs the traffic, and the backend sees a node's address,
                # not the client's (it keys nothing on it).
                external_traffic_policy="Cluster",
                selector=self._selector,
                ports=[k8s.core.v1.ServicePortArgs(
                    name=CONTAINER_PORT_NAME,
                    protocol="TCP",
                    port=self._args.container_port,
                    target_port=self._args.container_port,
                    node_port=self._args.node_port,
                )],
            ),
            opts=self._child,
        )

    def _autoscaler(self, namespace: pulumi.Input[str], deployment: k8s.apps.v1.Deployment, max_replicas: int):
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{self._prefix}-autoscaler",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self._args.app_name, namespace=namespace, labels=self._labels),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=deployment.metadata.name,
                ),
                min_replicas=self._args.replicas,
                max_replicas=max_replicas,
                metrics=[k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource",
                    resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu",
                        target=k8s.autoscaling.v2.MetricTargetArgs(
                            type="Utilization", average_utilization=self._args.target_cpu_utilization,
                        ),
                    ),
                )],
                # Up at once when load comes (the default), down slowly: a pod removed in a lull
                # between bursts is a pod the next burst waits for.
                behavior=k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(
                    scale_down=k8s.autoscaling.v2.HPAScalingRulesArgs(
                        stabilization_window_seconds=300,
                        policies=[k8s.autoscaling.v2.HPAScalingPolicyArgs(type="Pods", value=1, period_seconds=60)],
                    ),
                ),
            ),
            opts=self._child,
        )

    def _disruption_budget(self, namespace: pulumi.Input[str]):
        # maxUnavailable rather than minAvailable: with one replica a minAvailable of 1 would
        # block every node drain, while this always lets one pod be evicted.
        k8s.policy.v1.PodDisruptionBudget(
            f"{self._prefix}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self._args.app_name, namespace=namespace, labels=self._labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
            ),
            opts=self._child,
        )

    def _network_policy(self, namespace: pulumi.Input[str]):
        # Only what the backend needs: clients on its public port, the admin port from inside the
        # VPC only (the kubelet's probes come from the node; the Service never exposes it), DNS,
        # and HTTPS to the search API. The cluster component turns on the VPC CNI's policy agent,
        # which enforces this.
        k8s.networking.v1.NetworkPolicy(
            f"{self._prefix}-network-policy",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self._args.app_name, namespace=namespace, labels=self._labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                policy_types=["Ingress", "Egress"],
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=self._args.container_port)],
                    ),
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr),
                        ) for cidr in self._args.admin_sources],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=self._args.admin_port)],
                    ),
                ] if self._args.admin_sources else [
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=self._args.container_port)],
                    ),
                ],
                egress=[
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                                match_labels={"kubernetes.io/metadata.name": "kube-system"},
                            ),
                            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                        )],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=protocol, port=53)
                               for protocol in ("UDP", "TCP")],
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port)
                               for port in self._args.egress_ports],
                    ),
                ],
            ),
            opts=self._child,
        )

    @staticmethod
    def _pod_spec(
        args: WorkloadArgs, selector: Mapping[str, str], secret_name: pulumi.Input[str] | None,
    ) -> k8s.core.v1.PodSpecArgs:
        def probe(path: str, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
            return k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=ADMIN_PORT_NAME),
                period_seconds=period,
                timeout_seconds=2,
                failure_threshold=failures,
            )

        # Soft across zones (a zone may have no node for a while), hard across nodes; counted
        # per revision so a rollout's new pods spread on their own.
        def spread(topology_key: str, when_unsatisfiable: str) -> k8s.core.v1.TopologySpreadConstraintArgs:
            return k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key=topology_key,
                when_unsatisfiable=when_unsatisfiable,
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                match_label_keys=["pod-template-hash"],
            )

        environment = {"PORT": str(args.container_port), "ADMIN_PORT": str(args.admin_port), **args.environment}
        return k8s.core.v1.PodSpecArgs(
            # The backend never calls the Kubernetes API.
            automount_service_account_token=False,
            termination_grace_period_seconds=TERMINATION_GRACE_PERIOD_SECONDS,
            security_context=k8s.core.v1.PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=RUN_AS_USER,
                run_as_group=RUN_AS_USER,
                fs_group=RUN_AS_USER,
                seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            topology_spread_constraints=[
                spread("topology.kubernetes.io/zone", "ScheduleAnyway"),
                spread("kubernetes.io/hostname", "DoNotSchedule"),
            ],
            containers=[k8s.core.v1.ContainerArgs(
                name=args.app_name,
                image=args.image,
                # The reference is a digest: the node's cached copy is necessarily the same image.
                image_pull_policy="IfNotPresent",
                ports=[
                    k8s.core.v1.ContainerPortArgs(
                        name=CONTAINER_PORT_NAME, container_port=args.container_port, protocol="TCP"
                    ),
                    k8s.core.v1.ContainerPortArgs(name=ADMIN_PORT_NAME, container_port=args.admin_port, protocol="TCP"),
                ],
                env=[k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(environment.items())] + [
                    k8s.core.v1.EnvVarArgs(
                        name=variable,
                        value_from=k8s.core.v1.EnvVarSourceArgs(
                            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=variable),
                        ),
                    )
                    for variable in sorted(args.secret_environment)
                ],
                startup_probe=probe(args.liveness_path, period=2, failures=30),
                liveness_probe=probe(args.liveness_path, period=10, failures=3),
                readiness_probe=probe(args.readiness_path, period=5, failures=2),
                lifecycle=k8s.core.v1.LifecycleArgs(
                    pre_stop=k8s.core.v1.LifecycleHandlerArgs(
                        exec_=k8s.core.v1.ExecActionArgs(command=["sleep", str(PRE_STOP_DELAY_SECONDS)]),
                    ),
                ),
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={"cpu": args.cpu_request, "memory": args.memory_request},
                    limits={"cpu": args.cpu_limit, "memory": args.memory_limit},
                ),
                security_context=k8s.core.v1.SecurityContextArgs(
                    allow_privilege_escalation=False,
                    privileged=False,
                    read_only_root_filesystem=True,
                    run_as_non_root=True,
                    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                ),
                # The only writable path: the workers' Prometheus metrics files.
                volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
            )],
            volumes=[k8s.core.v1.VolumeArgs(
                name="tmp",
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="64Mi"),
            )],
        )
