"""What the stack's readers (CI's preview role, drift checks, auditors) may read beyond
AmazonEKSViewPolicy: exactly the objects of this stack that policy leaves out.

`pulumi preview --refresh` reads every Kubernetes object in the state by name. AmazonEKSViewPolicy
(the readers' EKS access policy, at cluster scope) covers the workload's kinds but no
rbac.authorization.k8s.io object and no Secret (EKS access policy reference), and EKS has no
access policy that reads RBAC objects short of AmazonEKSAdminViewPolicy, which reads every Secret
of the cluster. So the readers' access entries also carry a Kubernetes group, and this component
binds it to `get` on the stack's own RBAC objects by name and on Secrets in the stack's own
namespace, where only the program creates any: nothing else, and no list or watch (a refresh
asks for each object by name). A preview that cannot dry-run a patch without `patch` falls back
to a client-side diff (pulumi-kubernetes#2419), so no write verb is needed either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

NAME = "backend-on-eks-stack-reader"
RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class NamedObjects:
    resource: str
    """The plural resource name, e.g. "clusterroles"."""
    names: pulumi.Input[Sequence[pulumi.Input[str]]]
    api_group: str = RBAC_GROUP


@dataclass
class StackReadersArgs:
    kubeconfig: pulumi.Input[str]
    group: str
    """The Kubernetes group the readers' access entries carry."""
    stack_namespace: pulumi.Input[str]
    """The stack's own namespace: its Secrets are readable (only the program creates any there)."""
    cluster_objects: Sequence[NamedObjects] = ()
    """Cluster-scoped objects of the stack that AmazonEKSViewPolicy does not cover."""
    namespaced_objects: Mapping[str, Sequence[NamedObjects]] = field(default_factory=dict)
    """By namespace, objects of the stack outside its own namespace that the policy does not cover."""
    depends_on: Sequence[pulumi.Resource] = ()


class StackReaders(pulumi.ComponentResource):
    group: str

    def __init__(self, name: str, args: StackReadersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend-on-eks:index:StackReaders", name, None, opts)
        provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=args.kubeconfig,
            # No delete_unreachable, as for the other providers: the Destroy workflow's
            # PULUMI_K8S_DELETE_UNREACHABLE is the only way objects leave the state unreached.
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=list(args.depends_on))
        labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "backend-on-eks",
                  "app.kubernetes.io/managed-by": "pulumi"}
        subjects = [k8s.rbac.v1.SubjectArgs(kind="Group", name=args.group, api_group=RBAC_GROUP)]

        def get(objects: NamedObjects) -> k8s.rbac.v1.PolicyRuleArgs:
            return k8s.rbac.v1.PolicyRuleArgs(api_groups=[objects.api_group], resources=[objects.resource],
                                              resource_names=objects.names, verbs=["get"])

        # Its own role and binding too: the refresh reads them like any other object.
        own_cluster = [NamedObjects("clusterroles", [NAME]), NamedObjects("clusterrolebindings", [NAME])]
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, labels=labels),
            rules=[get(objects) for objects in (*args.cluster_objects, *own_cluster)],
            opts=in_cluster,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-role-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, labels=labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_GROUP, kind="ClusterRole", name=cluster_role.metadata.name),
            subjects=subjects,
            opts=in_cluster,
        )

        own_namespaced = [NamedObjects("roles", [NAME]), NamedObjects("rolebindings", [NAME])]

        def namespace_role(key: str, namespace: pulumi.Input[str], rules: list[k8s.rbac.v1.PolicyRuleArgs]) -> None:
            role = k8s.rbac.v1.Role(
                f"{name}-role-{key}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=namespace, labels=labels),
                rules=rules,
                opts=in_cluster,
            )
            k8s.rbac.v1.RoleBinding(
                f"{name}-role-binding-{key}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=namespace, labels=labels),
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_GROUP, kind="Role", name=role.metadata.name),
                subjects=subjects,
                opts=in_cluster,
            )

        secrets = k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["secrets"], verbs=["get"])
        namespace_role("stack-namespace", args.stack_namespace,
                       [secrets, *(get(objects) for objects in own_namespaced)])
        for namespace, objects in args.namespaced_objects.items():
            namespace_role(namespace, namespace, [get(entry) for entry in (*objects, *own_namespaced)])

        self.group = args.group
        self.register_outputs({"group": self.group})
