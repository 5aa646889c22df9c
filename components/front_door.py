"""A stable front door for the NodePort: a Network Load Balancer owned by this program.

Plain AWS resources, no controller in the cluster: the NLB sits in the public subnets with a
target group of *instance* targets on the nodePort. The node group's Auto Scaling group is
attached to that target group, so every node, including one the autoscaler adds next week,
registers itself, and a replaced node leaves by itself. kube-proxy on whichever node the NLB
picks forwards to a ready pod, so the health check (HTTP on the readiness path, through the
nodePort) is the check a client's request would pass.

The NLB has its own security group: clients are admitted there, on the listener port only, and
the nodes admit the nodePort from that group alone (AWS: a target rule referencing the NLB's
group admits its traffic even with client IP preservation, which instance targets always have).
So the nodePort stays closed to the internet. The client's address reaches the node but not the
backend: with the Service's default externalTrafficPolicy (Cluster) kube-proxy source-NATs nodePort
traffic, so the access log records a node's address.

With a domain name and its Route 53 zone, the listener is TLS on 443 with an ACM certificate
validated by DNS, and an alias record points the name at the NLB. Port 80 is then closed rather
than redirected: an NLB forwards bytes and cannot answer an HTTP redirect, and a plain-text port
that forwarded to the backend would serve the API unencrypted beside the TLS one. Without a
domain, the NLB serves plain TCP on 80 at its own DNS name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import pulumi
import pulumi_aws as aws

# AWS's recommended policy for NLB TLS listeners (and the console's default): TLS 1.3 and 1.2
# only, with hybrid post-quantum key exchange for clients that offer it. Left out, the API
# would pick ELBSecurityPolicy-2016-08, which still accepts TLS 1.0.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
HTTPS_PORT = 443
HTTP_PORT = 80
# Long enough for kube-proxy to drop a terminating pod's endpoints and for in-flight requests to
# finish (the pod's preStop delay plus the server's graceful timeout), and no longer.
DEREGISTRATION_DELAY_SECONDS = 30


@dataclass
class FrontDoorArgs:
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[Sequence[str]]
    node_security_group_id: pulumi.Input[str]
    """The group EKS attaches to the managed nodes (the cluster security group)."""
    autoscaling_group_names: pulumi.Input[Sequence[str]]
    """The node group's Auto Scaling groups: attached to the target group."""
    node_port: int
    health_check_path: str
    ingress_cidrs: Sequence[str]
    """Who may connect to the listener."""
    domain_name: str = ""
    hosted_zone_id: str = ""
    autoscaling_group_count: int = 1
    """How many Auto Scaling groups the node group has (EKS makes one per managed node group)."""


