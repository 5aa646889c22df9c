"""Issue 13 under mocks: prod's front door (NLB, TLS when a domain is set), pods and nodes that
follow load; dev keeps the tutorial's direct NodePort."""

from __future__ import annotations

import pytest

from ops.offline.fakes import CLUSTER_SECURITY_GROUP_ID, NLB_HOSTED_ZONE_ID
from ops.offline.harness import ProgramFailed, UNKNOWN
from ops.offline.stacks import evaluate_stack
from tests.support.types import DEPLOYMENT, HPA, INGRESS_RULE, LISTENER, LOAD_BALANCER, NODE_GROUP, SECURITY_GROUP

PREFIX = "backend-on-eks:"
DOMAIN = {PREFIX + "domainName": "api.example.com", PREFIX + "hostedZoneId": "Z0123456789ABCDEFGHIJ"}
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ATTACHMENT = "aws:autoscaling/attachment:Attachment"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
ADDON = "aws:eks/addon:Addon"
FRONT_DOOR_TYPES = {LOAD_BALANCER, TARGET_GROUP, LISTENER, ATTACHMENT, CERTIFICATE, VALIDATION, RECORD, HPA}


@pytest.fixture(scope="module")
def prod_tls():
    return evaluate_stack("prod", DOMAIN)


def named(evaluation, type_, name):
    [found] = [r for r in evaluation.registrations if r.type == type_ and r.name == name]
    return found


# --- dev: the tutorial's NodePort, nothing more ------------------------------------------------------

def test_dev_declares_no_load_balancer_no_autoscaler_and_no_add_on_of_its_own(dev):
    assert not FRONT_DOOR_TYPES & {r.type for r in dev.registrations}
    assert not [r for r in dev.registrations if r.type == ADDON]
    assert dev.exports["exposure"] == "nodePort"


def test_dev_keeps_a_fixed_replica_count_and_a_node_group_size_that_up_enforces(dev):
    assert dev.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["replicas"] == 2
    assert "ignoreScalingChanges" not in dev.one(NODE_GROUP).inputs


# --- prod: the load balancer ---------------------------------------------------------------------------

def test_prods_load_balancer_is_an_internet_facing_nlb_in_the_public_subnets_with_its_own_group(prod):
    balancer = prod.one(LOAD_BALANCER)
    assert balancer.inputs["loadBalancerType"] == "network"
    assert balancer.inputs["internal"] is False
    assert balancer.inputs["subnets"] == prod.one("awsx:ec2:Vpc").outputs["publicSubnetIds"]
    assert balancer.property_dependencies["securityGroups"] == [named(prod, SECURITY_GROUP, "front-door-sg").urn]


def test_the_target_group_holds_instances_on_the_node_port_checked_over_http_on_the_readiness_path(prod):
    target_group = prod.one(TARGET_GROUP).inputs
    assert (target_group["targetType"], target_group["protocol"], target_group["port"]) == ("instance", "TCP", 30080)
    assert target_group["healthCheck"] == {
        "enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/readyz", "matcher": "200",
        "interval": 10, "healthyThreshold": 2, "unhealthyThreshold": 2,
    }


def test_the_node_groups_auto_scaling_group_is_attached_so_new_nodes_register_themselves(prod):
    [attachment] = prod.of_type(ATTACHMENT)
    [node_group_resources] = prod.one(NODE_GROUP).outputs and [
        r for r in prod.registrations if r.type == NODE_GROUP]
    assert attachment.inputs["autoscalingGroupName"].startswith("eks-cluster-nodes-")
    assert attachment.inputs["lbTargetGroupArn"] == prod.one(TARGET_GROUP).outputs["arn"]
    assert node_group_resources.urn in attachment.dependencies


def test_without_a_domain_the_listener_is_plain_tcp_80_and_the_url_is_the_nlbs_name(prod):
    listener = prod.one(LISTENER).inputs
    assert (listener["port"], listener["protocol"]) == (80, "TCP")
    assert "certificateArn" not in listener and "sslPolicy" not in listener
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": prod.one(TARGET_GROUP).outputs["arn"]}]
    assert prod.exports["serviceUrl"] == "http://" + prod.one(LOAD_BALANCER).outputs["dnsName"]
    assert prod.exports["targetGroupArn"] == prod.one(TARGET_GROUP).outputs["arn"]
    assert not prod.of_type(CERTIFICATE) and not prod.of_type(RECORD)


