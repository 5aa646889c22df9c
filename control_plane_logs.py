"""The EKS control-plane log group, `/aws/eks/<cluster>/cluster`, after a destroy.

The program creates the group before the cluster (components/cluster.py), so EKS writes into a
group with the stack's retention that `destroy` removes. But EKS's service-linked role has been
seen re-creating it for log streams that arrive after the cluster is deleted
(terraform-aws-eks#2763), with no retention and none of the program's tags. The next `up` of that
stack would then fail with ResourceAlreadyExistsException, after the VPC and the KMS key exist.
So before it declares anything the program asks whether such a group waits there: the group
exists, the cluster does not, and the group lacks the tag the program puts on its own. The Destroy
workflow deletes a re-created group after the destroy; this catches one made later, or after a
destroy run by hand.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_aws as aws

OWNER_TAG = "backend-on-eks/stack"


class LogGroupLeftByEks(pulumi.RunError):
    """A control-plane log group exists that the stack did not create, and would collide with its own."""


def log_group_name(cluster_name: str) -> str:
    return f"/aws/eks/{cluster_name}/cluster"


def owner() -> str:
    """The tag value the program's own group carries: project and stack."""
    return f"{pulumi.get_project()}/{pulumi.get_stack()}"


def refuse_a_group_left_after_a_destroy(cluster_name: str, region: str, container_insights_groups: Sequence[str] = ()) -> None:
    """Also for Container Insights' groups, named after the cluster too: Fluent Bit and the
    CloudWatch agent create theirs on first write (auto_create_group), and a pod still flushing
    while `destroy` deletes the groups makes one again."""
    if cluster_name in (aws.eks.get_clusters().names or []):
        return  # the stack is up: its groups are in its state
    writers = {log_group_name(cluster_name): "EKS", **{name: "the CloudWatch agent or Fluent Bit"
                                                      for name in container_insights_groups}}
    # One listing per folder the names share (/aws/eks/<cluster>/, /aws/containerinsights/<cluster>/);
    # a prefix also matches longer names, so only an exact name collides.
    existing = {found for folder in sorted({name.rsplit("/", 1)[0] + "/" for name in writers})
                for found in aws.cloudwatch.get_log_groups(log_group_name_prefix=folder).log_group_names or []}
    for name, writer in writers.items():
        if name not in existing:
            continue
        tags = aws.cloudwatch.get_log_group(name=name).tags or {}
        if tags.get(OWNER_TAG) == owner():
            continue  # the program's own, from an `up` that stopped before the cluster existed
        raise LogGroupLeftByEks(
            f"log group {name} exists but cluster {cluster_name} does not, and the group lacks the tag "
            f"{OWNER_TAG}={owner()} the program puts on its own: {writer} re-created it for logs that "
            "arrived after a destroy, and creating the stack's own would fail (ResourceAlreadyExistsException) "
            f"after the VPC and KMS key exist. Delete it, then run again: aws logs delete-log-group "
            f"--log-group-name {name} --region {region}"
        )
