"""Nodes follow pods: the Kubernetes Cluster Autoscaler, given AWS rights through EKS Pod Identity.

Why Cluster Autoscaler, and not Karpenter or EKS Auto Mode
-----------------------------------------------------------
The cluster runs ONE EKS managed node group (components/cluster.py). EKS backs every managed node
group with an EC2 Auto Scaling group that it creates in the account and tags so that the Cluster
Autoscaler can find it ("Amazon EKS tags managed node group resources so that they are configured
to use the Kubernetes Cluster Autoscaler", Amazon EKS User Guide, managed node groups). The
Cluster Autoscaler then only moves that group's desired capacity, never past its min and max
("Cluster Autoscaler will respect the minimum and maximum values of each Auto Scaling Group. It
will only adjust the desired value", kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/
README.md). So the stack config's nodeMinSize/nodeMaxSize stay the bounds, one Deployment and one
IAM role are all it adds, and nothing else provisions nodes.
  - Karpenter launches instances itself, outside any node group: a second provisioning system
    beside the managed node group, with its own CRDs (NodePool, EC2NodeClass), its own node IAM
    role and access entry, and an interruption queue.
  - EKS Auto Mode replaces the managed node group (and the vpc-cni and kube-proxy add-ons this
    program pins) with nodes AWS runs: a different cluster design, not an add-on.

How `up` and the autoscaler stay out of each other's way
--------------------------------------------------------
The autoscaler changes the Auto Scaling group's desired size; EKS reflects it in the node group's
scalingConfig.desiredSize. The next `pulumi up` would set it back to the stack's nodeDesiredSize
unless the node group ignores that field: the integrator sets pulumi-eks's
`ignore_scaling_changes=True` on the ManagedNodeGroup whenever this component is used.

Least privilege
---------------
- Credentials come from EKS Pod Identity: a role that only `pods.eks.amazonaws.com` may assume,
  associated with exactly kube-system/cluster-autoscaler in this cluster. The nodes' IMDS stays
  closed to pods (hop limit 1, components/cluster.py); the Pod Identity agent add-on serves the
  credentials instead.
- SetDesiredCapacity and TerminateInstanceInAutoScalingGroup are allowed only on Auto Scaling
  groups tagged `k8s.io/cluster-autoscaler/enabled: true` AND `k8s.io/cluster-autoscaler/<this
  cluster>: owned`, the tags EKS puts on this cluster's managed node groups (the scoped policy of
  the Amazon EKS Best Practices Guide, Cluster Autoscaler, "Employ least privileged access to the
  IAM role"). A second cluster's groups in the same account are out of reach even if the
  discovery flag were wrong.
- Describe* calls cannot be scoped to a resource (CA's AWS README grants them on "*"); only
  eks:DescribeNodegroup can, and is limited to this cluster's node groups.
- The ClusterRole is what the project's Helm chart grants at the release's own tag, rendered for
  the AWS provider (catalog/cluster-autoscaler.json, written by `ops catalog refresh` through
  ops/chart_rbac.py), minus the `extensions` API group, which Kubernetes no longer serves. It is
  a function of the release: CA waits for every informer it starts to sync before its first
  loop, and 1.35 reads the resource.k8s.io (DRA) kinds that no older release's role granted; a
  kind it may not list never syncs, and CA waits forever while /health-check answers 200. The
  namespaced ConfigMap rights stay in a Role in kube-system.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import pod_identity

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
NAME = "cluster-autoscaler"
# The official manifest's user (nobody); the image is distroless and needs no particular UID.
RUN_AS_USER = 65534
# CA's metrics and /health-check endpoint (the official manifests scrape port 8085).
METRICS_PORT = 8085
METRICS_PORT_NAME = "metrics"
# Where the EKS Pod Identity agent serves credentials on every node (the AWS SDKs' EKS container
# credentials host, e.g. awslabs aws-c-auth EKS_CREDENTIALS_HOST).
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"


def discovery_tags(cluster_name: str) -> dict[str, str]:
    """The tags (key: value) EKS puts on a managed node group's Auto Scaling group for CA."""
    return {
        "k8s.io/cluster-autoscaler/enabled": "true",
        f"k8s.io/cluster-autoscaler/{cluster_name}": "owned",
    }


