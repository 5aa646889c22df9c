"""Facts about the front door (and the node autoscaler beside it) that the mutation run over issue
13's new code found no test pinning.

Each test here was written for a mutant of components/front_door.py or components/node_autoscaler.py
that the rest of the suite let survive (mutmut 3.8.1, sampled). Each names the behaviour it pins,
so the change a real bug could make fails a test that says what broke.
"""

from __future__ import annotations

import json

import pytest

from ops.offline.manifests import manifests
from ops.offline.stacks import evaluate_stack

PREFIX = "backend-on-eks:"
DOMAIN = {PREFIX + "domainName": "api.example.com", PREFIX + "hostedZoneId": "Z0123456789ABCDEFGHIJ"}


@pytest.fixture(scope="module")
def prod_tls():
    return evaluate_stack("prod", DOMAIN)


def test_every_front_door_and_autoscaler_resource_keeps_its_urn_so_a_deployed_stack_replaces_nothing(prod_tls):
    # A URN (parent type, type, name) is a resource's identity in state. A renamed one is a create
    # and a delete: `up` would create the same listener rule again before deleting the old one,
    # which EC2 refuses (InvalidPermission.Duplicate), and a new NLB gets a new DNS name. The rule
    # for each client CIDR is named after it, the slash as a dash. Changing one here must be
    # deliberate.
    urns = sorted("::".join(r.urn.split("::")[2:]) for r in prod_tls.registrations)
    assert [u for u in urns if "index:FrontDoor" in u or "index:NodeAutoscaler" in u] == [
        "backend-on-eks:index:FrontDoor$aws:acm/certificate:Certificate::front-door-certificate",
        "backend-on-eks:index:FrontDoor$aws:acm/certificateValidation:CertificateValidation::front-door-certificate-validated",
        "backend-on-eks:index:FrontDoor$aws:autoscaling/attachment:Attachment::front-door-nodes-0",
        "backend-on-eks:index:FrontDoor$aws:ec2/securityGroup:SecurityGroup::front-door-sg",
        "backend-on-eks:index:FrontDoor$aws:lb/listener:Listener::front-door-listener",
        "backend-on-eks:index:FrontDoor$aws:lb/loadBalancer:LoadBalancer::front-door-nlb",
        "backend-on-eks:index:FrontDoor$aws:lb/targetGroup:TargetGroup::front-door-nodes",
        "backend-on-eks:index:FrontDoor$aws:route53/record:Record::front-door-alias",
        "backend-on-eks:index:FrontDoor$aws:route53/record:Record::front-door-certificate-validation",
        "backend-on-eks:index:FrontDoor$aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::front-door-to-nodes",
        "backend-on-eks:index:FrontDoor$aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::front-door-listener-0.0.0.0-0",
        "backend-on-eks:index:FrontDoor$aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::front-door-nodeport-from-lb",
        "backend-on-eks:index:NodeAutoscaler$aws:eks/podIdentityAssociation:PodIdentityAssociation::node-autoscaler-pod-identity",
        "backend-on-eks:index:NodeAutoscaler$aws:iam/role:Role::node-autoscaler-role",
        "backend-on-eks:index:NodeAutoscaler$aws:iam/rolePolicy:RolePolicy::node-autoscaler-policy",
        "backend-on-eks:index:NodeAutoscaler$kubernetes:apps/v1:Deployment::node-autoscaler-deployment",
        "backend-on-eks:index:NodeAutoscaler$kubernetes:core/v1:ServiceAccount::node-autoscaler-service-account",
        "backend-on-eks:index:NodeAutoscaler$kubernetes:networking.k8s.io/v1:NetworkPolicy::node-autoscaler-network-policy",
        "backend-on-eks:index:NodeAutoscaler$kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::node-autoscaler-cluster-role",
        "backend-on-eks:index:NodeAutoscaler$kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::node-autoscaler-cluster-role-binding",
        "backend-on-eks:index:NodeAutoscaler$kubernetes:rbac.authorization.k8s.io/v1:Role::node-autoscaler-role-in-namespace",
        "backend-on-eks:index:NodeAutoscaler$kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::node-autoscaler-role-binding",
        "backend-on-eks:index:NodeAutoscaler$pulumi:providers:kubernetes::node-autoscaler-provider",
        "pulumi:pulumi:Stack$backend-on-eks:index:FrontDoor::front-door",
        "pulumi:pulumi:Stack$backend-on-eks:index:NodeAutoscaler::node-autoscaler",
    ]


def _front_door(evaluation, type_, name):
    [found] = [r for r in evaluation.registrations if r.type == type_ and r.name == name]
    return found.inputs


