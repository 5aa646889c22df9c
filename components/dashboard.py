"""The stack's CloudWatch dashboard: the backend's traffic, its pods and nodes, the load balancer, the alarms.

CloudWatch dashboards cannot read an AMP workspace, so the backend's request rate, errors, latency
and upstream calls come from its own logs: every request writes one JSON access line on stdout
(app/backend/logs.py) and every failed upstream search a warning on stderr, which Fluent Bit ships
to the application log group with the parsed line under `log_processed` (the add-on's kubernetes
filter: Merge_Log On, Merge_Log_Key log_processed) and the pod's namespace under `kubernetes`.
Pods and nodes are Container Insights' metrics, the load balancer AWS/NetworkELB's. Each widget's
metric and dimension set is one AWS publishes; the tests hold them to AWS's lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import pulumi
import pulumi_aws as aws

GRID_COLUMNS = 24
WIDGET_WIDTH, WIDGET_HEIGHT = 8, 6
# The backend's upstream client logs each failed search once under this logger (app/backend/upstream.py).
UPSTREAM_LOGGER = "backend.upstream"


@dataclass
class DashboardArgs:
    dashboard_name: str
    """Dashboards are global to the account, not regional: the name must tell the stacks apart."""
    region: str
    cluster_name: pulumi.Input[str]
    namespace: pulumi.Input[str]
    deployment_name: pulumi.Input[str]
    """Container Insights' PodName for a Deployment's pods."""
    application_log_group: pulumi.Input[str]
    health_check_path: str
    """Left out of the request panels: the load balancer asks it of every node all day long."""
    load_balancer_dimensions: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    """The load balancer's and its target group's ARN suffixes (CloudWatch's dimension values)."""
    alarm_arns: pulumi.Input[Sequence[str]] = ()


@dataclass(frozen=True)
class _Place:
    """Lays widgets left to right, WIDGET_WIDTH each, in rows of the dashboard's 24 columns."""
    widgets: list[dict]

    def add(self, widget_type: str, properties: dict[str, Any]) -> None:
        per_row = GRID_COLUMNS // WIDGET_WIDTH
        index = len(self.widgets)
        self.widgets.append({
            "type": widget_type,
            "x": (index % per_row) * WIDGET_WIDTH, "y": (index // per_row) * WIDGET_HEIGHT,
            "width": WIDGET_WIDTH, "height": WIDGET_HEIGHT,
            "properties": properties,
        })


def _access_log_query(log_group: str, namespace: str, condition: str, stats: str) -> str:
    # One line per clause, as the dashboard body's own examples write them.
    clauses = [f"SOURCE '{log_group}'",
               f"filter kubernetes.namespace_name = '{namespace}' and {condition}",
               stats]
    return "\n| ".join(clauses)


def dashboard_body(region: str, cluster_name: str, namespace: str, deployment_name: str, log_group: str,
                   health_check_path: str, load_balancer: tuple[str, str] | None, alarm_arns: Sequence[str]) -> dict:
    place = _Place([])
    access = f"log_processed.type = 'access' and log_processed.path != '{health_check_path}'"

    def logs(title: str, condition: str, stats: str) -> None:
        place.add("log", {"title": title, "region": region, "view": "timeSeries",
                          "query": _access_log_query(log_group, namespace, condition, stats)})

    def metrics(title: str, rows: list[list], stat: str, period: int = 60) -> None:
        place.add("metric", {"title": title, "region": region, "view": "timeSeries", "stacked": False,
                             "stat": stat, "period": period, "metrics": rows})

    logs("Requests per minute", access, "stats count(*) as requests by bin(1m)")
    logs("5xx answers per minute", f"{access} and log_processed.status >= 500", "stats count(*) as errors by bin(1m)")
    logs("Latency (ms)", access, "stats pct(log_processed.duration_ms, 50) as p50, "
         "pct(log_processed.duration_ms, 90) as p90, pct(log_processed.duration_ms, 99) as p99 by bin(1m)")
    logs("Answers fetched from the upstream (cache miss) per minute", f"{access} and log_processed.cache = 'miss'",
         "stats count(*) as fetched by bin(1m)")
    logs("Failed upstream searches per minute",
         f"log_processed.logger = '{UPSTREAM_LOGGER}' and log_processed.level = 'WARNING'",
         "stats count(*) as failures by bin(1m)")

    pods = ["ContainerInsights", "pod_cpu_utilization_over_pod_limit",
            "ClusterName", cluster_name, "Namespace", namespace, "PodName", deployment_name]
    metrics("Backend pods running", [["ContainerInsights", "namespace_number_of_running_pods",
                                      "ClusterName", cluster_name, "Namespace", namespace]], "Minimum")
    metrics("Backend container restarts", [["ContainerInsights", "pod_number_of_container_restarts",
                                            "ClusterName", cluster_name, "Namespace", namespace,
                                            "PodName", deployment_name]], "Sum", period=300)
    metrics("Backend CPU and memory (% of the pods' limits)",
            [pods, [".", "pod_memory_utilization_over_pod_limit", ".", ".", ".", ".", ".", "."]], "Average")
    metrics("Nodes", [["ContainerInsights", "cluster_node_count", "ClusterName", cluster_name],
                      [".", "cluster_failed_node_count", ".", "."]], "Maximum")
    metrics("Node CPU and memory (%)", [["ContainerInsights", "node_cpu_utilization", "ClusterName", cluster_name],
                                        [".", "node_memory_utilization", ".", "."]], "Average")
    if load_balancer is not None:
        balancer, target_group = load_balancer
        metrics("Load balancer targets", [
            ["AWS/NetworkELB", "HealthyHostCount", "TargetGroup", target_group, "LoadBalancer", balancer],
            [".", "UnHealthyHostCount", ".", ".", ".", "."]], "Maximum")
        metrics("New connections per minute", [["AWS/NetworkELB", "NewFlowCount", "LoadBalancer", balancer]], "Sum")
    if alarm_arns:
        place.add("alarm", {"title": "Alarms", "alarms": sorted(alarm_arns)})
    return {"start": "-PT3H", "widgets": place.widgets}


class Dashboard(pulumi.ComponentResource):
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:Dashboard", name, None, opts)
        balancer = args.load_balancer_dimensions or (None, None)
        body = pulumi.Output.all(args.cluster_name, args.namespace, args.deployment_name, args.application_log_group,
                                 balancer[0], balancer[1], args.alarm_arns).apply(
            lambda values: json.dumps(dashboard_body(
                args.region, values[0], values[1], values[2], values[3], args.health_check_path,
                (values[4], values[5]) if args.load_balancer_dimensions else None, values[6]), sort_keys=True))
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.dashboard_name,
            dashboard_body=body,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})