def autoscaler_policy(cluster_name: str, partition: str, region: str) -> dict:
    """The IAM policy document: describe anything, change only this cluster's node groups."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ScaleOnlyThisClustersNodeGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {
                    f"aws:ResourceTag/{key}": value for key, value in discovery_tags(cluster_name).items()
                }},
            },
            {
                # Read-only calls with no resource-level permissions: IAM accepts only "*" here.
                "Sid": "DiscoverNodeGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                # Labels and taints of a managed node group scaled to zero (CA's AWS README).
                "Sid": "ReadThisClustersNodeGroups",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"arn:{partition}:eks:{region}:*:nodegroup/{cluster_name}/*/*",
            },
        ],
    }


def autoscaler_flags(cluster_name: str) -> list[str]:
    return [
        "--cloud-provider=aws",
        # Both tags, so only this cluster's groups are found (the README's recommendation when
        # several clusters share an account); the IAM condition enforces the same.
        "--node-group-auto-discovery=asg:tag=" + ",".join(discovery_tags(cluster_name)),
        # One managed node group spans every zone today, so balancing has nothing to do; it keeps
        # zones even if per-zone groups are added, which is how CA's FAQ runs multi-zone clusters.
        "--balance-similar-node-groups",
        # EKS runs its own pods (CoreDNS, the VPC CNI, the Pod Identity agent) in kube-system on
        # these nodes: CA's default would keep almost every node forever.
        "--skip-nodes-with-system-pods=false",
        # The backend's only local storage is an in-memory emptyDir of metrics files, which a
        # rescheduled pod recreates; the default would pin every node that runs a backend pod.
        "--skip-nodes-with-local-storage=false",
        # The group that leaves the least CPU and memory idle after a scale-up: the cheapest when
        # more than one group fits, and the same as any other with the one group there is today.
        "--expander=least-waste",
    ]


@dataclass
class NodeAutoscalerArgs:
    cluster_name: pulumi.Input[str]
    kubeconfig: pulumi.Input[str]
    """The cluster's kubeconfig (a secret Output): the component builds its own provider from it."""
    image: str
    """CA's image, of the cluster's Kubernetes minor and pinned by digest
    (catalog/cluster-autoscaler.json via autoscaler_releases.py; settings.py refuses a version it has no such release for)."""
    cluster_rules: Sequence[Mapping[str, Sequence[str]]]
    """The ClusterRole rules of CA's release (apiGroups, resources, verbs, resourceNames): what its
    Helm chart grants at the release's tag (catalog/cluster-autoscaler.json). CA waits for every
    informer it starts to sync before its first loop, and an informer whose kind it may not list
    never does: from 1.35 that includes the resource.k8s.io (DRA) kinds."""
    region: str
    """Where the node group's Auto Scaling group lives; the pod cannot learn it from IMDS."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The node group CA runs on and the cluster's Pod Identity agent, which hands CA's pod its role."""


@dataclass(frozen=True)
class _Rbac:
    """What CA's pod runs as: its service account and the roles bound to it."""
    service_account: k8s.core.v1.ServiceAccount
    cluster_role: k8s.rbac.v1.ClusterRole
    cluster_role_binding: k8s.rbac.v1.ClusterRoleBinding
    namespace_role: k8s.rbac.v1.Role
    role_binding: k8s.rbac.v1.RoleBinding


