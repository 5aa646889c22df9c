"""Who may reach the backend's NodePort: only the configured CIDRs, nobody by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws


@dataclass
class NodePortAccessArgs:
    security_group_id: pulumi.Input[str]
    """The group EKS attaches to the managed nodes (the cluster security group)."""
    node_port: int
    ingress_cidrs: Sequence[str]
    cluster_name: pulumi.Input[str]
    nodes_have_public_ips: bool
    nodes: Sequence[pulumi.Resource] = ()
    """What must exist before a node's address can be looked up (the node group)."""


class NodePortAccess(pulumi.ComponentResource):
    service_url: pulumi.Output[str] | None
    """http://<a node's public IP>:<nodePort>, when the nodes are public and some CIDR may reach
    them; None otherwise (then `kubectl port-forward` is the way in)."""

    def __init__(self, name: str, args: NodePortAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:NodePortAccess", name, None, opts)
        # One rule per CIDR (not one rule with a list) so adding a CIDR never replaces the rules
        # that keep existing clients connected.
        self.rule_ids = [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{cidr.replace('/', '-')}",
                security_group_id=args.security_group_id,
                description=f"Backend NodePort {args.node_port} from {cidr}",
                ip_protocol="tcp",
                from_port=args.node_port,
                to_port=args.node_port,
                cidr_ipv4=cidr,
                opts=pulumi.ResourceOptions(parent=self),
            ).id
            for cidr in args.ingress_cidrs
        ]
        self.service_url = None
        if args.nodes_have_public_ips and args.ingress_cidrs:
            # EKS tags every managed node with its cluster's name. Nodes come and go, so this
            # is the address at the time of the last `up`; any running node serves the port.
            nodes = aws.ec2.get_instances_output(
                # An invoke's _output form resolves Inputs inside its arguments' mappings too.
                instance_tags={"eks:cluster-name": args.cluster_name},  # type: ignore[dict-item]
                instance_state_names=["running"],
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=list(args.nodes)),
            )
            self.service_url = nodes.public_ips.apply(
                lambda ips: f"http://{sorted(ips)[0]}:{args.node_port}" if ips else "no running node yet"
            )
        self.register_outputs({"rule_ids": self.rule_ids, "service_url": self.service_url})
