"""The policies: what must never ship, whatever the stack config says. One module per concern
(values, production, cidrs, ecr, pods, services, eks, node_role, reachability, scraper); this one assembles
the pack.

Each policy reads the resource shapes a real preview shows it: the program's own resources,
the pulumi-eks component's inputs (`eks:index:Cluster`) and the AWS resources that component
creates (`aws:eks/cluster:Cluster`). A value still unknown during preview raises inside the
policy SDK, which then skips that policy for that resource rather than guessing; `up` runs
every policy again with the values known.

The pack is written against hostile and careless input: values are read by their meaning, not
their spelling (CIDRs as address sets, policy ARNs as ARNs, Kubernetes quantities as numbers),
a list where an object belongs (or a scalar where a list belongs) is read as the API would or
refused, and anything the pack cannot read is refused rather than waved through.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from .ecr import _ecr_immutable_tags, _ecr_kms_encryption, _ecr_scan_on_push
from .eks import (
    _eks_audit_logs,
    _eks_endpoint_restricted_in_production,
    _eks_secrets_encryption,
    _protected_in_production,
)
from .node_role import _node_role_least_privilege
from .pods import (
    _apparmor,
    _capabilities,
    _container_policy,
    _has_limits,
    _host_namespaces,
    _host_ports,
    _host_process,
    _image_by_digest,
    _no_privilege_escalation,
    _non_root,
    _non_root_group,
    _not_privileged,
    _pod_policy,
    _probe_hosts,
    _proc_mount,
    _seccomp,
    _selinux,
    _sysctls,
    _volume_types,
)
from .production import PRODUCTION_CONFIG
from .reachability import (
    _listener_modern_tls,
    _listener_tls_in_production,
    _load_balancer_own_security_groups,
    _node_port_behind_load_balancer,
    _world_open_only_on_node_port,
)
from .scraper import _scraper_reaches_only_metrics
from .services import _service_not_open_to_world


def _resource_policy(name: str, description: str, validate, config_schema=None) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    config_schema=config_schema)


POLICIES = [
    _resource_policy("ecr-scan-on-push", "ECR scans every pushed image.", _ecr_scan_on_push),
    _resource_policy("ecr-immutable-tags", "ECR repositories have immutable tags.", _ecr_immutable_tags),
    _resource_policy("ecr-kms-encryption", "ECR repositories encrypt images with KMS.", _ecr_kms_encryption),
    _resource_policy("image-by-digest", "Workloads reference images by digest, not tag.",
                     _container_policy(_image_by_digest)),
    _resource_policy("container-limits", "Containers set CPU and memory limits above zero.",
                     _container_policy(_has_limits)),
    _resource_policy("container-non-root", "Containers never run as root.", _container_policy(_non_root)),
    _resource_policy("container-non-root-group", "Containers never run with group 0.",
                     _container_policy(_non_root_group)),
    _resource_policy("container-not-privileged", "Containers are never privileged.",
                     _container_policy(_not_privileged)),
    _resource_policy("container-no-privilege-escalation", "Containers cannot escalate privileges.",
                     _container_policy(_no_privilege_escalation)),
    _resource_policy("container-capabilities", "Containers drop ALL capabilities, add only NET_BIND_SERVICE.",
                     _container_policy(_capabilities)),
    _resource_policy("container-seccomp", "Containers run under the RuntimeDefault or a Localhost seccomp profile.",
                     _container_policy(_seccomp)),
    _resource_policy("container-no-host-ports", "Containers bind no host port.", _container_policy(_host_ports)),
    _resource_policy("container-default-proc-mount", "Containers keep the default /proc mount.",
                     _container_policy(_proc_mount)),
    _resource_policy("container-no-probe-host", "Probes and lifecycle hooks name no host.",
                     _container_policy(_probe_hosts)),
    _resource_policy("pod-no-host-namespaces", "Pods share no host namespace.", _pod_policy(_host_namespaces)),
    _resource_policy("pod-volume-types", "Pods use only the restricted profile's volume types.",
                     _pod_policy(_volume_types)),
    _resource_policy("pod-safe-sysctls", "Pods set only safe sysctls.", _pod_policy(_sysctls)),
    _resource_policy("pod-apparmor", "Pods are not unconfined by AppArmor.", _pod_policy(_apparmor)),
    _resource_policy("pod-selinux", "Pods set no custom SELinux type, user or role.", _pod_policy(_selinux)),
    _resource_policy("pod-no-host-process", "Pods run no Windows HostProcess container.", _pod_policy(_host_process)),
    _resource_policy("service-not-open-to-world", "Load balancers limit their sources; no Service claims externalIPs.",
                     _service_not_open_to_world),
    _resource_policy("eks-secrets-encryption", "EKS encrypts Kubernetes secrets with KMS.", _eks_secrets_encryption),
    _resource_policy("eks-audit-logs", "EKS sends its audit log to CloudWatch.", _eks_audit_logs),
    _resource_policy("eks-endpoint-restricted-in-production",
                     "A production EKS API endpoint is not open to the internet.",
                     _eks_endpoint_restricted_in_production, PRODUCTION_CONFIG),
    _resource_policy("stateful-protected-in-production",
                     "Repositories, keys and clusters of production stacks are protected.",
                     _protected_in_production, PRODUCTION_CONFIG),
    StackValidationPolicy(name="node-role-least-privilege",
                          description="The node role carries exactly its three AWS managed policies.",
                          validate=_node_role_least_privilege),
    StackValidationPolicy(name="world-open-only-on-node-port",
                          description="Nothing but the Service's one nodePort (or, behind a load balancer, "
                                      "its listener) is open to the internet.",
                          validate=_world_open_only_on_node_port),
    StackValidationPolicy(name="node-port-behind-load-balancer",
                          description="Behind a load balancer, the nodePort admits the load balancer's security group only.",
                          validate=_node_port_behind_load_balancer),
    StackValidationPolicy(name="load-balancer-own-security-groups",
                          description="A load balancer carries only security groups of its own: created by the "
                                      "stack as aws:ec2/securityGroup:SecurityGroup and attached to nothing else "
                                      "(the nodes' group would open each of its rules to the load balancer's "
                                      "clients; a group given by ID cannot be told from the nodes').",
                          validate=_load_balancer_own_security_groups),
    StackValidationPolicy(name="listener-tls-in-production",
                          description="A production stack with a domain serves only TLS listeners.",
                          validate=_listener_tls_in_production, config_schema=PRODUCTION_CONFIG),
    _resource_policy("listener-modern-tls", "TLS listeners accept TLS 1.2 and newer only.", _listener_modern_tls),
    StackValidationPolicy(name="metrics-scraper-reaches-only-metrics",
                          description="The metrics scraper carries a security group of its own whose rules name only "
                                      "the Kubernetes API (443) and the container ports it scrapes, as TCP to or from "
                                      "security groups; nothing may call it.",
                          validate=_scraper_reaches_only_metrics),
]
