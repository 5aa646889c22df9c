"""A dedicated VPC for the cluster: public and private subnets in each AZ, with NAT for egress."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_awsx as awsx

# Subnet sizes relative to the VPC block: a private subnet is 1/16 of it (nodes and pods draw
# their IPs from it through the VPC CNI, so it gets the room), a public one 1/64.
PRIVATE_SUBNET_EXTRA_BITS = 4
PUBLIC_SUBNET_EXTRA_BITS = 6


@dataclass
class NetworkArgs:
    cidr_block: str
    availability_zone_names: Sequence[str]
    """Zones chosen by the caller (by zone ID, where the node instance types are offered)."""
    nat_gateway_strategy: str
    """awsx NatGatewayStrategy value: "None", "Single" or "OnePerAz"."""


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[Sequence[str]]
    private_subnet_ids: pulumi.Output[Sequence[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Network", name, None, opts)
        prefix = ipaddress.IPv4Network(args.cidr_block).prefixlen

        # awsx lays out the subnets, route tables, internet gateway and NAT gateways; hand-written
        # route tables would only restate what it already gets right.
        vpc = awsx.ec2.Vpc(
            f"{name}-vpc",
            awsx.ec2.VpcArgs(
                cidr_block=args.cidr_block,
                availability_zone_names=list(args.availability_zone_names),
                enable_dns_hostnames=True,
                enable_dns_support=True,
                nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(
                    strategy=awsx.ec2.NatGatewayStrategy(args.nat_gateway_strategy),
                ),
                subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
                subnet_specs=[
                    # The role tags tell the AWS load balancer integrations which subnets face
                    # the internet and which are internal.
                    awsx.ec2.SubnetSpecArgs(
                        type=awsx.ec2.SubnetType.PUBLIC,
                        cidr_mask=prefix + PUBLIC_SUBNET_EXTRA_BITS,
                        tags={"kubernetes.io/role/elb": "1"},
                    ),
                    awsx.ec2.SubnetSpecArgs(
                        type=awsx.ec2.SubnetType.PRIVATE,
                        cidr_mask=prefix + PRIVATE_SUBNET_EXTRA_BITS,
                        tags={"kubernetes.io/role/internal-elb": "1"},
                    ),
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.vpc_id = vpc.vpc_id
        self.public_subnet_ids = vpc.public_subnet_ids
        self.private_subnet_ids = vpc.private_subnet_ids
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
        })