class NodeAutoscaler(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    image: str
    service_account: str
    cluster_role_names: pulumi.Output[list[str]]
    """Its ClusterRole's and ClusterRoleBinding's names: what a reader of the stack must be let read."""
    rbac_namespace: str
    pod_selector: dict[str, str]
    metrics_port_name: str
    metrics_port: int
    namespace_role_names: pulumi.Output[list[str]]
    """Its Role's and RoleBinding's names, in `rbac_namespace`."""

    def __init__(self, name: str, args: NodeAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:NodeAutoscaler", name, None, opts)
        self._prefix, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        self._cluster_name = pulumi.Output.from_input(args.cluster_name)
        self._labels = {
            "app.kubernetes.io/name": NAME,
            "app.kubernetes.io/component": "node-autoscaler",
            "app.kubernetes.io/part-of": "backend-on-eks",
            "app.kubernetes.io/managed-by": "pulumi",
        }
        self._selector = {"app.kubernetes.io/name": NAME}

        # AWS: the role CA's pod gets, and what the role may do.
        role = self._role()
        role_policy = self._role_policy(role)
        association = self._pod_identity_association(role)
        # Kubernetes: CA's service account and RBAC, its network policy, and CA itself, started
        # only once everything it needs exists.
        self._provider = self._kubernetes_provider()
        self._in_cluster = pulumi.ResourceOptions(parent=self, provider=self._provider)
        rbac = self._rbac()
        network_policy = self._network_policy()
        self._deployment([*args.depends_on, association, role_policy, rbac.service_account, rbac.cluster_role_binding,
                          rbac.role_binding, network_policy])

        self.role_arn = role.arn
        self.image = args.image
        self.service_account = SERVICE_ACCOUNT
        self.cluster_role_names = pulumi.Output.all(rbac.cluster_role.metadata.name, rbac.cluster_role_binding.metadata.name)
        self.rbac_namespace = NAMESPACE
        self.pod_selector = dict(self._selector)
        self.metrics_port_name, self.metrics_port = METRICS_PORT_NAME, METRICS_PORT
        self.namespace_role_names = pulumi.Output.all(rbac.namespace_role.metadata.name, rbac.role_binding.metadata.name)
        self.register_outputs({"role_arn": self.role_arn, "image": self.image,
                               "cluster_role_names": self.cluster_role_names,
                               "namespace_role_names": self.namespace_role_names})

    def _role(self) -> aws.iam.Role:
        return aws.iam.Role(
            f"{self._prefix}-role",
            description=self._cluster_name.apply(lambda cluster: f"Cluster Autoscaler of EKS cluster {cluster} (Pod Identity)"),
            assume_role_policy=pod_identity.trust_policy(),
            opts=self._child,
        )

    def _role_policy(self, role: aws.iam.Role) -> aws.iam.RolePolicy:
        # Inline: the policy names this cluster and is of no use to any other role.
        return aws.iam.RolePolicy(
            f"{self._prefix}-policy",
            role=role.name,
            name=NAME,
            policy=pulumi.Output.all(self._cluster_name, self._partition).apply(
                lambda values: json.dumps(autoscaler_policy(values[0], values[1], self._args.region))
            ),
            opts=self._child,
        )

    def _pod_identity_association(self, role: aws.iam.Role) -> aws.eks.PodIdentityAssociation:
        return aws.eks.PodIdentityAssociation(
            f"{self._prefix}-pod-identity",
            cluster_name=self._cluster_name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            role_arn=role.arn,
            opts=self._child,
        )

    def _kubernetes_provider(self) -> k8s.Provider:
        return k8s.Provider(
            f"{self._prefix}-provider",
            kubeconfig=self._args.kubeconfig,
            # No delete_unreachable: with it, any refresh that cannot reach the API (a runner
            # outside prod's endpoint CIDRs, a principal without an access entry, expired
            # credentials) deletes every object from the state, and the next `up` fails on each
            # "already exists". Left unset, the self._provider reads PULUMI_K8S_DELETE_UNREACHABLE,
            # which the Destroy workflow sets for `pulumi destroy` alone.
            opts=self._child,
        )

    def _rbac(self) -> _Rbac:
        service_account = k8s.core.v1.ServiceAccount(
            f"{self._prefix}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=NAMESPACE, labels=self._labels),
            opts=self._in_cluster,
        )
        subject = k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=SERVICE_ACCOUNT, namespace=NAMESPACE)
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{self._prefix}-cluster-role", metadata=self._metadata(namespaced=False), rules=[
                k8s.rbac.v1.PolicyRuleArgs(api_groups=rule["apiGroups"], resources=rule["resources"],
                                           verbs=rule["verbs"], resource_names=rule.get("resourceNames"))
                for rule in self._args.cluster_rules], opts=self._in_cluster,
        )
        cluster_role_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{self._prefix}-cluster-role-binding",
            metadata=self._metadata(namespaced=False),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                             name=cluster_role.metadata.name),
            subjects=[subject],
            opts=self._in_cluster,
        )
        namespace_role = k8s.rbac.v1.Role(
            f"{self._prefix}-role-in-namespace", metadata=self._metadata(), rules=NAMESPACE_RULES, opts=self._in_cluster,
        )
        role_binding = k8s.rbac.v1.RoleBinding(
            f"{self._prefix}-role-binding",
            metadata=self._metadata(),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role",
                                             name=namespace_role.metadata.name),
            subjects=[subject],
            opts=self._in_cluster,
        )
        return _Rbac(service_account, cluster_role, cluster_role_binding, namespace_role, role_binding)

    def _network_policy(self) -> k8s.networking.v1.NetworkPolicy:
        # Only what CA needs: the Kubernetes API and the AWS APIs (HTTPS), DNS, and the Pod Identity
        # agent on the node's link-local address (plain HTTP, port 80: the AWS SDKs' container
        # credentials endpoint for EKS). Nothing calls CA but the kubelet's probes and a scraper,
        # on its metrics port. The VPC CNI's policy agent (components/cluster.py) enforces this.
        return k8s.networking.v1.NetworkPolicy(
            f"{self._prefix}-network-policy",
            metadata=self._metadata(),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                policy_types=["Ingress", "Egress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=METRICS_PORT)],
                )],
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
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=443)],
                    ),
                    k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                        to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                            ip_block=k8s.networking.v1.IPBlockArgs(cidr=POD_IDENTITY_AGENT_CIDR),
                        )],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=80)],
                    ),
                ],
            ),
            opts=self._in_cluster,
        )

    def _deployment(self, depends_on: list[pulumi.Resource]) -> None:
        k8s.apps.v1.Deployment(
            f"{self._prefix}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAME, namespace=NAMESPACE, labels=self._labels,
                # CA reads and writes the Kubernetes API: its token is mounted on purpose.
                annotations={"checkov.io/skip1": "CKV_K8S_38=the Cluster Autoscaler calls the Kubernetes API"},
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # One active autoscaler per cluster; a second replica would only wait on the lease.
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self._selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=self._labels,
                        # A pod that is not safe to evict keeps its node (CA's FAQ): CA never
                        # removes the node it runs on, evicting itself half-way through a drain.
                        annotations={"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                    ),
                    spec=_pod_spec(self._args.image, self._cluster_name, self._args.region),
                ),
            ),
            # Pods started before the association exists get no AWS credentials until restarted;
            # the agent must run before the pod starts, and the RBAC before CA's first call.
            opts=pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=depends_on),
        )

    def _metadata(self, namespaced: bool = True) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE if namespaced else None, labels=self._labels)