def test_the_node_port_admits_the_load_balancers_group_and_no_cidr(prod):
    node_port_rules = [r for r in prod.of_type(INGRESS_RULE) if r.inputs.get("fromPort") == 30080]
    assert [r.name for r in node_port_rules] == ["front-door-nodeport-from-lb"]
    [rule] = node_port_rules
    assert rule.inputs["securityGroupId"] == CLUSTER_SECURITY_GROUP_ID
    assert rule.inputs["toPort"] == 30080 and "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    assert rule.property_dependencies["referencedSecurityGroupId"] == [named(prod, SECURITY_GROUP, "front-door-sg").urn]


def test_the_load_balancer_admits_clients_on_its_listener_port_only_and_sends_only_to_the_node_port(prod):
    group = named(prod, SECURITY_GROUP, "front-door-sg")
    inbound = [r for r in prod.of_type(INGRESS_RULE) if group.urn in r.property_dependencies.get("securityGroupId", [])]
    assert [(r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in inbound] == [(80, 80, "0.0.0.0/0")]
    [outbound] = [r for r in prod.of_type(EGRESS_RULE) if group.urn in r.property_dependencies.get("securityGroupId", [])]
    assert (outbound.inputs["fromPort"], outbound.inputs["toPort"]) == (30080, 30080)
    assert outbound.inputs["referencedSecurityGroupId"] == CLUSTER_SECURITY_GROUP_ID
    assert "egress" not in group.inputs and "ingress" not in group.inputs


def listener_rules(cidrs):
    """The NLB group's inbound rules as (name, CIDR) pairs, sorted. The rules are sibling
    resources that wait on the same group id, so the SDK sends their RegisterResource calls from
    its thread pool at once and they are recorded in whichever order the threads win: that
    order is not the program's, and the engine matches resources by URN, not by it."""
    evaluation = evaluate_stack("prod", {PREFIX + "loadBalancerIngressCidrs": cidrs})
    group = named(evaluation, SECURITY_GROUP, "front-door-sg")
    return sorted((r.name, r.inputs["cidrIpv4"]) for r in evaluation.of_type(INGRESS_RULE)
                  if group.urn in r.property_dependencies.get("securityGroupId", []))


def test_loadbalancer_ingress_cidrs_narrow_who_reaches_the_listener():
    assert listener_rules(["203.0.113.0/24", "198.51.100.0/24"]) == [
        ("front-door-listener-198.51.100.0-24", "198.51.100.0/24"),
        ("front-door-listener-203.0.113.0-24", "203.0.113.0/24"),
    ]


def test_reordering_loadbalancer_ingress_cidrs_changes_no_rule():
    # Each rule is named after its CIDR, so listing the same networks in another order
    # declares the same resources and a preview shows no change.
    assert listener_rules(["198.51.100.0/24", "203.0.113.0/24"]) == listener_rules(["203.0.113.0/24", "198.51.100.0/24"])


# --- prod with a domain: TLS --------------------------------------------------------------------------

def test_with_a_domain_the_certificate_is_validated_by_dns_in_the_hosted_zone(prod_tls):
    certificate = prod_tls.one(CERTIFICATE)
    assert certificate.inputs == {"domainName": "api.example.com", "validationMethod": "DNS"}
    option = certificate.outputs["domainValidationOptions"][0]
    record = named(prod_tls, RECORD, "front-door-certificate-validation").inputs
    assert (record["zoneId"], record["name"], record["type"], record["records"]) == (
        "Z0123456789ABCDEFGHIJ", option["resourceRecordName"], "CNAME", [option["resourceRecordValue"]])
    validation = prod_tls.one(VALIDATION).inputs
    assert validation["certificateArn"] == certificate.outputs["arn"]
    assert validation["validationRecordFqdns"] == [option["resourceRecordName"].rstrip(".")]


def test_with_a_domain_the_only_listener_is_tls_443_with_the_validated_certificate_and_a_modern_policy(prod_tls):
    [listener] = prod_tls.of_type(LISTENER)
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (443, "TLS")
    assert listener.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
    assert listener.property_dependencies["certificateArn"] == [prod_tls.one(VALIDATION).urn]


def test_with_a_domain_port_80_is_closed_at_the_load_balancer(prod_tls):
    group = named(prod_tls, SECURITY_GROUP, "front-door-sg")
    inbound = [r.inputs["fromPort"] for r in prod_tls.of_type(INGRESS_RULE)
               if group.urn in r.property_dependencies.get("securityGroupId", [])]
    assert inbound == [443]


def test_with_a_domain_an_alias_record_names_the_load_balancer_and_the_url_is_https(prod_tls):
    alias = named(prod_tls, RECORD, "front-door-alias").inputs
    balancer = prod_tls.one(LOAD_BALANCER).outputs
    assert (alias["zoneId"], alias["name"], alias["type"]) == ("Z0123456789ABCDEFGHIJ", "api.example.com", "A")
    assert alias["aliases"] == [{"name": balancer["dnsName"], "zoneId": NLB_HOSTED_ZONE_ID, "evaluateTargetHealth": True}]
    assert prod_tls.exports["serviceUrl"] == "https://api.example.com"


def test_a_first_preview_declares_the_front_door_with_the_node_groups_asg_unknown(prod_preview):
    [attachment] = prod_preview.of_type(ATTACHMENT)
    assert attachment.inputs["autoscalingGroupName"] == UNKNOWN
    assert prod_preview.one(LOAD_BALANCER).pending


# --- pods and nodes follow load ------------------------------------------------------------------------

def test_prods_autoscaler_runs_the_deployment_from_replicas_to_max_replicas_on_cpu(prod):
    spec = prod.one(HPA).inputs["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nextwork-flask-backend"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 6)
    assert spec["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]


def test_with_an_autoscaler_up_leaves_the_replica_count_to_it(prod):
    # An ignored field is left out of the server-side apply once the HPA's controller owns it,
    # and sent with its live value until then: never reset to the declared count.
    assert prod.one(DEPLOYMENT, "workload-deployment").ignore_changes == ["spec.replicas"]


def test_with_an_autoscaler_a_new_deployment_still_starts_at_replicas_pods(prod):
    # Left out, the field would make Kubernetes start (and, turning podAutoscaling on for a live
    # stack, scale down) to one pod until the HPA's first sync.
    assert prod.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["replicas"] == 3


def test_without_an_autoscaler_up_sets_the_replica_count():
    evaluation = evaluate_stack("prod", {PREFIX + "podAutoscaling": False})
    deployment = evaluation.one(DEPLOYMENT, "workload-deployment")
    assert deployment.ignore_changes == [] and deployment.inputs["spec"]["replicas"] == 3


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_service_spreads_nodeport_traffic_over_every_node_at_the_cost_of_the_clients_address(stack):
    # Local would keep the client's address but fail the NLB's health check on every node without
    # a ready pod of the backend; the access log records node addresses instead (components/workload.py).
    service = evaluate_stack(stack).one("kubernetes:core/v1:Service", "workload-service").inputs["spec"]
    assert service["externalTrafficPolicy"] == "Cluster"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_up_gives_up_on_a_rollout_a_minute_after_kubernetes_marks_it_failed(stack):
    # pulumi-kubernetes would otherwise wait its default 10 minutes for a rollout that never
    # becomes ready; ProgressDeadlineExceeded does not stop its await.
    deployment = evaluate_stack(stack).one(DEPLOYMENT, "workload-deployment").inputs
    deadline = deployment["spec"]["progressDeadlineSeconds"]
    assert int(deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) == deadline + 60 < 600


@pytest.mark.parametrize("pod_autoscaling", [True, False])
def test_the_deployments_apply_wins_the_replicas_conflict_left_by_a_removed_autoscaler(pod_autoscaling):
    # podAutoscaling on -> off: kube-controller-manager owns .spec.replicas through the scale
    # subresource; re-adding it from the program fails on that conflict unless the apply is forced
    # (pulumi-kubernetes reads pulumi.com/patchForce on any resource it server-side applies).
    evaluation = evaluate_stack("prod", {PREFIX + "podAutoscaling": pod_autoscaling})
    metadata = evaluation.one(DEPLOYMENT, "workload-deployment").inputs["metadata"]
    assert metadata["annotations"]["pulumi.com/patchForce"] == "true"


def test_the_metrics_server_add_on_is_installed_once_nodes_exist(prod):
    [metrics_server] = [r for r in prod.of_type(ADDON) if r.inputs["addonName"] == "metrics-server"]
    assert metrics_server.inputs["clusterName"] == "backend-on-eks-prod"
    assert prod.one(NODE_GROUP).urn in metrics_server.dependencies


def test_with_node_autoscaling_up_leaves_the_node_groups_desired_size_alone(prod):
    node_group = prod.one(NODE_GROUP).inputs
    assert node_group["ignoreScalingChanges"] is True
    assert node_group["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 6}


# --- settings -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"exposure": "alb"}, "backend-on-eks:exposure = 'alb': must be one of nodePort, loadBalancer"),
    ({"nodePortIngressCidrs": ["203.0.113.0/24"]},
     "backend-on-eks:exposure/backend-on-eks:nodePortIngressCidrs = 'loadBalancer'/['203.0.113.0/24']"),
    ({"domainName": "api.example.com"}, "backend-on-eks:domainName/backend-on-eks:hostedZoneId = 'api.example.com'/''"),
    ({"hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "backend-on-eks:domainName/backend-on-eks:hostedZoneId = ''/"),
    ({"domainName": "*.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "backend-on-eks:domainName = '*.example.com'"),
    ({"domainName": "API.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "backend-on-eks:domainName = 'API.example.com'"),
    ({"domainName": "api.example.com.", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "backend-on-eks:domainName = 'api.example.com.'"),
    ({"domainName": "localhost", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "backend-on-eks:domainName = 'localhost'"),
    ({"domainName": "api.example.com", "hostedZoneId": "/hostedzone/Z0123"}, "backend-on-eks:hostedZoneId = '/hostedzone/Z0123'"),
    ({"maxReplicas": 3}, "backend-on-eks:replicas/backend-on-eks:maxReplicas = 3/3"),
    ({"maxReplicas": 60}, "backend-on-eks:maxReplicas/backend-on-eks:cpuRequest/backend-on-eks:nodeMaxSize = 60/'250m'/6"),
    ({"targetCpuUtilizationPercent": 100}, "backend-on-eks:targetCpuUtilizationPercent = 100: must be a whole number from 10 to 95"),
    ({"kubernetesVersion": "1.34", "kubernetesUpgradePolicy": "EXTENDED"},
     "backend-on-eks:nodeAutoscaling/backend-on-eks:kubernetesVersion = true/'1.34'"),
    ({"loadBalancerIngressCidrs": []}, "backend-on-eks:loadBalancerIngressCidrs = []: must list at least 1 item(s)"),
    ({"loadBalancerIngressCidrs": ["127.0.0.0/8"]}, "backend-on-eks:loadBalancerIngressCidrs = '127.0.0.0/8'"),
])
def test_a_bad_front_door_or_autoscaling_setting_is_refused_before_any_resource(overrides, fragment):
    with pytest.raises(ProgramFailed) as caught:
        evaluate_stack("prod", {PREFIX + key: value for key, value in overrides.items()})
    assert type(caught.value.cause).__name__ == "StackConfigError", caught.value
    assert any(problem.startswith(fragment) for problem in caught.value.cause.problems), caught.value.cause.problems
    assert caught.value.registrations == []


def test_a_domain_needs_the_load_balancer():
    with pytest.raises(ProgramFailed) as caught:
        evaluate_stack("dev", DOMAIN)
    assert any(p.startswith("backend-on-eks:exposure/backend-on-eks:domainName = 'nodePort'/'api.example.com'")
               for p in caught.value.cause.problems)


def test_without_pod_autoscaling_max_replicas_is_not_held_against_replicas():
    evaluation = evaluate_stack("dev", {PREFIX + "maxReplicas": 1})
    assert evaluation.one(DEPLOYMENT, "workload-deployment").inputs["spec"]["replicas"] == 2
    assert not evaluation.of_type(HPA)
