"""ECR repositories: scanned on push, immutable tags, KMS encryption."""

from __future__ import annotations


from pulumi_policy import (
    ResourceValidationArgs,
)

from .values import Report, _map, _seq


ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
ECR_KMS_TYPES = ("KMS", "KMS_DSSE")


def _ecr_scan_on_push(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == ECR_REPOSITORY:
        # `is True`: the string "false" is truthy and must not read as a yes.
        if _map(args.props.get("imageScanningConfiguration")).get("scanOnPush") is not True:
            report("ECR repository must scan images on push (imageScanningConfiguration.scanOnPush: true).")
    elif args.resource_type == ECR_REGISTRY_SCANNING:
        # A registry-level configuration replaces every repository's scanOnPush: with no rule, or
        # rules that filter some repositories out, those repositories are never scanned.
        for rule in _seq(args.props.get("rules")):
            rule = _map(rule)
            every_repository = any(
                _map(f).get("filter") == "*" and _map(f).get("filterType") == "WILDCARD"
                for f in _seq(rule.get("repositoryFilters")))
            if rule.get("scanFrequency") in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN") and every_repository:
                return
        report("ECR registry scanning configuration must scan every repository on push (a rule with "
               "scanFrequency SCAN_ON_PUSH or CONTINUOUS_SCAN and the WILDCARD filter '*'): it replaces "
               "each repository's own scanOnPush.")


def _ecr_immutable_tags(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == ECR_REPOSITORY:
        # Exactly IMMUTABLE: IMMUTABLE_WITH_EXCLUSION leaves the excluded tags movable.
        if args.props.get("imageTagMutability") != "IMMUTABLE":
            report("ECR repository must have immutable tags (imageTagMutability: IMMUTABLE); "
                   f"got {args.props.get('imageTagMutability') or 'MUTABLE (the default)'}.")


def _ecr_kms_encryption(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == ECR_REPOSITORY:
        configurations = _seq(args.props.get("encryptionConfigurations"))
        types = [_map(c).get("encryptionType") for c in configurations]
        # Unset means AES256 with an AWS-owned key, which no key policy or CloudTrail entry governs.
        if not types or any(t not in ECR_KMS_TYPES for t in types):
            report("ECR repository must encrypt images with KMS (encryptionConfigurations: "
                   f"[{{encryptionType: KMS}}]); got {types or 'none, so AES256'}.")