class FrontDoor(pulumi.ComponentResource):
    service_url: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:FrontDoor", name, None, opts)
        self._prefix, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        tls = bool(args.domain_name)
        listener_port = HTTPS_PORT if tls else HTTP_PORT

        security_group = self._security_group(listener_port)
        load_balancer = self._load_balancer(security_group)
        target_group = self._target_group()
        self._attach_node_groups(target_group)
        self._listener(load_balancer, target_group, listener_port, self._validated_certificate() if tls else None)
        if tls:
            self._alias(load_balancer)
            self.service_url = pulumi.Output.from_input(f"https://{args.domain_name}")
        else:
            self.service_url = pulumi.Output.concat("http://", load_balancer.dns_name)

        self.dns_name = load_balancer.dns_name
        self.target_group_arn = target_group.arn
        # What CloudWatch names the pair by in AWS/NetworkELB (dimensions LoadBalancer, TargetGroup).
        self.load_balancer_dimension = load_balancer.arn_suffix
        self.target_group_dimension = target_group.arn_suffix
        self.security_group_id = security_group.id
        self.register_outputs({
            "service_url": self.service_url,
            "dns_name": self.dns_name,
            "target_group_arn": self.target_group_arn,
            "load_balancer_dimension": self.load_balancer_dimension,
            "target_group_dimension": self.target_group_dimension,
            "security_group_id": self.security_group_id,
        })

    def _security_group(self, listener_port: int) -> aws.ec2.SecurityGroup:
        security_group = aws.ec2.SecurityGroup(
            f"{self._prefix}-sg",
            vpc_id=self._args.vpc_id,
            description=f"Network Load Balancer in front of the backend's NodePort {self._args.node_port}",
            opts=self._child,
        )
        # One rule per CIDR, as for the nodePort: adding a client network replaces nothing.
        for cidr in self._args.ingress_cidrs:
            aws.vpc.SecurityGroupIngressRule(
                f"{self._prefix}-listener-{cidr.replace('/', '-')}",
                security_group_id=security_group.id,
                description=f"Clients on the listener port {listener_port} from {cidr}",
                ip_protocol="tcp",
                from_port=listener_port,
                to_port=listener_port,
                cidr_ipv4=cidr,
                opts=self._child,
            )
        # Traffic and health checks leave the NLB for the nodes, nowhere else. (Health checks
        # are subject to the NLB group's outbound rules, not the nodes' inbound ones.)
        aws.vpc.SecurityGroupEgressRule(
            f"{self._prefix}-to-nodes",
            security_group_id=security_group.id,
            description=f"To the nodes' NodePort {self._args.node_port}",
            ip_protocol="tcp",
            from_port=self._args.node_port,
            to_port=self._args.node_port,
            referenced_security_group_id=self._args.node_security_group_id,
            opts=self._child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{self._prefix}-nodeport-from-lb",
            security_group_id=self._args.node_security_group_id,
            description=f"Backend NodePort {self._args.node_port} from its load balancer only",
            ip_protocol="tcp",
            from_port=self._args.node_port,
            to_port=self._args.node_port,
            referenced_security_group_id=security_group.id,
            opts=self._child,
        )
        return security_group

    def _load_balancer(self, security_group: aws.ec2.SecurityGroup) -> aws.lb.LoadBalancer:
        return aws.lb.LoadBalancer(
            f"{self._prefix}-nlb",
            load_balancer_type="network",
            internal=False,
            subnets=self._args.public_subnet_ids,
            security_groups=[security_group.id],
            # Each node gets connections from every zone's NLB node, not only its own zone's, so
            # a zone with fewer nodes is not overloaded.
            enable_cross_zone_load_balancing=True,
            opts=self._child,
        )

    def _target_group(self) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            f"{self._prefix}-nodes",
            target_type="instance",
            protocol="TCP",
            port=self._args.node_port,
            vpc_id=self._args.vpc_id,
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=self._args.health_check_path,
                matcher="200",
                interval=10,
                healthy_threshold=2,
                unhealthy_threshold=2,
            ),
            opts=self._child,
        )

    def _attach_node_groups(self, target_group: aws.lb.TargetGroup) -> None:
        # Index by position, not by name: the names are known only once the node group exists,
        # and a resource's name must be known when the program declares it.
        for index in range(self._args.autoscaling_group_count):
            aws.autoscaling.Attachment(
                f"{self._prefix}-nodes-{index}",
                autoscaling_group_name=pulumi.Output.from_input(self._args.autoscaling_group_names).apply(
                    _at(index)
                ),
                lb_target_group_arn=target_group.arn,
                opts=self._child,
            )

    def _validated_certificate(self) -> pulumi.Output[str]:
        certificate = aws.acm.Certificate(
            f"{self._prefix}-certificate",
            domain_name=self._args.domain_name,
            validation_method="DNS",
            opts=self._child,
        )
        # One domain, no alternative names: ACM asks for exactly one validation record.
        validation = certificate.domain_validation_options[0]
        validation_record = aws.route53.Record(
            f"{self._prefix}-certificate-validation",
            zone_id=self._args.hosted_zone_id,
            name=validation.resource_record_name,
            type=validation.resource_record_type,
            records=[validation.resource_record_value],
            ttl=300,
            # The record may already exist: ACM gives the same record to every certificate of
            # the name in the account (another stack's, or this one's before a replacement).
            allow_overwrite=True,
            opts=self._child,
        )
        return aws.acm.CertificateValidation(
            f"{self._prefix}-certificate-validated",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=self._child,
        ).certificate_arn

    def _listener(self, load_balancer: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup, listener_port: int,
                  certificate_arn: pulumi.Output[str] | None) -> None:
        aws.lb.Listener(
            f"{self._prefix}-listener",
            load_balancer_arn=load_balancer.arn,
            port=listener_port,
            protocol="TLS" if certificate_arn is not None else "TCP",
            certificate_arn=certificate_arn,
            ssl_policy=TLS_POLICY if certificate_arn is not None else None,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
            opts=self._child,
        )

    def _alias(self, load_balancer: aws.lb.LoadBalancer) -> None:
        aws.route53.Record(
            f"{self._prefix}-alias",
            zone_id=self._args.hosted_zone_id,
            name=self._args.domain_name,
            type="A",
            aliases=[aws.route53.RecordAliasArgs(
                name=load_balancer.dns_name,
                zone_id=load_balancer.zone_id,
                evaluate_target_health=True,
            )],
            opts=self._child,
        )


def _at(index: int) -> Callable[[Sequence[str]], str]:
    """The item at `index` of a list an Output resolves to (bound now, not when the loop ends)."""
    return lambda names: names[index]
