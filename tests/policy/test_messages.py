"""What each policy tells the person it stops: the rule, the setting that satisfies it, the value found."""

from __future__ import annotations

import copy

import pytest

from tests.policy.adapter import violations
from tests.policy.builders import DEPLOYMENT, changed, container, ingress_rule, plus, registration
from tests.support.types import LISTENER


NAME = "container 'nextwork-flask-backend'"


def pod(change):
    return lambda prod: changed(prod, DEPLOYMENT, lambda i: change(i["spec"]["template"]))


def ctx(template):
    return container(template)["securityContext"]


def unprotected_key(prod):
    copied = copy.deepcopy(prod)
    copied.one("aws:kms/key:Key").protect = False
    return copied


def _scraper_egress_to_ssh(prod):
    copied = copy.deepcopy(prod)
    copied.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "metrics-scraper-to-8081").inputs.update(
        fromPort=22.0, toPort=22.0)
    return copied


CASES = {
    "ecr-scan-on-push": (
        lambda prod: changed(prod, "aws:ecr/repository:Repository", lambda i: i.pop("imageScanningConfiguration")),
        "ECR repository must scan images on push (imageScanningConfiguration.scanOnPush: true)."),
    "ecr-immutable-tags": (
        lambda prod: changed(prod, "aws:ecr/repository:Repository", lambda i: i.pop("imageTagMutability")),
        "ECR repository must have immutable tags (imageTagMutability: IMMUTABLE); got MUTABLE (the default)."),
    "ecr-kms-encryption": (
        lambda prod: changed(prod, "aws:ecr/repository:Repository", lambda i: i.pop("encryptionConfigurations")),
        "ECR repository must encrypt images with KMS (encryptionConfigurations: [{encryptionType: KMS}]); "
        "got none, so AES256."),
    "image-by-digest": (
        pod(lambda t: container(t).update(image="repo:v1")),
        f"{NAME} must reference its image by digest (repository@sha256:<64 hex>), not 'repo:v1': "
        "a tag can move under a running Deployment."),
    "container-limits": (
        pod(lambda t: container(t)["resources"].update(limits={"cpu": "0"})),
        f"{NAME} must set resource limits for cpu and memory (a quantity above zero; got cpu: '0', memory: None)."),
    "container-non-root": (
        pod(lambda t: ctx(t).update(runAsUser=0)),
        f"{NAME} must not run as root (runAsNonRoot: true and a non-zero runAsUser, on the pod or the container)."),
    "container-non-root-group": (
        pod(lambda t: t["spec"]["securityContext"].update(runAsGroup=0)),
        f"{NAME} must run with a non-zero group (runAsGroup set and not 0; no 0 in supplementalGroups or fsGroup)."),
    "container-not-privileged": (
        pod(lambda t: ctx(t).update(privileged=True)),
        f"{NAME} must not be privileged."),
    "container-no-privilege-escalation": (
        pod(lambda t: ctx(t).pop("allowPrivilegeEscalation")),
        f"{NAME} must set allowPrivilegeEscalation: false (Kubernetes allows escalation unless told otherwise)."),
    "container-capabilities": (
        pod(lambda t: ctx(t)["capabilities"].update(add=["SYS_ADMIN", "CHOWN"])),
        f"{NAME} must drop ALL capabilities and add none but NET_BIND_SERVICE (adds CHOWN, SYS_ADMIN)."),
    "container-seccomp": (
        pod(lambda t: t["spec"]["securityContext"].update(seccompProfile={"type": "Unconfined"})),
        f"{NAME} must run under seccomp profile RuntimeDefault or Localhost "
        "(securityContext.seccompProfile.type on the pod or the container); got 'Unconfined'."),
    "container-no-host-ports": (
        pod(lambda t: container(t)["ports"][0].update(hostPort=8080.0)),
        f"{NAME} must not bind a host port (hostPort 8080)."),
    "container-default-proc-mount": (
        pod(lambda t: ctx(t).update(procMount="Unmasked")),
        f"{NAME} must keep the default /proc mount (procMount: Default)."),
    "container-no-probe-host": (
        pod(lambda t: container(t)["livenessProbe"]["httpGet"].update(host="10.0.0.1")),
        f"{NAME} probes and lifecycle hooks must not name a host (the kubelet would connect to ['10.0.0.1'] "
        "from the node)."),
    "pod-no-host-namespaces": (
        pod(lambda t: t["spec"].update(hostNetwork=True, hostPID=True)),
        "pod must not share the host's namespaces (hostNetwork, hostPID)."),
    "pod-volume-types": (
        pod(lambda t: t["spec"]["volumes"].append({"name": "root", "hostPath": {"path": "/"}})),
        "volume 'root' must be one of configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, "
        "projected, secret (no hostPath or other node-level source); it is hostPath."),
    "pod-safe-sysctls": (
        pod(lambda t: t["spec"]["securityContext"].update(sysctls=[{"name": "kernel.msgmax"}, {"name": "vm.swappiness"}])),
        "pod must set only safe sysctls (not 'kernel.msgmax', 'vm.swappiness')."),
    "pod-apparmor": (
        pod(lambda t: ctx(t).update(appArmorProfile={"type": "Unconfined"})),
        "pod must not run unconfined by AppArmor (profile RuntimeDefault or Localhost); got ['Unconfined']."),
    "pod-selinux": (
        pod(lambda t: ctx(t).update(seLinuxOptions={"type": "spc_t"})),
        "pod must not set a custom SELinux type, user or role (type only container_t, container_init_t or "
        "container_kvm_t); got {'type': 'spc_t'}."),
    "pod-no-host-process": (
        pod(lambda t: ctx(t).update(windowsOptions={"hostProcess": True})),
        "pod must not run Windows HostProcess containers (windowsOptions.hostProcess)."),
    "service-not-open-to-world": (
        lambda prod: changed(prod, "kubernetes:core/v1:Service", lambda i: i["spec"].update(type="LoadBalancer")),
        "Service of type LoadBalancer must limit who reaches it (loadBalancerSourceRanges, not covering every "
        "public address); got none, so 0.0.0.0/0."),
    "eks-secrets-encryption": (
        lambda prod: changed(prod, "eks:index:Cluster", lambda i: i.pop("encryptionConfigKeyArn")),
        "EKS cluster must envelope-encrypt Kubernetes secrets with a KMS key (encryptionConfigKeyArn: a KMS key "
        "ARN); got None."),
    "eks-audit-logs": (
        lambda prod: changed(prod, "eks:index:Cluster", lambda i: i.pop("enabledClusterLogTypes")),
        "EKS cluster must send its audit log to CloudWatch (enabledClusterLogTypes includes audit)."),
    "eks-endpoint-restricted-in-production": (
        lambda prod: changed(prod, "eks:index:Cluster", lambda i: i.pop("publicAccessCidrs")),
        "in production stack 'prod', the EKS API endpoint must not be open to the internet "
        "(publicAccessCidrs: unset, so 0.0.0.0/0)."),
    "stateful-protected-in-production": (
        unprotected_key,
        "aws:kms/key:Key 'cluster-secrets-key' holds state and must be protected (protect: true) in production "
        "stack 'prod'."),
    "node-role-least-privilege": (
        lambda prod: changed(prod, "aws:iam/role:Role", lambda i: i.update(
            managedPolicyArns=["arn:aws:iam::123456789012:policy/AmazonEKS_CNI_Policy"])),
        "node role 'cluster-node-role' may carry only AmazonEC2ContainerRegistryReadOnly, AmazonEKSWorkerNodePolicy, "
        "AmazonEKS_CNI_Policy (arn:aws:iam::aws:policy/<name>); it also has "
        "'arn:aws:iam::123456789012:policy/AmazonEKS_CNI_Policy'."),
    "world-open-only-on-node-port": (
        lambda prod: plus(prod, ingress_rule(prod, "ssh", 22.0, to_port=23.0)),
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'ssh' opens tcp 22-23 to the internet; "
        "only a load balancer listener's port ([80]), on the load balancer's own security group, may be."),
    "node-port-behind-load-balancer": (
        lambda prod: plus(prod, ingress_rule(prod, "office", 30080.0, "10.0.0.0/8")),
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'office' admits nodePort [30080] from a source "
        "other than the load balancer's security group; behind a load balancer the nodePort admits its group only."),
    "load-balancer-own-security-groups": (
        lambda prod: changed(prod, "aws:lb/loadBalancer:LoadBalancer",
                             lambda i: i["securityGroups"].append("sg-0eksclustersg00001")),
        "aws:lb/loadBalancer:LoadBalancer 'front-door-nlb' must carry only security groups of its own "
        "(aws:ec2/securityGroup:SecurityGroup of this stack, attached to nothing else); it carries 1 group(s) named "
        "by ID rather than by a security group of this stack (securityGroups: ['front-door-sg-id', "
        "'sg-0eksclustersg00001']), which may be the nodes'."),
    "listener-tls-in-production": (
        lambda prod: plus(prod, registration(prod, "aws:acm/certificate:Certificate", "certificate",
                                             {"domainName": "api.example.com", "validationMethod": "DNS"})),
        "aws:lb/listener:Listener 'front-door-listener' serves 'TCP' on port 80: a production stack with a "
        "domain serves TLS only."),
    "listener-modern-tls": (
        lambda prod: changed(prod, LISTENER, lambda i: i.update(protocol="TLS", sslPolicy="ELBSecurityPolicy-2016-08")),
        "TLS listener 'front-door-listener' has security policy 'ELBSecurityPolicy-2016-08': name one that accepts "
        "TLS 1.2 and newer only, such as ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 (unset, AWS applies "
        "ELBSecurityPolicy-2016-08, which accepts TLS 1.0)."),
    "metrics-scraper-reaches-only-metrics": (
        _scraper_egress_to_ssh,
        "aws:amp/scraper:Scraper 'metrics-scraper' must reach only the Kubernetes API and the ports it scrapes, "
        "through a security group of its own: aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule "
        "'metrics-scraper-to-8081' reaches tcp 22.0-22.0: only TCP to one of ports [443, 8081, 8085]."),
}


@pytest.mark.parametrize("policy", CASES)
def test_each_policy_names_the_rule_the_setting_and_what_it_found(prod, policy):
    make, message = CASES[policy]
    assert violations(make(prod)) == {policy: [message]}


def test_every_policy_has_a_message_case():
    from policy.guardrails import POLICIES
    assert set(CASES) == {p.name for p in POLICIES}
