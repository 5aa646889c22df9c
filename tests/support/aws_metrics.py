"""The metrics AWS publishes, with the dimension sets it publishes each under: what every alarm and
dashboard widget of the program is held to. Only the metrics the program reads are listed.

ContainerInsights: the dimension sets the CloudWatch agent's own integration test expects from an
EKS cluster with enhanced observability (aws/amazon-cloudwatch-agent-test,
test/metric_value_benchmark/eks_resources/util.go, GetExpectedDimsToMetrics, at cf47fdc3, 2026-07-01).
PodName is the owning Deployment's name for a ReplicaSet's pods (opentelemetry-collector-contrib,
receiver/awscontainerinsightreceiver/internal/stores/podstore.go, addPodOwnersAndPodName).

AWS/NetworkELB: the Network Load Balancer user guide, "CloudWatch metrics for your Network Load
Balancer" (load-balancer-cloudwatch-metrics), its metrics and dimensions tables.

On a live stack, `python -m ops verify` asks CloudWatch whether Container Insights reports the
stack's namespace (`list-metrics --recently-active PT3H` for namespace_number_of_running_pods);
it does not re-check each widget's metric.
"""

from __future__ import annotations

CONTAINER_INSIGHTS: dict[frozenset[str], frozenset[str]] = {
    frozenset({"ClusterName"}): frozenset({
        "cluster_node_count", "cluster_failed_node_count", "cluster_number_of_running_pods",
        "node_cpu_utilization", "node_memory_utilization", "namespace_number_of_running_pods",
        "pod_number_of_container_restarts", "pod_cpu_utilization", "pod_memory_utilization",
    }),
    frozenset({"ClusterName", "Namespace"}): frozenset({
        "namespace_number_of_running_pods", "pod_cpu_utilization", "pod_memory_utilization",
        "pod_cpu_utilization_over_pod_limit", "pod_memory_utilization_over_pod_limit",
    }),
    frozenset({"ClusterName", "Namespace", "PodName"}): frozenset({
        "pod_number_of_container_restarts", "pod_cpu_utilization", "pod_memory_utilization",
        "pod_cpu_utilization_over_pod_limit", "pod_memory_utilization_over_pod_limit",
    }),
    frozenset({"ClusterName", "InstanceId", "NodeName"}): frozenset({
        "node_cpu_utilization", "node_memory_utilization",
    }),
}

NETWORK_ELB: dict[frozenset[str], frozenset[str]] = {
    frozenset({"LoadBalancer"}): frozenset({"ActiveFlowCount", "NewFlowCount", "ProcessedBytes", "TCP_Target_Reset_Count"}),
    frozenset({"LoadBalancer", "TargetGroup"}): frozenset({"HealthyHostCount", "UnHealthyHostCount"}),
}

PUBLISHED = {"ContainerInsights": CONTAINER_INSIGHTS, "AWS/NetworkELB": NETWORK_ELB}


def is_published(namespace: str, metric: str, dimensions: frozenset[str]) -> bool:
    return metric in PUBLISHED.get(namespace, {}).get(dimensions, frozenset())
