"""The EKS cluster: secrets encryption, audit logs, a restricted endpoint and protection in production."""

from __future__ import annotations

import re

from pulumi_policy import (
    ResourceValidationArgs,
)

from .cidrs import _covers_internet, _network, _unreadable_cidrs
from .ecr import ECR_REPOSITORY
from .production import _is_production, _stack_of
from .values import Report, _map, _seq, _strings


KMS_KEY_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:kms:[a-z0-9-]+:[0-9]{12}:(?:key|alias)/[A-Za-z0-9/_+=,.@:-]+")


def _eks_secrets_encryption(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == "eks:index:Cluster":
        # pulumi-eks encrypts exactly `secrets` with this key; without it, nothing.
        key = args.props.get("encryptionConfigKeyArn")
        if not (isinstance(key, str) and KMS_KEY_ARN.fullmatch(key)):
            report("EKS cluster must envelope-encrypt Kubernetes secrets with a KMS key "
                   f"(encryptionConfigKeyArn: a KMS key ARN); got {key!r}.")
    elif args.resource_type == "aws:eks/cluster:Cluster":
        config = _map(args.props.get("encryptionConfig"))
        resources = _strings(config.get("resources"))
        key = _map(config.get("provider")).get("keyArn")
        if "secrets" not in resources or not (isinstance(key, str) and KMS_KEY_ARN.fullmatch(key)):
            report("EKS cluster must envelope-encrypt Kubernetes secrets (encryptionConfig.resources: "
                   f"[secrets], provider.keyArn: a KMS key ARN); got resources {resources}, key {key!r}.")


def _eks_audit_logs(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in ("eks:index:Cluster", "aws:eks/cluster:Cluster"):
        if "audit" not in _strings(args.props.get("enabledClusterLogTypes")):
            report("EKS cluster must send its audit log to CloudWatch (enabledClusterLogTypes includes audit).")


def _eks_endpoint_restricted_in_production(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == "eks:index:Cluster":
        vpc = args.props
    elif args.resource_type == "aws:eks/cluster:Cluster":
        vpc = _map(args.props.get("vpcConfig"))
    else:
        return
    if not _is_production(args.urn, args.get_config()):
        return
    public, cidrs = vpc.get("endpointPublicAccess"), _seq(vpc.get("publicAccessCidrs"))
    # The endpoint is public unless explicitly closed, and AWS opens a public endpoint to
    # 0.0.0.0/0 when no CIDRs are given.
    if public is not False and (not cidrs or _unreadable_cidrs(cidrs) or _covers_internet(map(_network, cidrs))):
        report(f"in production stack {_stack_of(args.urn)!r}, the EKS API endpoint must not be open "
               f"to the internet (publicAccessCidrs: {cidrs or 'unset, so 0.0.0.0/0'}).")


STATEFUL_TYPES = (ECR_REPOSITORY, "aws:kms/key:Key", "eks:index:Cluster", "aws:eks/cluster:Cluster")


def _protected_in_production(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in STATEFUL_TYPES and _is_production(args.urn, args.get_config()):
        if args.opts.protect is not True:
            report(f"{args.resource_type} {args.name!r} holds state and must be protected "
                   f"(protect: true) in production stack {_stack_of(args.urn)!r}.")