# Its status ConfigMap (and the priority expander's, should that expander ever be chosen).
NAMESPACE_RULES = [
    k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["configmaps"], verbs=["create", "list", "watch"]),
    k8s.rbac.v1.PolicyRuleArgs(
        api_groups=[""], resources=["configmaps"],
        resource_names=["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
        verbs=["delete", "get", "update", "watch"],
    ),
]


def _pod_spec(image: str, cluster_name: pulumi.Output[str], region: str) -> k8s.core.v1.PodSpecArgs:
    def probe(period: int, failures: int) -> k8s.core.v1.ProbeArgs:
        return k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path="/health-check", port=METRICS_PORT_NAME),
            period_seconds=period,
            timeout_seconds=5,
            failure_threshold=failures,
        )

    return k8s.core.v1.PodSpecArgs(
        service_account_name=SERVICE_ACCOUNT,
        # As the official manifest: never preempted to make room for ordinary pods. Allowed in
        # kube-system, and no Pod Security level restricts it.
        priority_class_name="system-cluster-critical",
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=RUN_AS_USER,
            run_as_group=RUN_AS_USER,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[k8s.core.v1.ContainerArgs(
            name=NAME,
            image=image,
            # A digest names one image: the node's cached copy is necessarily the same.
            image_pull_policy="IfNotPresent",
            # The image has no entrypoint, only the binary at its root (no certificates mounted
            # from the host: the distroless base carries its own CA bundle).
            command=cluster_name.apply(lambda cluster: ["/cluster-autoscaler", *autoscaler_flags(cluster)]),
            # The SDK reads the region from here; IMDS is closed to pods (hop limit 1).
            env=[k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=region)],
            ports=[k8s.core.v1.ContainerPortArgs(name=METRICS_PORT_NAME, container_port=METRICS_PORT, protocol="TCP")],
            liveness_probe=probe(period=30, failures=3),
            readiness_probe=probe(period=10, failures=3),
            # The official manifest's figures: CA holds every node and pod in memory.
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "100m", "memory": "600Mi"},
                limits={"cpu": "100m", "memory": "600Mi"},
            ),
            security_context=k8s.core.v1.SecurityContextArgs(
                allow_privilege_escalation=False,
                privileged=False,
                read_only_root_filesystem=True,
                run_as_non_root=True,
                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
            ),
        )],
    )
