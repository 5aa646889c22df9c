"""backend-on-eks: the Flask backend from source to a running service on Amazon EKS.

Wiring only: settings -> components -> exports. Each component gets just the values it needs,
and every edge between them is an output passed here, so the graph reads top to bottom.
"""

import pulumi

import access
import addon_versions
import autoscaler_releases
import control_plane_logs
import image_pin
import settings
import zones
from components.alerting import Alerting, AlertingArgs, Workspace
from components.cluster import Cluster, ClusterArgs
from components.container_insights import ContainerInsights, ContainerInsightsArgs
from components.container_insights import log_group_names as container_insights_log_groups
from components.dashboard import Dashboard, DashboardArgs
from components.exposure import NodePortAccess, NodePortAccessArgs
from components.front_door import FrontDoor, FrontDoorArgs
from components.image import Image, ImageArgs
from components.metrics import Metrics, MetricsArgs, ScrapeTarget
from components.network import Network, NetworkArgs
from components.node_autoscaler import NodeAutoscaler, NodeAutoscalerArgs
from components.registry import Registry, RegistryArgs
from components.stack_readers import NamedObjects, StackReaders, StackReadersArgs
from components.workload import Workload, WorkloadArgs

# Relative to the project directory, where the CLI runs the program and the docker provider:
# the build paths then mean the same in every checkout (an absolute one is stored in state).
APP_CONTEXT = "app"
CONTAINER_PORT = 8080
# The backend's probes and metrics (app/backend/admin.py); never behind the Service.
ADMIN_PORT = 8081
# Answered on the public port too: what the load balancer's health check asks through the nodePort.
READINESS_PATH = "/readyz"

config = settings.load()
# The scraper's job for the backend's pods, which the alerting rules select.
BACKEND_SCRAPE_JOB = config.app_name
# What the program must learn from AWS before it declares anything: a wrong answer here would
# otherwise surface half-way through an `up`.
cluster_access = access.cluster_access(config)
creator_tag = access.creator_tag_value(cluster_access.creator_arn)
control_plane_logs.refuse_a_group_left_after_a_destroy(
    config.cluster_name, config.region,
    container_insights_log_groups(config.cluster_name) if config.container_insights else ())
pinned_tags = image_pin.pinned_image_tags(config.repository_name, config.image_digest) if config.image_digest else ()
availability_zones = zones.zones_offering(config.node_instance_types, config.availability_zone_count)

network = Network("network", NetworkArgs(
    cidr_block=config.vpc_cidr,
    availability_zone_names=availability_zones,
    nat_gateway_strategy=config.nat_gateway_strategy,
))

cluster = Cluster("cluster", ClusterArgs(
    cluster_name=config.cluster_name,
    kubernetes_version=config.kubernetes_version,
    upgrade_policy=config.upgrade_policy,
    vpc_cni_version=addon_versions.installed_version(
        "vpc-cni", config.kubernetes_version, config.addon_versions.vpc_cni),
    kube_proxy_version=addon_versions.installed_version(
        "kube-proxy", config.kubernetes_version, config.addon_versions.kube_proxy),
    vpc_id=network.vpc_id,
    public_subnet_ids=network.public_subnet_ids,
    private_subnet_ids=network.private_subnet_ids,
    nodes_in_public_subnets=config.nodes_in_public_subnets,
    api_public_access_cidrs=config.api_public_access_cidrs,
    access_grants=cluster_access.grants,
    cluster_tags={access.CREATOR_TAG: creator_tag},
    control_plane_log_tags={control_plane_logs.OWNER_TAG: control_plane_logs.owner()},
    control_plane_log_retention_days=config.control_plane_log_retention_days,
    node_instance_types=config.node_instance_types,
    node_ami_type=config.node_ami_type,
    node_disk_size_gib=config.node_disk_size_gib,
    node_min_size=config.node_min_size,
    node_desired_size=config.node_desired_size,
    node_max_size=config.node_max_size,
    node_autoscaling=config.node_autoscaling,
    metrics_server=config.pod_autoscaling,
    metrics_server_version=config.addon_versions.metrics_server,
    pod_identity_agent=config.node_autoscaling or config.container_insights,
    pod_identity_agent_version=config.addon_versions.eks_pod_identity_agent,
    # Where the agent was declared while only the Cluster Autoscaler used it.
    pod_identity_agent_aliases=[pulumi.Alias(
        name="node-autoscaler-pod-identity-agent",
        parent=pulumi.create_urn("node-autoscaler", "backend-on-eks:index:NodeAutoscaler"),
    )],
    kms_key_deletion_window_days=config.kms_key_deletion_window_days,
    deletion_protection=config.cluster_deletion_protection,
    protect=config.protect_stateful_resources,
))

