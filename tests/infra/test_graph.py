"""The resource graph each stack would create, evaluated from the real __main__.py under mocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import settings
from ops.offline import harness
from ops.offline.stacks import evaluate_stack
from ops.offline.fakes import CLUSTER_SECURITY_GROUP_ID, INVOKE_FAKES, NODE_PUBLIC_IPS, RESOURCE_FAKES, fake_digest
from tests.support.types import DEPLOYMENT, EKS_CLUSTER, HPA, IMAGE, NETWORK_POLICY, NODE_GROUP, SERVICE

PREFIX = "backend-on-eks:"
K8S_PROVIDER = "pulumi:providers:kubernetes"


@pytest.fixture(params=["dev", "prod"])
def stack(request) -> harness.Evaluation:
    return request.getfixturevalue(request.param)


def container(evaluation: harness.Evaluation) -> dict:
    [only] = evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]["containers"]
    return only


def test_every_output_the_program_uses_is_provided_by_the_fakes(stack):
    assert stack.missing_fake_outputs() == []


def test_a_fake_output_left_out_is_caught_rather_than_passed_on_as_none():
    fakes = {**dict(RESOURCE_FAKES), EKS_CLUSTER: lambda args: {"clusterSecurityGroupId": "sg-1"}}
    evaluation = harness.evaluate("dev", harness.stack_file_config("dev"), fakes, dict(INVOKE_FAKES))
    assert any(
        missing.startswith(f"{K8S_PROVIDER} workload-provider: <<missing fake output {EKS_CLUSTER}.kubeconfigJson")
        for missing in evaluation.missing_fake_outputs()
    ), evaluation.missing_fake_outputs()


def test_the_deployment_runs_exactly_the_image_that_was_built_and_pushed(stack):
    image = stack.one(IMAGE)
    assert container(stack)["image"] == image.outputs["repoDigest"]
    assert container(stack)["image"].endswith("@" + fake_digest(image.inputs["imageName"]))
    assert stack.exports["imageRef"] == image.outputs["repoDigest"]


def test_every_kubernetes_resource_uses_the_provider_built_from_the_clusters_kubeconfig(stack):
    provider = stack.one(K8S_PROVIDER, "workload-provider")
    cluster = stack.one(EKS_CLUSTER)
    assert json.loads(provider.inputs["kubeconfig"]) == cluster.outputs["kubeconfig"]
    workload = stack.one("backend-on-eks:index:Workload")
    kubernetes_resources = [r for r in stack.registrations if r.type.startswith("kubernetes:") and r.parent == workload.urn]
    assert {r.type for r in kubernetes_resources} == {
        "kubernetes:core/v1:Namespace", DEPLOYMENT, SERVICE, "kubernetes:policy/v1:PodDisruptionBudget",
        NETWORK_POLICY, *([HPA] if stack.stack == "prod" else []),
    }
    for resource in kubernetes_resources:
        assert resource.provider == f"{provider.urn}::{provider.name}-id", resource.name


def test_the_image_is_pushed_to_the_repository_with_ecr_credentials(stack):
    image = stack.one(IMAGE)
    repository_url = stack.one("aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert image.inputs["imageName"].startswith(repository_url + ":")
    assert image.inputs["registry"] == {"server": repository_url, "username": "AWS", "password": "fake-ecr-password"}
    [token_call] = [i for i in stack.invokes if i.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken"]
    assert token_call.args["registryId"] == "123456789012"
    assert image.inputs.get("skipPush") in (None, False)


def test_the_image_tag_is_derived_from_the_build_context_never_latest(stack):
    tag = stack.one(IMAGE).inputs["imageName"].rsplit(":", 1)[1]
    from components.image import content_tag
    assert tag == content_tag(harness.PROJECT_DIR / "app", stack.config[f"{harness.PROJECT}:imagePlatform"])
    assert tag != "latest"


def test_the_image_builds_app_for_the_nodes_platform_during_preview_too(stack):
    image = stack.one(IMAGE)
    # Relative to the project directory (the CLI's and the provider's working directory), so the
    # state means the same from every checkout.
    assert image.inputs["build"]["context"] == "app"
    assert image.inputs["build"]["dockerfile"] == "app/Dockerfile"
    assert image.inputs["build"]["platform"] == "linux/amd64"
    assert "args" not in image.inputs["build"]  # the Dockerfile's default base, unchanged
    assert image.inputs["buildOnPreview"] is True


def test_the_image_build_waits_for_neither_the_cluster_nor_the_network(stack):
    waits_for = stack.transitive_dependencies(stack.one(IMAGE))
    for type_ in (EKS_CLUSTER, NODE_GROUP, "awsx:ec2:Vpc", "backend-on-eks:index:Cluster",
                  "backend-on-eks:index:Network"):
        assert not waits_for & {r.urn for r in stack.of_type(type_)}, type_
    assert stack.one("aws:ecr/repository:Repository").urn in waits_for


def test_the_deployment_waits_for_the_image_and_the_cluster(stack):
    waits_for = stack.transitive_dependencies(stack.one(DEPLOYMENT, "workload-deployment"))
    assert stack.one(IMAGE).urn in waits_for
    assert stack.one(EKS_CLUSTER).urn in waits_for


def test_the_node_group_uses_the_node_role_and_the_configured_subnets(dev, prod):
    for evaluation, kind in ((dev, "public"), (prod, "private")):
        node_group = evaluation.one(NODE_GROUP)
        assert node_group.inputs["nodeRole"] == evaluation.one("aws:iam/role:Role", "cluster-node-role").urn
        assert node_group.inputs["cluster"] == evaluation.one(EKS_CLUSTER).urn
        zones = int(evaluation.config[PREFIX + "availabilityZoneCount"])
        assert node_group.inputs["subnetIds"] == [f"subnet-{kind}-{zone}" for zone in range(zones)]


def test_the_node_group_takes_sizes_instance_types_and_ami_from_config(dev):
    node_group = dev.one(NODE_GROUP)
    assert node_group.inputs["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}
    assert node_group.inputs["instanceTypes"] == ["t3.small"]
    assert node_group.inputs["amiType"] == "AL2023_x86_64_STANDARD"


def test_the_nodes_run_the_clusters_kubernetes_version(stack):
    configured = stack.config[PREFIX + "kubernetesVersion"]
    assert stack.one(NODE_GROUP).inputs["version"] == stack.one(EKS_CLUSTER).inputs["version"] == configured


def test_the_cluster_sets_its_upgrade_policy_rather_than_taking_eks_extended_default(stack):
    assert stack.one(EKS_CLUSTER).inputs["upgradePolicy"] == {"supportType": "STANDARD"}


def test_the_add_ons_are_pinned_to_the_versions_table_for_the_clusters_version(stack):
    import eks_versions
    pins = eks_versions.addon_versions(stack.config[PREFIX + "kubernetesVersion"])
    cluster = stack.one(EKS_CLUSTER).inputs
    # Where the table has no pin, AWS's default version for the Kubernetes version (test_addon_versions.py).
    for installed, pinned in ((cluster["kubeProxyAddonOptions"]["version"], pins.kube_proxy),
                              (cluster["vpcCniOptions"]["addonVersion"], pins.vpc_cni)):
        assert installed == pinned if pinned else installed
    assert cluster["vpcCniOptions"]["enableNetworkPolicy"] is True


def test_a_pinned_add_on_version_reaches_the_cluster():
    import eks_versions
    row = [row for row in eks_versions.VERSIONS if not row.addons.missing(eks_versions.INSTALLED_ADDONS)][-1]
    evaluation = evaluate_stack("dev", {PREFIX + "kubernetesVersion": row.version}, today=row.released)
    cluster = evaluation.one(EKS_CLUSTER).inputs
    assert row.addons.vpc_cni and row.addons.kube_proxy
    assert cluster["vpcCniOptions"]["addonVersion"] == row.addons.vpc_cni
    assert cluster["kubeProxyAddonOptions"]["version"] == row.addons.kube_proxy


def _metrics_server_add_on(evaluation):
    [add_on] = [r for r in evaluation.of_type("aws:eks/addon:Addon") if r.inputs["addonName"] == "metrics-server"]
    return add_on.inputs


def test_the_metrics_server_add_on_takes_the_catalogs_pin_for_the_clusters_version(tmp_path):
    import shutil
    checkout = tmp_path / "checkout"
    shutil.copytree(harness.PROJECT_DIR, checkout, ignore=shutil.ignore_patterns(".git", ".venv*", "mutants", "tests"))
    catalog_file = checkout / "catalog" / "eks-versions.json"
    document = json.loads(catalog_file.read_text())
    default = harness.project_config_schema()["kubernetesVersion"]["default"]
    [row] = [row for row in document["versions"] if row["version"] == default]
    row["addons"]["metrics-server"] = "v0.8.0-eksbuild.2"
    catalog_file.write_text(json.dumps(document))
    evaluation = evaluate_stack("prod", project_dir=checkout)
    assert _metrics_server_add_on(evaluation)["addonVersion"] == "v0.8.0-eksbuild.2"


def test_after_evaluating_another_checkout_the_tests_import_the_repositorys_own_modules(tmp_path):
    import shutil
    import sys
    checkout = tmp_path / "checkout"
    shutil.copytree(harness.PROJECT_DIR, checkout, ignore=shutil.ignore_patterns(".git", ".venv*", "mutants", "tests"))
    evaluate_stack("dev", project_dir=checkout)
    import eks_versions
    assert eks_versions.CATALOG_FILE == harness.PROJECT_DIR / "catalog" / "eks-versions.json"
    assert "components" not in sys.modules or checkout not in Path(sys.modules["components"].__file__).parents


def test_without_a_catalog_pin_the_metrics_server_add_on_takes_ekss_default_at_creation(prod):
    import eks_versions
    assert eks_versions.addon_versions(prod.config[PREFIX + "kubernetesVersion"]).metrics_server is None
    assert "addonVersion" not in _metrics_server_add_on(prod)


def test_the_node_role_carries_exactly_the_three_node_policies(stack):
    role = stack.one("aws:iam/role:Role", "cluster-node-role")
    attachments = [a for a in stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.inputs["role"] == role.name]
    assert sorted(a.inputs["policyArn"] for a in attachments) == [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_the_node_group_waits_for_its_role_policies(stack):
    waits_for = stack.transitive_dependencies(stack.one(NODE_GROUP))
    role = stack.one("aws:iam/role:Role", "cluster-node-role")
    attachments = [a for a in stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.inputs["role"] == role.name]
    assert len(attachments) == 3
    for attachment in attachments:
        assert attachment.urn in waits_for


def test_nodes_require_imdsv2_with_a_hop_limit_of_one_and_an_encrypted_root_volume(stack):
    template = stack.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1,
    }
    [root] = template.inputs["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    assert root["ebs"]["encrypted"] == "true"
    assert root["ebs"]["volumeSize"] == 20
    assert stack.one(NODE_GROUP).inputs["launchTemplate"] == {"id": "cluster-node-template-id", "version": "1"}


def test_the_cluster_uses_access_entries_and_no_default_node_group(stack):
    cluster = stack.one(EKS_CLUSTER).inputs
    assert cluster["authenticationMode"] == "API"
    assert cluster["skipDefaultNodeGroup"] is True
    assert cluster["name"] == f"backend-on-eks-{stack.stack}"


def test_admin_principals_get_cluster_scoped_cluster_admin_and_the_preview_role_views(prod):
    entries = prod.one(EKS_CLUSTER).inputs["accessEntries"]
    assert entries == {
        "123456789012-role-PlatformAdmin": {
            "principalArn": "arn:aws:iam::123456789012:role/PlatformAdmin",
            "accessPolicies": {"cluster-admin": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                "accessScope": {"type": "cluster"},
            }},
        },
        "123456789012-role-backend-on-eks-preview": {
            "principalArn": "arn:aws:iam::123456789012:role/backend-on-eks-preview",
            "kubernetesGroups": ["backend-on-eks:stack-readers"],
            "accessPolicies": {"view": {
                "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                "accessScope": {"type": "cluster"},
            }},
        },
    }


def test_the_cluster_encrypts_secrets_with_a_rotating_key_and_logs_the_control_plane(stack):
    cluster = stack.one(EKS_CLUSTER).inputs
    key = stack.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert cluster["encryptionConfigKeyArn"] == key.outputs["arn"]
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]


def test_the_cluster_is_placed_in_the_network(stack):
    cluster = stack.one(EKS_CLUSTER).inputs
    zones = int(stack.config[PREFIX + "availabilityZoneCount"])
    assert cluster["vpcId"] == "vpc-0fake0000000000001"
    assert cluster["publicSubnetIds"] == [f"subnet-public-{zone}" for zone in range(zones)]
    assert cluster["privateSubnetIds"] == [f"subnet-private-{zone}" for zone in range(zones)]


def test_the_vpc_spans_the_configured_zones_with_tagged_public_and_private_subnets(dev, prod):
    # dev's nodes are public, so nothing in its private subnets needs a NAT gateway.
    for evaluation, zones, nat in ((dev, 2, "None"), (prod, 3, "OnePerAz")):
        vpc = evaluation.one("awsx:ec2:Vpc").inputs
        assert len(vpc["availabilityZoneNames"]) == zones
        assert vpc["natGateways"] == {"strategy": nat}
        tags = {spec["type"]: spec["tags"] for spec in vpc["subnetSpecs"]}
        assert tags == {"Public": {"kubernetes.io/role/elb": "1"}, "Private": {"kubernetes.io/role/internal-elb": "1"}}


def test_the_service_is_a_nodeport_from_8080_to_8080_on_the_configured_port(stack):
    spec = stack.one(SERVICE).inputs["spec"]
    assert spec["type"] == "NodePort"
    assert spec["ports"] == [{"name": "http", "protocol": "TCP", "port": 8080, "targetPort": 8080, "nodePort": 30080}]
    assert stack.exports["nodePort"] == 30080


def test_the_service_selects_exactly_the_deployments_pods(stack):
    deployment = stack.one(DEPLOYMENT, "workload-deployment").inputs["spec"]
    selector = stack.one(SERVICE).inputs["spec"]["selector"]
    assert selector == deployment["selector"]["matchLabels"] == {"app": "nextwork-flask-backend"}
    pod_labels = deployment["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert pod_labels["app.kubernetes.io/name"] == "nextwork-flask-backend"


def test_the_deployment_serves_on_8080_and_is_probed_on_its_admin_port_8081(dev, prod):
    for evaluation in (dev, prod):
        app = container(evaluation)
        assert app["ports"] == [
            {"name": "http", "containerPort": 8080, "protocol": "TCP"},
            {"name": "admin", "containerPort": 8081, "protocol": "TCP"},
        ]
        assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
        assert app["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}


def test_the_service_never_exposes_the_admin_port(stack):
    assert [port["targetPort"] for port in stack.one(SERVICE).inputs["spec"]["ports"]] == [8080]


def test_the_container_is_locked_down(stack):
    app = container(stack)
    pod = stack.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]
    assert app["securityContext"] == {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
    }
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False


def test_container_resources_come_from_config(dev, prod):
    assert container(dev)["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert container(prod)["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"},
    }


def test_a_rollout_never_drops_below_the_desired_replicas(stack):
    strategy = stack.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def test_pods_spread_across_nodes_and_zones(stack):
    constraints = stack.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in constraints} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for constraint in constraints:
        assert constraint["labelSelector"]["matchLabels"] == {"app": "nextwork-flask-backend"}


def test_the_disruption_budget_always_allows_one_eviction(stack):
    budget = stack.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert budget == {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "nextwork-flask-backend"}}}


def test_the_network_policy_admits_clients_on_8080_and_lets_pods_reach_only_dns_and_https(stack):
    spec = stack.one(NETWORK_POLICY, "workload-network-policy").inputs["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "nextwork-flask-backend"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 8080}]},
        # The admin port (probes, metrics) from inside the VPC only.
        {"from": [{"ipBlock": {"cidr": stack.config[PREFIX + "vpcCidr"]}}], "ports": [{"protocol": "TCP", "port": 8081}]},
    ]
    dns, https = spec["egress"]
    assert dns["to"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }]
    assert dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert https == {"ports": [{"protocol": "TCP", "port": 443}]}


def test_the_network_policy_opens_the_port_of_the_configured_upstream():
    evaluation = evaluate_stack("dev", {PREFIX + "upstreamUrl": "http://search.internal:8081/v1"})
    _, upstream = evaluation.one(NETWORK_POLICY, "workload-network-policy").inputs["spec"]["egress"]
    assert upstream == {"ports": [{"protocol": "TCP", "port": 8081}]}


def test_the_container_gets_its_port_and_the_stacks_backend_settings(stack):
    environment = {variable["name"]: variable["value"] for variable in container(stack)["env"]}
    from_config = {variable: stack.config[PREFIX + key] for key, variable in settings.BACKEND_ENVIRONMENT.items()}
    assert environment == {"PORT": "8080", "ADMIN_PORT": "8081", **from_config}
    assert environment["UPSTREAM_URL"] == "https://hn.algolia.com/api/v1/search"


def test_the_cluster_runs_the_vpc_cni_add_on_with_network_policy_enforcement(stack):
    cluster = stack.one(EKS_CLUSTER).inputs
    assert cluster["useDefaultVpcCni"] is False
    assert cluster["vpcCniOptions"]["enableNetworkPolicy"] is True


def test_the_namespace_enforces_the_restricted_pod_security_standard(stack):
    namespace = stack.one("kubernetes:core/v1:Namespace").inputs["metadata"]
    assert namespace["name"] == "backend"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_repository_scans_on_push_and_has_immutable_tags(stack):
    repository = stack.one("aws:ecr/repository:Repository").inputs
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["imageTagMutability"] == "IMMUTABLE"


def test_the_lifecycle_policy_keeps_the_configured_number_of_images(dev, prod):
    for evaluation, keep in ((dev, 10), (prod, 30)):
        policy = json.loads(evaluation.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
        [rule] = policy["rules"]
        assert rule["selection"]["countNumber"] == keep
        assert rule["action"] == {"type": "expire"}


def test_by_default_no_cidr_may_reach_the_nodeport_and_port_forward_is_the_way_in(dev):
    assert dev.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
    assert "serviceUrl" not in dev.exports
    assert dev.exports["portForwardCommand"] == (
        "kubectl port-forward --namespace backend service/nextwork-flask-backend 8080:8080"
    )


def test_configured_cidrs_may_reach_the_nodeport_on_the_nodes_security_group_and_nothing_else():
    evaluation = evaluate_stack("dev", {PREFIX + "nodePortIngressCidrs": ["203.0.113.0/24", "198.51.100.7/32"]})
    rules = evaluation.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted((r.inputs["cidrIpv4"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"],
                   r.inputs["securityGroupId"]) for r in rules) == [
        ("198.51.100.7/32", 30080, 30080, "tcp", CLUSTER_SECURITY_GROUP_ID),
        ("203.0.113.0/24", 30080, 30080, "tcp", CLUSTER_SECURITY_GROUP_ID),
    ]
    assert evaluation.exports["serviceUrl"] == f"http://{sorted(NODE_PUBLIC_IPS)[0]}:30080"
    assert "portForwardCommand" not in evaluation.exports


def test_private_nodes_get_no_service_url_even_with_cidrs():
    evaluation = evaluate_stack("prod", {PREFIX + "exposure": "nodePort", PREFIX + "nodePortIngressCidrs": ["203.0.113.0/24"]})
    assert "serviceUrl" not in evaluation.exports
    assert "portForwardCommand" in evaluation.exports


def test_stack_outputs_are_complete_and_the_kubeconfig_is_secret(stack):
    # prod collects metrics (metricsCollection) and logs (containerInsights): where to query them,
    # the alerts' topic, the log group and the dashboard are outputs.
    way_in = {"dev": {"portForwardCommand"},
              "prod": {"serviceUrl", "targetGroupArn", "prometheusEndpoint", "scrapeJob", "alarmTopicArn", "alarmNames",
                       "applicationLogGroup", "dashboardName"}}[stack.stack]
    assert set(stack.exports) == {
        "region", "clusterName", "kubeconfig", "updateKubeconfigCommand", "repositoryUrl", "imageRef", "imageTag", "imageBuilt",
        "namespace", "deploymentName", "serviceName", "nodePort", "containerPort", "exposure", *way_in,
    }
    assert stack.secret_exports == {"kubeconfig"}
    assert stack.exports["updateKubeconfigCommand"] == (
        f"aws eks update-kubeconfig --region us-east-1 --name backend-on-eks-{stack.stack}"
    )


def test_every_resource_belongs_to_a_component_of_the_projects_namespace(stack):
    components = {r.urn for r in stack.registrations if r.type.startswith("backend-on-eks:index:")}
    # dev: network, cluster, registry, image, workload, nodePort access, the stack's readers;
    # prod: the front door instead of nodePort access, the node autoscaler, metrics, container
    # insights, alerting and the dashboard.
    assert len(components) == {"dev": 7, "prod": 12}[stack.stack]
    for registration in stack.registrations:
        if registration.urn not in components:
            assert registration.parent in components, registration.name


def test_prod_protects_its_stateful_resources_and_dev_does_not(dev, prod):
    stateful = ("aws:ecr/repository:Repository", "aws:kms/key:Key", EKS_CLUSTER)
    for type_ in stateful:
        assert prod.one(type_).protect is True, type_
        assert dev.one(type_).protect is False, type_
    assert prod.one(EKS_CLUSTER).inputs["deletionProtection"] is True
    assert dev.one(EKS_CLUSTER).inputs["deletionProtection"] is False


def test_prod_keeps_images_on_destroy_and_dev_lets_destroy_remove_them(dev, prod):
    assert prod.one("aws:ecr/repository:Repository").inputs["forceDelete"] is False
    assert dev.one("aws:ecr/repository:Repository").inputs["forceDelete"] is True


def test_prod_restricts_the_api_endpoint_and_dev_leaves_it_open(dev, prod):
    assert prod.one(EKS_CLUSTER).inputs["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert dev.one(EKS_CLUSTER).inputs["publicAccessCidrs"] == ["0.0.0.0/0"]


def test_prod_is_resilient_where_dev_is_cheap(dev, prod):
    assert (dev.one(NODE_GROUP).inputs["scalingConfig"]["desiredSize"],
            prod.one(NODE_GROUP).inputs["scalingConfig"]["desiredSize"]) == (2, 3)
    assert prod.one(NODE_GROUP).inputs["scalingConfig"]["minSize"] >= 3


@pytest.mark.parametrize(
    ("key", "value"),
    [("nodePort", 99999), ("replicas", 0), ("vpcCidr", "10.0.0.0/33"), ("kubernetesVersion", "1.10"),
     ("adminPrincipalArns", ["not-an-arn"]), ("cpuLimit", "lots"),
     # A key Pulumi.yaml does not declare reaches the program only through the runtime's config map.
     ("replica", 3), ("memoryLimit", "1"), ("namespace", "kube-system"), ("nodeInstanceTypes", ["m7g.large"]),
     ("apiPublicAccessCidrs", ["0.0.0.0/1", "128.0.0.0/1"]), ("logLevel", ""), ("appName", "backend\n")],
)
def test_an_invalid_stack_stops_the_program_before_any_resource_is_registered(key, value):
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_stack("dev", {PREFIX + key: value})
    # settings is imported afresh for each evaluation, so compare the class by name.
    assert type(caught.value.cause).__name__ == settings.StackConfigError.__name__
    assert caught.value.cause.problems[0].startswith(f"{PREFIX}{key} = ")
    assert caught.value.registrations == []


def test_a_new_stack_needs_only_a_region_and_gets_the_documented_defaults():
    evaluation = harness.evaluate("staging", {"aws:region": "us-east-1"}, dict(RESOURCE_FAKES), dict(INVOKE_FAKES))
    defaults = {key: spec["default"] for key, spec in harness.project_config_schema().items()}
    assert evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["replicas"] == defaults["replicas"]
    assert evaluation.one(SERVICE).inputs["spec"]["ports"][0]["nodePort"] == defaults["nodePort"]
    assert evaluation.one("awsx:ec2:Vpc").inputs["cidrBlock"] == defaults["vpcCidr"]
    assert evaluation.one(EKS_CLUSTER).inputs["version"] == defaults["kubernetesVersion"]
    assert evaluation.missing_fake_outputs() == []


def test_evaluating_the_same_stack_twice_declares_the_same_resources_with_the_same_inputs(dev):
    again = evaluate_stack("dev")
    def declared(evaluation):
        return sorted(((r.type, r.name, json.dumps(r.inputs, sort_keys=True)) for r in evaluation.registrations))

    assert declared(again) == declared(dev)



def test_every_resource_keeps_its_urn_so_an_existing_stack_replaces_nothing():
    # A URN is a resource's identity in state: a renamed resource or a new parent is a delete
    # and a create (for the cluster, a new cluster). Changing one here must be deliberate.
    evaluation = evaluate_stack("dev", {PREFIX + "nodePortIngressCidrs": ["203.0.113.0/24"]})
    assert sorted("::".join(r.urn.split("::")[2:]) for r in evaluation.registrations) == [
        "backend-on-eks:index:Cluster$aws:cloudwatch/logGroup:LogGroup::cluster-control-plane-logs",
        "backend-on-eks:index:Cluster$aws:ec2/launchTemplate:LaunchTemplate::cluster-node-template",
        "backend-on-eks:index:Cluster$aws:iam/role:Role::cluster-node-role",
        "backend-on-eks:index:Cluster$aws:iam/rolePolicyAttachment:RolePolicyAttachment::cluster-node-AmazonEC2ContainerRegistryReadOnly",
        "backend-on-eks:index:Cluster$aws:iam/rolePolicyAttachment:RolePolicyAttachment::cluster-node-AmazonEKSWorkerNodePolicy",
        "backend-on-eks:index:Cluster$aws:iam/rolePolicyAttachment:RolePolicyAttachment::cluster-node-AmazonEKS_CNI_Policy",
        "backend-on-eks:index:Cluster$aws:kms/key:Key::cluster-secrets-key",
        "backend-on-eks:index:Cluster$eks:index:Cluster::cluster-eks",
        "backend-on-eks:index:Cluster$eks:index:ManagedNodeGroup::cluster-nodes",
        "backend-on-eks:index:Image$docker:index/image:Image::image-image",
        "backend-on-eks:index:Network$awsx:ec2:Vpc::network-vpc",
        "backend-on-eks:index:NodePortAccess$aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::nodeport-access-203.0.113.0-24",
        "backend-on-eks:index:Registry$aws:ecr/lifecyclePolicy:LifecyclePolicy::registry-lifecycle",
        "backend-on-eks:index:Registry$aws:ecr/repository:Repository::registry-repository",
        "backend-on-eks:index:StackReaders$kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::stack-readers-cluster-role",
        "backend-on-eks:index:StackReaders$kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::stack-readers-cluster-role-binding",
        "backend-on-eks:index:StackReaders$kubernetes:rbac.authorization.k8s.io/v1:Role::stack-readers-role-stack-namespace",
        "backend-on-eks:index:StackReaders$kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::stack-readers-role-binding-stack-namespace",
        "backend-on-eks:index:StackReaders$pulumi:providers:kubernetes::stack-readers-provider",
        "backend-on-eks:index:Workload$kubernetes:apps/v1:Deployment::workload-deployment",
        "backend-on-eks:index:Workload$kubernetes:core/v1:Namespace::workload-namespace",
        "backend-on-eks:index:Workload$kubernetes:core/v1:Service::workload-service",
        "backend-on-eks:index:Workload$kubernetes:networking.k8s.io/v1:NetworkPolicy::workload-network-policy",
        "backend-on-eks:index:Workload$kubernetes:policy/v1:PodDisruptionBudget::workload-pdb",
        "backend-on-eks:index:Workload$pulumi:providers:kubernetes::workload-provider",
        "pulumi:pulumi:Stack$backend-on-eks:index:Cluster::cluster",
        "pulumi:pulumi:Stack$backend-on-eks:index:Image::image",
        "pulumi:pulumi:Stack$backend-on-eks:index:Network::network",
        "pulumi:pulumi:Stack$backend-on-eks:index:NodePortAccess::nodeport-access",
        "pulumi:pulumi:Stack$backend-on-eks:index:Registry::registry",
        "pulumi:pulumi:Stack$backend-on-eks:index:StackReaders::stack-readers",
        "pulumi:pulumi:Stack$backend-on-eks:index:Workload::workload",
    ]
