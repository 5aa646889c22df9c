"""Who may use the cluster: every actor of the stack config, as EKS access entries.

EKS makes the identity that creates a cluster its admin (pulumi-eks always asks it to, with
`bootstrapClusterCreatorAdminPermissions: true`), in an entry the program does not own. A second,
explicit entry for that principal fails the `up` ("already in use", pulumi-eks#2373). So the
program must know the creator on every run, whoever runs it:

- `clusterCreatorArn` in the stack config, when set;
- otherwise, while the cluster does not exist yet, the identity running this very program (it is
  about to create the cluster), learnt from STS and recorded on the cluster as a tag;
- otherwise, that tag, read back from the existing cluster.

The creator is not the caller of later runs: a deploy role running the second `up` must keep its
own entry, so the program never leaves out whoever happens to be running it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

import settings
from components.cluster import CLUSTER_ADMIN_POLICY, VIEW_POLICY, AccessGrant

CREATOR_TAG = "backend-on-eks/cluster-creator"
# The Kubernetes group of viewerPrincipalArns' entries: components/stack_readers.py lets it read the
# stack's own objects that AmazonEKSViewPolicy leaves out (RBAC objects, its Secrets).
STACK_READERS_GROUP = "backend-on-eks:stack-readers"


# EKS tag values: letters, numbers, spaces and _ . : / = + - @ only, at most 256 characters
# (TagResource). IAM names and paths also allow `,` (names) and most printable ASCII (paths).
_TAG_SAFE = re.compile(r"[A-Za-z0-9 _.:/=+\-@]*")
_TAG_VALUE_MAX = 256
# A value in this form was escaped: `=XX` for each byte outside the tag set, `=` included.
_ESCAPED_PREFIX = "escaped:"


class UnknownClusterCreator(pulumi.RunError):
    """The cluster exists, but nothing says who created it."""


class CreatorCannotBeTagged(pulumi.RunError):
    """The creator's ARN does not fit in an EKS tag value, even escaped."""


def creator_tag_value(arn: str) -> str:
    """The creator's ARN as a tag value EKS accepts: as it is when it fits, else escaped."""
    if _TAG_SAFE.fullmatch(arn) and len(arn) <= _TAG_VALUE_MAX:
        return arn
    escaped = _ESCAPED_PREFIX + "".join(
        char if char != "=" and _TAG_SAFE.fullmatch(char) else "".join(f"={byte:02X}" for byte in char.encode())
        for char in arn)
    if len(escaped) > _TAG_VALUE_MAX:
        raise CreatorCannotBeTagged(
            f"the cluster's creator {arn} is {len(arn)} characters with its path: escaped for an EKS tag "
            f"value it needs {len(escaped)}, over the {_TAG_VALUE_MAX} EKS accepts, so CreateCluster would "
            "fail. Create the cluster as a principal with a shorter path, or set "
            "backend-on-eks:clusterCreatorArn to the one EKS should make admin")
    return escaped


def creator_from_tag(value: str) -> str:
    if not value.startswith(_ESCAPED_PREFIX):
        return value
    raw = value[len(_ESCAPED_PREFIX):]
    return re.sub(rb"=([0-9A-F]{2})", lambda m: bytes([int(m[1], 16)]),
                  raw.encode()).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ClusterAccess:
    creator_arn: str
    grants: Mapping[str, AccessGrant]
    """By access-entry key (`settings.access_entry_key`), so reordering a list replaces nothing."""


def caller_principal_arn() -> str:
    """The IAM user or role running this program. STS names a role session
    (`arn:aws:sts::…:assumed-role/Name/session`); EKS wants the role (`arn:aws:iam::…:role/path/Name`)."""
    caller = aws.get_caller_identity()
    return aws.iam.get_session_context(arn=caller.arn).issuer_arn


def cluster_creator(cluster_name: str, configured_creator: str) -> str:
    if configured_creator:
        return configured_creator
    if cluster_name not in aws.eks.get_clusters().names:
        return caller_principal_arn()
    recorded = (aws.eks.get_cluster(name=cluster_name).tags or {}).get(CREATOR_TAG)
    if not recorded:
        raise UnknownClusterCreator(
            f"backend-on-eks:clusterCreatorArn = <not set>: cluster {cluster_name} exists but has no "
            f"{CREATOR_TAG} tag, so the program cannot tell which principal EKS made its admin. Set it "
            f"to that principal (`aws eks list-access-entries --cluster-name {cluster_name}` lists it "
            "beside the entries this stack declares)"
        )
    return creator_from_tag(recorded)


def cluster_access(config: settings.StackSettings) -> ClusterAccess:
    """Every declared actor's grant, less the creator's: EKS already made that one."""
    creator = cluster_creator(config.cluster_name, config.cluster_creator_arn)
    creator_identity = settings.principal_identity(creator)
    if any(settings.principal_identity(arn) == creator_identity for arn in config.viewer_principal_arns):
        pulumi.log.warn(
            f"backend-on-eks:viewerPrincipalArns lists {creator}, the cluster's creator: EKS made it "
            "cluster admin and it stays so; delete its entry with `aws eks delete-access-entry` to demote it"
        )
    wanted: list[tuple[str, str, tuple[str, ...]]] = [(arn, CLUSTER_ADMIN_POLICY, ()) for arn in (*config.admin_principal_arns, *config.deploy_principal_arns)]
    wanted += [(arn, VIEW_POLICY, (STACK_READERS_GROUP,)) for arn in config.viewer_principal_arns]
    grants = {
        settings.access_entry_key(arn): AccessGrant(arn, policy, groups)
        for arn, policy, groups in wanted
        # The same role by another spelling of its path or case is still the creator: EKS
        # already holds its entry, and a second would fail the up.
        if settings.principal_identity(arn) != creator_identity
    }
    return ClusterAccess(creator_arn=creator, grants=grants)