# The image depends on the registry alone, so it builds and pushes while the cluster (the
# longest step, about ten minutes) is still being created.
registry = Registry("registry", RegistryArgs(
    repository_name=config.repository_name,
    keep_images=config.ecr_keep_images,
    force_delete=config.ecr_force_delete,
    protect=config.protect_stateful_resources,
))

image = Image("image", ImageArgs(
    context=APP_CONTEXT,
    platform=config.image_platform,
    repository_name=config.repository_name,
    repository_url=registry.repository_url,
    registry_id=registry.registry_id,
    pinned_digest=config.image_digest,
    pinned_tags=pinned_tags,
))

workload = Workload("workload", WorkloadArgs(
    kubeconfig=cluster.kubeconfig,
    app_name=config.app_name,
    namespace=config.namespace,
    image=image.repo_digest,
    replicas=config.replicas,
    max_replicas=config.max_replicas if config.pod_autoscaling else None,
    target_cpu_utilization=config.target_cpu_utilization,
    node_port=config.node_port,
    container_port=CONTAINER_PORT,
    admin_port=ADMIN_PORT,
    admin_sources=(config.vpc_cidr,),
    cpu_request=config.container_resources.cpu_request,
    cpu_limit=config.container_resources.cpu_limit,
    memory_request=config.container_resources.memory_request,
    memory_limit=config.container_resources.memory_limit,
    environment=config.plain_environment,
    secret_environment=config.secret_environment,
    egress_ports=(config.upstream_port,),
))

# The stack's objects AmazonEKSViewPolicy does not read, for its readers' group to be let read.
readable_cluster_objects: list[NamedObjects] = []
readable_namespaced_objects: dict[str, list[NamedObjects]] = {}
if config.node_autoscaling:
    autoscaler_release = autoscaler_releases.release_for(config.kubernetes_version)
    node_autoscaler = NodeAutoscaler("node-autoscaler", NodeAutoscalerArgs(
        cluster_name=cluster.cluster_name,
        kubeconfig=cluster.kubeconfig,
        image=autoscaler_release.image,
        cluster_rules=autoscaler_release.cluster_rules,
        region=config.region,
        depends_on=cluster.pod_identity_dependencies,
    ))
    role, binding = node_autoscaler.cluster_role_names[0], node_autoscaler.cluster_role_names[1]
    readable_cluster_objects += [NamedObjects("clusterroles", [role]), NamedObjects("clusterrolebindings", [binding])]
    role, binding = node_autoscaler.namespace_role_names[0], node_autoscaler.namespace_role_names[1]
    readable_namespaced_objects[node_autoscaler.rbac_namespace] = [
        NamedObjects("roles", [role]), NamedObjects("rolebindings", [binding])]

if config.container_insights:
    container_insights = ContainerInsights("container-insights", ContainerInsightsArgs(
        cluster_name=cluster.cluster_name,
        log_retention_days=config.container_log_retention_days,
        addon_version=config.addon_versions.amazon_cloudwatch_observability,
        log_group_tags={control_plane_logs.OWNER_TAG: control_plane_logs.owner()},
        depends_on=cluster.pod_identity_dependencies,
    ))
    pulumi.export("applicationLogGroup", container_insights.application_log_group_name)

if config.metrics_collection:
    backend_target = ScrapeTarget(job=BACKEND_SCRAPE_JOB, namespace=config.namespace,
                                  pod_labels=workload.pod_selector, port_name=workload.admin_port_name, port=ADMIN_PORT)
    scrape_targets = [backend_target]
    if config.node_autoscaling:
        scrape_targets.append(ScrapeTarget(job="cluster-autoscaler", namespace=node_autoscaler.rbac_namespace,
                                           pod_labels=node_autoscaler.pod_selector, port_name=node_autoscaler.metrics_port_name,
                                           port=node_autoscaler.metrics_port))
    metrics = Metrics("metrics", MetricsArgs(
        workspace_alias=config.cluster_name,
        cluster_arn=cluster.cluster_arn,
        vpc_id=network.vpc_id,
        subnet_ids=cluster.node_subnet_ids,
        node_security_group_id=cluster.node_security_group_id,
        targets=scrape_targets,
    ))
    pulumi.export("prometheusEndpoint", metrics.prometheus_endpoint)
    pulumi.export("scrapeJob", BACKEND_SCRAPE_JOB)

