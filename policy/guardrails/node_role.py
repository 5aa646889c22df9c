"""The node role (stack-wide): exactly its three AWS managed policies, however it is named."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    StackValidationArgs,
)

from .values import _map, _seq, _strings


# A node role is any role EC2 may assume (its trust policy), and any role a node group, an
# instance profile or the EKS component is given, whatever its trust policy or name says. What it
# carries is found through every way IAM grants a role permissions.

ROLE = "aws:iam/role:Role"
NODE_ROLE_POLICIES = frozenset({
    "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly",
})
# Only the AWS managed policies themselves: account `aws`, no path. A customer policy of the same
# name (arn:aws:iam::<account>:policy/AmazonEKS_CNI_Policy) is whatever its author wrote.
AWS_MANAGED_POLICY = re.compile(r"arn:(?:aws|aws-cn|aws-us-gov):iam::aws:policy/([A-Za-z0-9_+=,.@-]+)")
EC2_PRINCIPALS = frozenset({"ec2.amazonaws.com", "ec2.amazonaws.com.cn", "*"})
# Inputs by which a resource hands a role to nodes.
NODE_ROLE_USES = {
    "eks:index:ManagedNodeGroup": ("nodeRole", "nodeRoleArn"),
    "aws:eks/nodeGroup:NodeGroup": ("nodeRoleArn",),
    "aws:iam/instanceProfile:InstanceProfile": ("role",),
    "eks:index:Cluster": ("instanceRole", "instanceRoles"),
}


def _allowed_node_policy(arn: Any) -> bool:
    match = AWS_MANAGED_POLICY.fullmatch(arn) if isinstance(arn, str) else None
    return match is not None and match.group(1) in NODE_ROLE_POLICIES


def _policy_shown(arn: Any) -> str:
    match = AWS_MANAGED_POLICY.fullmatch(arn) if isinstance(arn, str) else None
    return match.group(1) if match else repr(arn)


def _trusts_ec2(role_props: Mapping[str, Any]) -> bool:
    document = role_props.get("assumeRolePolicy") or "{}"
    try:
        document = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return True  # unreadable: hold it to the node rule rather than let it escape it
    statements = _map(document).get("Statement") if isinstance(document, Mapping) else None
    for statement in _seq(statements):
        statement = _map(statement)
        if statement.get("Effect", "Allow") != "Allow":
            continue
        principal = statement.get("Principal")
        services = _seq(principal) if isinstance(principal, str) else [
            *_seq(_map(principal).get("Service")), *_seq(_map(principal).get("AWS"))]
        if any(isinstance(s, str) and s.strip().lower() in EC2_PRINCIPALS for s in services):
            return True
    return False


def _role_name_matcher(role):
    """A test of whether a role name (any case) is `role`'s. IAM names "are not distinguished by
    case" (CreateRole's RoleName), so Cluster-Node-Role names the role cluster-node-role. The name
    is the role's own where known; else a namePrefix and anything after it; else Pulumi's auto-name,
    the logical name and a random suffix (pulumi.com/docs/iac/concepts/resources/names), or the
    logical name itself (auto-naming turned off)."""
    name, prefix = role.props.get("name"), role.props.get("namePrefix")
    arn = role.props.get("arn")
    if not (isinstance(name, str) and name) and isinstance(arn, str) and arn.startswith("arn:"):
        name = arn.rsplit("/", 1)[-1]
    if isinstance(name, str) and name:
        return lambda given: given.casefold() == name.casefold()
    if isinstance(prefix, str) and prefix:
        return lambda given: given.casefold().startswith(prefix.casefold())
    auto = re.compile(re.escape(role.name.casefold()) + r"(?:-[0-9a-f]+)?")
    return lambda given: bool(auto.fullmatch(given.casefold()))


def _names_role(value: str, role, matches_name) -> bool:
    """Whether `value` names `role`: its URN, its ARN, or its name (an ARN's last segment is one)."""
    if value == role.urn:
        return True
    arn = role.props.get("arn")
    if isinstance(arn, str) and arn and value == arn:
        return True
    return matches_name(value.rsplit("/", 1)[-1] if value.startswith("arn:") else value)


def _referenced_roles(resource, key: str, roles: Mapping[str, Any]) -> set[str]:
    """URNs of the roles `resource`'s input `key` names: by dependency, URN, ARN or name."""
    found = {dep.urn for dep in resource.property_dependencies.get(key, []) if dep.urn in roles}
    values = [v.strip() for v in _strings(resource.props.get(key))]
    for urn, role in roles.items():
        matches_name = _role_name_matcher(role)
        if any(_names_role(v, role, matches_name) for v in values):
            found.add(urn)
    return found


def _judge_role_attachment(resource: Any, roles: dict[str, Any], node_roles: set[str],
                           attached: dict[str, list[Any]], problems: dict[str, list[str]]) -> None:
    """What `resource` attaches to a node role: managed policy ARNs into `attached` (judged with the
    role's own list), anything a node role may never carry straight into `problems`."""
    kind = resource.resource_type
    if kind == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        targets, arns = _referenced_roles(resource, "role", roles), [resource.props.get("policyArn")]
    elif kind == "aws:iam/policyAttachment:PolicyAttachment":
        targets, arns = _referenced_roles(resource, "roles", roles), [resource.props.get("policyArn")]
    elif kind == "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive":
        for urn in _referenced_roles(resource, "roleName", roles) & node_roles:
            problems[urn] += [f"{_policy_shown(a)} (in {resource.name!r})"
                              for a in _seq(resource.props.get("policyArns")) if not _allowed_node_policy(a)]
        return
    elif kind == "aws:iam/rolePolicy:RolePolicy":
        for urn in _referenced_roles(resource, "role", roles) & node_roles:
            problems[urn].append(f"inline policy {resource.name!r}")
        return
    elif kind == "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive":
        for urn in _referenced_roles(resource, "roleName", roles) & node_roles:
            if _seq(resource.props.get("policyNames")):
                problems[urn].append(f"inline policies {list(_strings(resource.props.get('policyNames')))}")
        return
    else:
        return
    for urn in targets & node_roles:
        attached[urn] += arns


def _node_role_least_privilege(args: StackValidationArgs, report: ReportViolation) -> None:
    roles = {r.urn: r for r in args.resources if r.resource_type == ROLE}
    node_roles = {urn for urn, role in roles.items() if _trusts_ec2(role.props)}
    for resource in args.resources:
        for key in NODE_ROLE_USES.get(resource.resource_type, ()):
            node_roles |= _referenced_roles(resource, key, roles)

    attached: dict[str, list[Any]] = {urn: [] for urn in node_roles}
    problems: dict[str, list[str]] = {urn: [] for urn in node_roles}
    for resource in args.resources:
        _judge_role_attachment(resource, roles, node_roles, attached, problems)

    for urn in sorted(node_roles):
        role = roles[urn]
        # AWS reports every attached policy in managedPolicyArns after `up`: the three are fine there.
        extra = [a for a in [*attached[urn], *_seq(role.props.get("managedPolicyArns"))] if not _allowed_node_policy(a)]
        problems[urn] = sorted({_policy_shown(a) for a in extra}) + problems[urn]
        duplicates = len(attached[urn]) - len(set(map(str, attached[urn])))
        # pulumi-aws reads a role without inline policies back as one empty {name: "", policy: ""}.
        if any(_map(p).get("policy") or _map(p).get("name") for p in _seq(role.props.get("inlinePolicies"))):
            problems[urn].append("inline policies (inlinePolicies)")
        if problems[urn] or duplicates > 0:
            report(f"node role {role.name!r} may carry only {', '.join(sorted(NODE_ROLE_POLICIES))} "
                   f"(arn:aws:iam::aws:policy/<name>); it also has "
                   f"{', '.join(problems[urn]) or 'duplicate attachments'}.", urn)