def test_the_nlb_balances_across_zones_so_a_zone_with_fewer_nodes_is_not_overloaded(prod_tls):
    # Left out, an NLB keeps each zone's connections in that zone (cross-zone is off by default
    # for network load balancers): the nodes of a zone with fewer of them would take more load.
    assert _front_door(prod_tls, "aws:lb/loadBalancer:LoadBalancer", "front-door-nlb")[
        "enableCrossZoneLoadBalancing"] is True


def test_a_draining_node_leaves_the_target_group_after_30_seconds_not_the_default_300(prod_tls):
    # Long enough for the preStop delay and the server's graceful timeout; AWS's default (300 s)
    # would hold every node replacement and scale-in five minutes per node.
    assert _front_door(prod_tls, "aws:lb/targetGroup:TargetGroup", "front-door-nodes")["deregistrationDelay"] == 30


def test_the_certificate_validation_record_has_the_ttl_route_53_requires_of_a_plain_record(prod_tls):
    # Route 53 takes no default TTL for a record that is not an alias: without one the record,
    # and so the certificate, is never created.
    record = _front_door(prod_tls, "aws:route53/record:Record", "front-door-certificate-validation")
    assert record["ttl"] == 300 and "aliases" not in record


def test_the_certificate_validation_record_may_take_over_the_one_acm_gives_every_certificate_of_the_name(prod_tls):
    # ACM asks every certificate of a name in the account for the same record: another stack's
    # (or this one's before a replacement) may already hold it, and without allowOverwrite the
    # provider creates rather than upserts, which fails on an existing record.
    assert _front_door(prod_tls, "aws:route53/record:Record", "front-door-certificate-validation")[
        "allowOverwrite"] is True


def test_the_front_doors_group_and_rules_say_which_port_each_serves_and_for_whom(prod_tls):
    # What an operator reads in the EC2 console; the group's description is also part of its
    # identity in AWS (a changed one replaces the group, and so the NLB's only group).
    descriptions = {r.name: r.inputs["description"] for r in prod_tls.registrations
                    if "index:FrontDoor$aws:ec2/securityGroup" in r.urn or "index:FrontDoor$aws:vpc/" in r.urn}
    assert descriptions == {
        "front-door-sg": "Network Load Balancer in front of the backend's NodePort 30080",
        "front-door-listener-0.0.0.0-0": "Clients on the listener port 443 from 0.0.0.0/0",
        "front-door-to-nodes": "To the nodes' NodePort 30080",
        "front-door-nodeport-from-lb": "Backend NodePort 30080 from its load balancer only",
    }


def test_the_autoscaler_is_restarted_after_three_failed_checks_30_s_apart_and_unready_after_three_10_s_apart(prod):
    # How long the kubelet tolerates an autoscaler that does not answer on its metrics port before
    # it restarts it (liveness) or stops counting it ready (readiness): chosen figures, so a
    # change to them is a deliberate one.
    [deployment] = [m for m in manifests(prod) if m["kind"] == "Deployment" and m["metadata"]["name"] == "cluster-autoscaler"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    check = {"httpGet": {"path": "/health-check", "port": "metrics"}, "timeoutSeconds": 5}
    assert container["livenessProbe"] == {**check, "periodSeconds": 30, "failureThreshold": 3}
    assert container["readinessProbe"] == {**check, "periodSeconds": 10, "failureThreshold": 3}


def test_the_autoscaler_may_make_every_read_only_call_cas_aws_readme_lists_on_any_resource(prod):
    # CA's AWS README (cluster-autoscaler/cloudprovider/aws) lists these; they take no resource-level
    # permission, so "*" is the only resource IAM accepts. One missing and discovery or scale-up
    # from zero fails with AccessDenied at run time, which no preview shows.
    [policy] = [r for r in prod.registrations if r.type == "aws:iam/rolePolicy:RolePolicy" and r.name == "node-autoscaler-policy"]
    [statement] = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s.get("Sid") == "DiscoverNodeGroups"]
    assert (statement["Effect"], statement["Resource"]) == ("Allow", "*")
    assert sorted(statement["Action"]) == [
        "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags",
        "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
        "ec2:GetInstanceTypesFromInstanceRequirements",
    ]


def test_the_autoscaler_serves_its_metrics_and_health_check_on_tcp_8085_named_metrics(prod):
    # The probes name the port "metrics" and the NetworkPolicy admits TCP 8085; the API server
    # accepts only TCP, UDP or SCTP as a port's protocol (the bundled schema does not check it).
    [deployment] = [m for m in manifests(prod) if m["kind"] == "Deployment" and m["metadata"]["name"] == "cluster-autoscaler"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 8085, "protocol": "TCP"}]
