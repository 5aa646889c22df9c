"""Logs and pod metrics: the amazon-cloudwatch-observability EKS add-on and the log groups it writes.

The add-on runs Fluent Bit and the CloudWatch agent on every node (AWS installs, upgrades and
configures them; nothing of ours runs in the cluster). Fluent Bit ships every container's stdout
and stderr to `/aws/containerinsights/<cluster>/application`, and the node's own logs to
`dataplane` and `host`; the agent writes Container Insights' performance events to `performance`,
from which CloudWatch makes the ContainerInsights metrics (pods, nodes, restarts). Left to
themselves, Fluent Bit and the agent create those groups on first use with no retention, and
they outlive `destroy`. Created here first, they are the program's: the stack's retention, its
tags, and gone with the stack.

The agent and Fluent Bit run as one service account, `cloudwatch-agent` in `amazon-cloudwatch`
(AWS's install guide), which gets its role through EKS Pod Identity, the option AWS recommends: the
node role stays without CloudWatch rights, and so does every other pod on the node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import pod_identity

ADDON_NAME = "amazon-cloudwatch-observability"
NAMESPACE = "amazon-cloudwatch"
SERVICE_ACCOUNT = "cloudwatch-agent"
# The policy every install option of AWS's guide attaches to the agent's role.
AGENT_POLICY = "CloudWatchAgentServerPolicy"
# What Fluent Bit (application, dataplane, host) and the agent (performance) write to.
LOG_GROUP_KINDS = ("application", "dataplane", "host", "performance")
# The add-on's agent configuration, replacing its default: Container Insights with enhanced
# observability, as the default has it, but without Application Signals, whose traces would need
# X-Ray rights and whose webhook would instrument the stack's pods. The same agent configuration
# as AWS's own "appsignals-disabled" scenario (aws-observability/helm-charts, integration-tests/
# amazon-cloudwatch-observability/.../scenarios/appsignals-disabled/values.yaml).
AGENT_CONFIGURATION = {"logs": {"metrics_collected": {"kubernetes": {"enhanced_container_insights": True}}}}


def log_group_name(cluster_name: str, kind: str) -> str:
    return f"/aws/containerinsights/{cluster_name}/{kind}"


def log_group_names(cluster_name: str) -> list[str]:
    """The four groups the add-on writes to for this cluster, LOG_GROUP_KINDS' order."""
    return [log_group_name(cluster_name, kind) for kind in LOG_GROUP_KINDS]


@dataclass
class ContainerInsightsArgs:
    cluster_name: pulumi.Input[str]
    log_retention_days: int
    """0 keeps the logs forever."""
    addon_version: str | None = None
    """The add-on's pinned version; None takes the version EKS defaults to when it is created."""
    log_group_tags: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()
    """The node group the DaemonSets run on and the Pod Identity agent that hands them their role."""


class ContainerInsights(pulumi.ComponentResource):
    log_group_names: pulumi.Output[dict[str, str]]
    """By kind (application, dataplane, host, performance)."""
    application_log_group_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerInsightsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:ContainerInsights", name, None, opts)
        self._prefix, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._cluster_name = pulumi.Output.from_input(args.cluster_name)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        log_groups = {kind: self._log_group(kind) for kind in LOG_GROUP_KINDS}
        role = self._role()
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-agent-policy",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", AGENT_POLICY),
            opts=self._child,
        )
        aws.eks.Addon(
            f"{name}-addon",
            cluster_name=self._cluster_name,
            addon_name=ADDON_NAME,
            addon_version=args.addon_version,
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(
                service_account=SERVICE_ACCOUNT, role_arn=role.arn)],
            configuration_values=json.dumps({"agent": {"config": AGENT_CONFIGURATION}}, sort_keys=True),
            # Its pods must find their groups (or they make their own, with no retention) and
            # their credentials (or they fail until restarted).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*log_groups.values(), attachment, *args.depends_on]),
        )

        self.log_group_names = pulumi.Output.all(**{kind: group.name for kind, group in log_groups.items()})
        self.application_log_group_name = log_groups["application"].name
        self.role_arn = role.arn
        self.register_outputs({
            "log_group_names": self.log_group_names,
            "application_log_group_name": self.application_log_group_name,
            "role_arn": self.role_arn,
        })

    def _log_group(self, kind: str) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._prefix}-{kind}-logs",
            name=self._cluster_name.apply(lambda cluster: log_group_name(cluster, kind)),
            retention_in_days=self._args.log_retention_days,
            tags=dict(self._args.log_group_tags) or None,
            opts=self._child,
        )

    def _role(self) -> aws.iam.Role:
        return aws.iam.Role(
            f"{self._prefix}-agent-role",
            description=self._cluster_name.apply(
                lambda cluster: f"CloudWatch agent and Fluent Bit of EKS cluster {cluster} (Pod Identity)"),
            assume_role_policy=pod_identity.trust_policy(),
            opts=self._child,
        )
