"""Metrics: an Amazon Managed Service for Prometheus workspace and its agentless scraper.

The AWS managed collector (aws.amp.Scraper) runs outside the cluster: nothing to install, patch
or scale in it, and nothing of the stack's to run when the nodes are busy. It reaches the pods
through network interfaces in the nodes' subnets (one per zone; AWS wants two zones at least) and
discovers them through the cluster's private API endpoint, which the cluster component turns on
as AWS requires. Its way into the cluster is not declared here: with the cluster's API
authentication mode, AMP creates the scraper's EKS access entry and its read-only policy itself
when the scraper is created (AMP user guide, "Configuring your Amazon EKS cluster"); an entry of
ours for the same role would be refused as a duplicate.

AWS's guide hands the scraper the cluster's own security group, which admits everything from
itself. Here it gets one of its own that reaches the nodes on the scraped ports and the control
plane (the same group carries its network interfaces) on 443, and the nodes admit it on exactly
those ports: the scraper can reach nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import yaml

KUBERNETES_API_PORT = 443
# AMP tags the workspace a scraper writes to; declared here too, or every `up` would take it away.
SCRAPER_WORKSPACE_TAG = {"AMPAgentlessScraper": ""}
# AMP refuses a shorter interval (user guide, "Scraper configuration").
MIN_SCRAPE_INTERVAL_SECONDS = 30


@dataclass(frozen=True)
class ScrapeTarget:
    """Pods whose named container port serves Prometheus metrics at `metrics_path`."""
    job: str
    namespace: str
    pod_labels: Mapping[str, str]
    port_name: str
    port: int
    metrics_path: str = "/metrics"


@dataclass
class MetricsArgs:
    workspace_alias: str
    cluster_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """Where the scraper's network interfaces go: the nodes' subnets (at least two zones)."""
    node_security_group_id: pulumi.Input[str]
    targets: Sequence[ScrapeTarget]
    scrape_interval_seconds: int = 30


def _literal(value: str) -> str:
    # Prometheus anchors relabel regexes (RE2): escape only what RE2 would read as syntax.
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", value)


def _label_meta(label: str) -> str:
    # Prometheus's pod discovery exposes label `a.b/c` as __meta_kubernetes_pod_label_a_b_c.
    return "__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)


def scrape_configuration(targets: Sequence[ScrapeTarget], interval_seconds: int) -> str:
    """The Prometheus configuration the scraper runs: one job per target, each watching only its
    namespace and keeping only its pods' metrics port (pod discovery makes a target per port)."""
    jobs = []
    for target in targets:
        keep = [
            {"source_labels": [_label_meta(label)], "regex": _literal(value), "action": "keep"}
            for label, value in sorted(target.pod_labels.items())
        ]
        keep.append({"source_labels": ["__meta_kubernetes_pod_container_port_name"],
                     "regex": _literal(target.port_name), "action": "keep"})
        jobs.append({
            "job_name": target.job,
            "metrics_path": target.metrics_path,
            "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [target.namespace]}}],
            "relabel_configs": [
                *keep,
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
                {"source_labels": ["__meta_kubernetes_pod_node_name"], "target_label": "node"},
            ],
        })
    return yaml.safe_dump({
        "global": {"scrape_interval": f"{interval_seconds}s", "scrape_timeout": f"{min(interval_seconds, 10)}s"},
        "scrape_configs": jobs,
    }, sort_keys=False)


class Metrics(pulumi.ComponentResource):
    workspace_id: pulumi.Output[str]
    workspace_arn: pulumi.Output[str]
    prometheus_endpoint: pulumi.Output[str]
    scraper_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MetricsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.scrape_interval_seconds < MIN_SCRAPE_INTERVAL_SECONDS:
            raise ValueError(f"scrape_interval_seconds = {args.scrape_interval_seconds}: AMP's scrapers take "
                             f"{MIN_SCRAPE_INTERVAL_SECONDS} s or more")
        super().__init__("backend-on-eks:index:Metrics", name, None, opts)
        self._prefix, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)

        workspace = aws.amp.Workspace(f"{name}-workspace", alias=args.workspace_alias,
                                      tags=dict(SCRAPER_WORKSPACE_TAG), opts=self._child)
        scraper = aws.amp.Scraper(
            f"{name}-scraper",
            alias=args.workspace_alias,
            scrape_configuration=scrape_configuration(args.targets, args.scrape_interval_seconds),
            source=aws.amp.ScraperSourceArgs(eks=aws.amp.ScraperSourceEksArgs(
                cluster_arn=args.cluster_arn,
                subnet_ids=args.subnet_ids,
                security_group_ids=[self._security_group().id],
            )),
            destination=aws.amp.ScraperDestinationArgs(
                amp=aws.amp.ScraperDestinationAmpArgs(workspace_arn=workspace.arn)),
            opts=self._child,
        )

        self.workspace_id = workspace.id
        self.workspace_arn = workspace.arn
        self.prometheus_endpoint = workspace.prometheus_endpoint
        self.scraper_arn = scraper.arn
        self.register_outputs({
            "workspace_id": self.workspace_id,
            "workspace_arn": self.workspace_arn,
            "prometheus_endpoint": self.prometheus_endpoint,
            "scraper_arn": self.scraper_arn,
        })

    def _security_group(self) -> aws.ec2.SecurityGroup:
        security_group = aws.ec2.SecurityGroup(
            f"{self._prefix}-scraper-sg",
            vpc_id=self._args.vpc_id,
            description="Amazon Managed Service for Prometheus scraper of the backend's metrics",
            opts=self._child,
        )
        ports = sorted({target.port for target in self._args.targets} | {KUBERNETES_API_PORT})
        for port in ports:
            what = "the Kubernetes API (pod discovery)" if port == KUBERNETES_API_PORT else f"metrics port {port}"
            aws.vpc.SecurityGroupEgressRule(
                f"{self._prefix}-scraper-to-{port}",
                security_group_id=security_group.id,
                description=f"To the cluster's {what}",
                ip_protocol="tcp", from_port=port, to_port=port,
                referenced_security_group_id=self._args.node_security_group_id,
                opts=self._child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{self._prefix}-{port}-from-scraper",
                security_group_id=self._args.node_security_group_id,
                description=f"The metrics scraper to {what}",
                ip_protocol="tcp", from_port=port, to_port=port,
                referenced_security_group_id=security_group.id,
                opts=self._child,
            )
        return security_group