if config.viewer_principal_arns:
    StackReaders("stack-readers", StackReadersArgs(
        kubeconfig=cluster.kubeconfig,
        group=access.STACK_READERS_GROUP,
        stack_namespace=workload.namespace,
        cluster_objects=readable_cluster_objects,
        namespaced_objects=readable_namespaced_objects,
    ))

# How clients reach the service, and the load balancer's dimensions its alarm and dashboard read.
service_url: pulumi.Output[str] | None
load_balancer_dimensions: tuple[pulumi.Output[str], pulumi.Output[str]] | None
if config.exposure == "loadBalancer":
    front_door = FrontDoor("front-door", FrontDoorArgs(
        vpc_id=network.vpc_id,
        public_subnet_ids=network.public_subnet_ids,
        node_security_group_id=cluster.node_security_group_id,
        autoscaling_group_names=cluster.autoscaling_group_names,
        node_port=config.node_port,
        health_check_path=READINESS_PATH,
        ingress_cidrs=config.load_balancer_ingress_cidrs,
        domain_name=config.domain_name,
        hosted_zone_id=config.hosted_zone_id,
    ))
    service_url = front_door.service_url
    load_balancer_dimensions = (front_door.load_balancer_dimension, front_door.target_group_dimension)
    pulumi.export("targetGroupArn", front_door.target_group_arn)
else:
    node_port_access = NodePortAccess("nodeport-access", NodePortAccessArgs(
        security_group_id=cluster.node_security_group_id,
        node_port=config.node_port,
        ingress_cidrs=config.node_port_ingress_cidrs,
        cluster_name=cluster.cluster_name,
        nodes_have_public_ips=config.nodes_in_public_subnets,
        nodes=[cluster.node_group],
    ))
    service_url = node_port_access.service_url
    load_balancer_dimensions = None

if config.metrics_collection or config.container_insights:
    alerting = Alerting("alerting", AlertingArgs(
        workspace=Workspace(metrics.workspace_id, metrics.workspace_arn) if config.metrics_collection else None,
        region=config.region,
        job=BACKEND_SCRAPE_JOB,
        error_rate_percent=config.alarm_error_rate_percent,
        latency_p99_ms=config.alarm_latency_p99_ms,
        emails=config.alarm_emails,
        load_balancer_dimensions=load_balancer_dimensions,
        restart_dimensions={"ClusterName": cluster.cluster_name, "Namespace": workload.namespace,
                            "PodName": workload.deployment_name} if config.container_insights else None,
    ))
    pulumi.export("alarmTopicArn", alerting.topic_arn)
    pulumi.export("alarmNames", alerting.alarm_names)

if config.container_insights:
    dashboard = Dashboard("dashboard", DashboardArgs(
        dashboard_name=f"{config.cluster_name}-{config.region}",
        region=config.region,
        cluster_name=cluster.cluster_name,
        namespace=workload.namespace,
        deployment_name=workload.deployment_name,
        application_log_group=container_insights.application_log_group_name,
        health_check_path=READINESS_PATH,
        load_balancer_dimensions=load_balancer_dimensions,
        alarm_arns=alerting.alarm_arns,
    ))
    pulumi.export("dashboardName", dashboard.dashboard_name)

pulumi.export("region", config.region)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("updateKubeconfigCommand", pulumi.Output.concat(
    "aws eks update-kubeconfig --region ", config.region, " --name ", cluster.cluster_name
))
pulumi.export("repositoryUrl", registry.repository_url)
pulumi.export("imageRef", image.repo_digest)
pulumi.export("imageTag", image.tag)
# True when this run declared a build. The next run finds the tag in ECR and drops the build's
# record from state (components/image.py); the deploy workflows run that `up` at once.
pulumi.export("imageBuilt", image.built)
pulumi.export("namespace", workload.namespace)
pulumi.export("deploymentName", workload.deployment_name)
pulumi.export("serviceName", workload.service_name)
pulumi.export("nodePort", workload.node_port)
pulumi.export("containerPort", CONTAINER_PORT)
pulumi.export("exposure", config.exposure)
if service_url is not None:
    pulumi.export("serviceUrl", service_url)
else:
    pulumi.export("portForwardCommand", pulumi.Output.concat(
        "kubectl port-forward --namespace ", workload.namespace, " service/", workload.service_name,
        f" {CONTAINER_PORT}:{CONTAINER_PORT}",
    ))
