"""The EKS control plane and the managed node group that runs the backend."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator")
# Exactly what a node needs: join the cluster, run the VPC CNI, pull from ECR. Anything more
# would be reachable from every pod that can reach the instance profile.
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)
POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent"
# AL2023's root device; the settings only admit AL2023 AMI types for this reason.
ROOT_DEVICE_NAME = "/dev/xvda"


@dataclass(frozen=True)
class AccessGrant:
    principal_arn: str
    access_policy: str
    """Name of an EKS cluster access policy (AmazonEKSClusterAdminPolicy, AmazonEKSViewPolicy),
    associated at cluster scope."""
    kubernetes_groups: tuple[str, ...] = ()
    """Kubernetes groups the principal is mapped to, for RBAC bindings beyond the access policy."""


@dataclass
class ClusterArgs:
    cluster_name: str
    kubernetes_version: str
    upgrade_policy: str
    """EKS support type, STANDARD or EXTENDED (EKS would default to EXTENDED)."""
    vpc_cni_version: pulumi.Input[str]
    kube_proxy_version: pulumi.Input[str]
    """Add-on versions, always given: left out, pulumi-eks takes the newest on every run."""
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[Sequence[str]]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    nodes_in_public_subnets: bool
    api_public_access_cidrs: Sequence[str]
    node_instance_types: Sequence[str]
    node_ami_type: str
    node_disk_size_gib: int
    node_min_size: int
    node_desired_size: int
    node_max_size: int
    kms_key_deletion_window_days: int
    deletion_protection: bool
    protect: bool
    control_plane_log_retention_days: int
    """0 keeps the control-plane logs forever."""
    node_autoscaling: bool = False
    """An autoscaler owns the node group's desired size: `up` sets it on create, then leaves it."""
    metrics_server: bool = False
    """Install the metrics-server EKS add-on (the resource metrics a HorizontalPodAutoscaler reads)."""
    metrics_server_version: str | None = None
    """Its pinned version; None takes the version EKS defaults to when the add-on is created."""
    pod_identity_agent: bool = False
    """Install the EKS Pod Identity agent add-on, through which pods get the IAM roles their
    service accounts are associated with (the Cluster Autoscaler's, the CloudWatch agent's)."""
    pod_identity_agent_version: str | None = None
    pod_identity_agent_aliases: Sequence[pulumi.Alias] = ()
    """Where an earlier version of the program declared the agent, so that moving it here neither
    deletes nor re-creates it (EKS refuses a second add-on of one name)."""
    access_grants: Mapping[str, AccessGrant] = field(default_factory=dict)
    """By a stable key per principal, so reordering the lists replaces nothing. Never the
    creator's: EKS made that entry itself."""
    cluster_tags: Mapping[str, str] = field(default_factory=dict)
    control_plane_log_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the control-plane log group: how a later run tells it from one EKS re-created."""


def _autoscaling_group_names(group: aws.eks.NodeGroup) -> pulumi.Output[list[str]]:
    return group.resources.apply(lambda resources: sorted(
        str(asg.name) for resource in resources for asg in resource.autoscaling_groups or []))


CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "AmazonEKSViewPolicy"
# The association's name per policy; "cluster-admin" as before, so existing entries are not replaced.
_ASSOCIATION_NAMES = {CLUSTER_ADMIN_POLICY: "cluster-admin", VIEW_POLICY: "view"}


def _association_name(access_policy: str) -> str:
    return _ASSOCIATION_NAMES.get(access_policy, access_policy)


class Cluster(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    node_subnet_ids: pulumi.Output[Sequence[str]]
    node_role_arn: pulumi.Output[str]
    node_group: eks.ManagedNodeGroup
    pod_identity_agent: aws.eks.Addon | None
    pod_identity_dependencies: list[pulumi.Resource]
    """What a workload using Pod Identity waits for: the nodes it runs on and the agent, without
    which its pods get no credentials (until they restart)."""
    autoscaling_group_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Cluster", name, None, opts)
        self._prefix, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        secrets_key = self._secrets_key()
        node_role, node_policy_attachments = self._node_role()
        cluster = self._eks(secrets_key, self._control_plane_logs())
        node_group = self._node_group(cluster, node_role, node_policy_attachments, self._node_template())
        if args.metrics_server:
            self._metrics_server(cluster, node_group)
        self.pod_identity_agent = self._pod_identity_agent(cluster, node_group) if args.pod_identity_agent else None
        self.pod_identity_dependencies = [node_group, *([self.pod_identity_agent] if self.pod_identity_agent else [])]

        self.cluster_name = pulumi.Output.from_input(args.cluster_name)
        self.cluster_arn = cluster.eks_cluster.arn
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.node_security_group_id = cluster.cluster_security_group_id
        self.node_subnet_ids = pulumi.Output.from_input(self._node_subnet_ids())
        self.node_role_arn = node_role.arn
        self.node_group = node_group
        # The node group's Auto Scaling groups (EKS makes one), which a load balancer's target group
        # is attached to so that every node, present and future, registers itself.
        self.autoscaling_group_names = node_group.node_group.apply(_autoscaling_group_names)
        self.register_outputs({
            "cluster_name": self.cluster_name,
            "cluster_arn": self.cluster_arn,
            "kubeconfig": self.kubeconfig,
            "node_security_group_id": self.node_security_group_id,
            "node_subnet_ids": self.node_subnet_ids,
            "node_role_arn": self.node_role_arn,
            "autoscaling_group_names": self.autoscaling_group_names,
        })

    def _secrets_key(self) -> aws.kms.Key:
        return aws.kms.Key(
            f"{self._prefix}-secrets-key",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {self._args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=self._args.kms_key_deletion_window_days,
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.protect),
        )

    def _node_role(self) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        node_role = aws.iam.Role(
            f"{self._prefix}-node-role",
            description=f"Nodes of EKS cluster {self._args.cluster_name}",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }],
            }),
            opts=self._child,
        )
        node_policy_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{self._prefix}-node-{policy}",
                role=node_role.name,
                policy_arn=pulumi.Output.concat("arn:", self._partition, ":iam::aws:policy/", policy),
                opts=self._child,
            )
            for policy in NODE_MANAGED_POLICIES
        ]
        return node_role, node_policy_attachments

    def _control_plane_logs(self) -> aws.cloudwatch.LogGroup:
        # EKS creates /aws/eks/<name>/cluster on first use with no retention, and it outlives
        # `destroy`. Created here first, it is the program's: retention from config, gone with the stack.
        return aws.cloudwatch.LogGroup(
            f"{self._prefix}-control-plane-logs",
            name=f"/aws/eks/{self._args.cluster_name}/cluster",
            retention_in_days=self._args.control_plane_log_retention_days,
            tags=dict(self._args.control_plane_log_tags) or None,
            opts=self._child,
        )

    def _eks(self, secrets_key: aws.kms.Key, control_plane_logs: aws.cloudwatch.LogGroup) -> eks.Cluster:
        return eks.Cluster(
            f"{self._prefix}-eks",
            name=self._args.cluster_name,
            version=self._args.kubernetes_version,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=self._args.upgrade_policy),
            vpc_id=self._args.vpc_id,
            public_subnet_ids=self._args.public_subnet_ids,
            private_subnet_ids=self._args.private_subnet_ids,
            # Access entries instead of the aws-auth ConfigMap: who may use the cluster is an
            # AWS API fact, visible and auditable in IAM, and not lost with a bad kubectl edit.
            authentication_mode=eks.AuthenticationMode.API,
            access_entries={
                key: eks.AccessEntryArgs(
                    principal_arn=grant.principal_arn,
                    kubernetes_groups=list(grant.kubernetes_groups) or None,
                    access_policies={
                        _association_name(grant.access_policy): eks.AccessPolicyAssociationArgs(
                            policy_arn=pulumi.Output.concat(
                                "arn:", self._partition, ":eks::aws:cluster-access-policy/", grant.access_policy
                            ),
                            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                        ),
                    },
                )
                for key, grant in self._args.access_grants.items()
            },
            cluster_tags=dict(self._args.cluster_tags),
            # The managed node group below replaces the self-managed default; with the default
            # security groups skipped, EKS's own cluster security group is the nodes' group.
            skip_default_node_group=True,
            skip_default_security_groups=True,
            # The EKS-managed VPC CNI add-on with its network policy agent: without it the
            # workload's NetworkPolicy would be accepted and silently not enforced.
            use_default_vpc_cni=False,
            # Pinned add-ons: unpinned, pulumi-eks resolves the newest version on every run, and an
            # unrelated pull request would show (and an up would roll out) an add-on upgrade.
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True, addon_version=self._args.vpc_cni_version),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(version=self._args.kube_proxy_version),
            endpoint_public_access=True,
            endpoint_private_access=True,
            public_access_cidrs=list(self._args.api_public_access_cidrs),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config_key_arn=secrets_key.arn,
            deletion_protection=self._args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, protect=self._args.protect, depends_on=[control_plane_logs]),
        )

    def _node_template(self) -> aws.ec2.LaunchTemplate:
        # pulumi-eks's own `enable_imd_sv2` sets a hop limit of 2, which lets every pod read the
        # node role's credentials from IMDS. A hop limit of 1 keeps them on the host network.
        return aws.ec2.LaunchTemplate(
            f"{self._prefix}-node-template",
            description=f"Nodes of EKS cluster {self._args.cluster_name}: IMDSv2 only, encrypted root volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE_NAME,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=self._args.node_disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                ),
            ],
            opts=self._child,
        )

    def _node_group(self, cluster: eks.Cluster, node_role: aws.iam.Role,
                    node_policy_attachments: list[aws.iam.RolePolicyAttachment],
                    node_template: aws.ec2.LaunchTemplate) -> eks.ManagedNodeGroup:
        # EKS creates the node role's EC2_LINUX access entry itself for managed node groups.
        return eks.ManagedNodeGroup(
            f"{self._prefix}-nodes",
            cluster=cluster,
            node_role=node_role,
            subnet_ids=self._node_subnet_ids(),
            instance_types=list(self._args.node_instance_types),
            ami_type=self._args.node_ami_type,
            # pulumi-eks follows the cluster's version only without a launch template; with
            # ours, the nodes' version is set here so a cluster upgrade brings them along.
            version=self._args.kubernetes_version,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=self._args.node_min_size,
                desired_size=self._args.node_desired_size,
                max_size=self._args.node_max_size,
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=node_template.id,
                version=node_template.latest_version.apply(str),
            ),
            # Otherwise every `up` would set the desired size back to the stack's value, undoing
            # what the autoscaler decided (and, below what runs, evicting pods).
            ignore_scaling_changes=self._args.node_autoscaling or None,
            # Nodes must not try to join before their role may pull images and run the CNI.
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_policy_attachments),
        )

    def _node_subnet_ids(self) -> pulumi.Input[Sequence[str]]:
        return self._args.public_subnet_ids if self._args.nodes_in_public_subnets else self._args.private_subnet_ids

    def _metrics_server(self, cluster: eks.Cluster, node_group: eks.ManagedNodeGroup) -> None:
        # The EKS community add-on (owner "community"; AWS checks it against the cluster's
        # version). Without a pin, aws.eks.Addon takes the default version when created and
        # keeps it; with the catalog's pin, a new default arrives only through the refresh's
        # pull request. Its pods need nodes to become ACTIVE.
        aws.eks.Addon(
            f"{self._prefix}-metrics-server",
            cluster_name=self._args.cluster_name,
            addon_name="metrics-server",
            addon_version=self._args.metrics_server_version,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster, node_group]),
        )

    def _pod_identity_agent(self, cluster: eks.Cluster, node_group: eks.ManagedNodeGroup) -> aws.eks.Addon:
        # The agent is a DaemonSet: EKS reports the add-on healthy only once nodes run it.
        return aws.eks.Addon(
            f"{self._prefix}-pod-identity-agent",
            cluster_name=self._args.cluster_name,
            addon_name=POD_IDENTITY_AGENT_ADDON,
            addon_version=self._args.pod_identity_agent_version,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster, node_group],
                                        aliases=list(self._args.pod_identity_agent_aliases)),
        )
