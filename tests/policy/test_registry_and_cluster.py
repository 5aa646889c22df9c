"""ECR scans and encrypts what it stores; EKS encrypts secrets and keeps a production API private."""

from __future__ import annotations

import copy

import pytest

from tests.policy.adapter import assert_only_violation, violations
from tests.policy.builders import changed, plus, registration
from tests.support.types import REPOSITORY

CLUSTER = "eks:index:Cluster"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-0000-0000-000000000000"


# --- ECR ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scanning", [None, {}, {"scanOnPush": False}, {"scanOnPush": "true"}, {"scanOnPush": 1}],
                         ids=repr)
def test_a_repository_without_a_real_scan_on_push_is_stopped(prod, scanning):
    evaluation = changed(prod, REPOSITORY, lambda i: i.update(imageScanningConfiguration=scanning))
    assert_only_violation(violations(evaluation), "ecr-scan-on-push")


def test_a_repository_without_any_scanning_configuration_is_stopped(prod):
    evaluation = changed(prod, REPOSITORY, lambda i: i.pop("imageScanningConfiguration"))
    assert "scan images on push" in assert_only_violation(violations(evaluation), "ecr-scan-on-push")[0]


def test_a_scanning_configuration_in_the_older_list_shape_is_read(prod):
    evaluation = changed(prod, REPOSITORY, lambda i: i.update(imageScanningConfiguration=[{"scanOnPush": True}]))
    assert violations(evaluation) == {}


def registry_scanning(prod, rules):
    return registration(prod, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "scanning",
                        {"scanType": "BASIC", "rules": rules})


EVERY_REPOSITORY = [{"filter": "*", "filterType": "WILDCARD"}]


@pytest.mark.parametrize("rules", [
    [], None, [{"scanFrequency": "MANUAL", "repositoryFilters": EVERY_REPOSITORY}],
    [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "backend-*", "filterType": "WILDCARD"}]}],
    [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": []}],
], ids=repr)
def test_a_registry_scanning_configuration_that_leaves_repositories_unscanned_is_stopped(prod, rules):
    assert "replaces each repository's own scanOnPush" in assert_only_violation(
        violations(plus(prod, registry_scanning(prod, rules))), "ecr-scan-on-push")[0]


@pytest.mark.parametrize("frequency", ["SCAN_ON_PUSH", "CONTINUOUS_SCAN"])
def test_a_registry_scanning_configuration_that_scans_every_repository_passes(prod, frequency):
    rules = [{"scanFrequency": frequency, "repositoryFilters": EVERY_REPOSITORY}]
    assert violations(plus(prod, registry_scanning(prod, rules))) == {}


@pytest.mark.parametrize("configurations", [
    None, [], [{"encryptionType": "AES256"}], [{"encryptionType": "kms"}], [{}],
    [{"encryptionType": "KMS"}, {"encryptionType": "AES256"}],
], ids=repr)
def test_a_repository_not_encrypted_with_kms_is_stopped(prod, configurations):
    evaluation = changed(prod, REPOSITORY, lambda i: i.update(encryptionConfigurations=configurations))
    assert "must encrypt images with KMS" in assert_only_violation(violations(evaluation), "ecr-kms-encryption")[0]


@pytest.mark.parametrize("configuration", [{"encryptionType": "KMS", "kmsKey": KEY}, {"encryptionType": "KMS_DSSE"}])
def test_a_repository_encrypted_with_kms_passes(prod, configuration):
    evaluation = changed(prod, REPOSITORY, lambda i: i.update(encryptionConfigurations=[configuration]))
    assert violations(evaluation) == {}


@pytest.mark.parametrize("mutability", ["MUTABLE", "IMMUTABLE_WITH_EXCLUSION", "immutable", None])
def test_a_repository_whose_tags_can_move_is_stopped(prod, mutability):
    evaluation = changed(prod, REPOSITORY, lambda i: i.update(imageTagMutability=mutability))
    assert_only_violation(violations(evaluation), "ecr-immutable-tags")


# --- EKS secrets encryption -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [" ", "not-an-arn", "alias/eks", "arn:aws:kms:us-east-1:1:key/k", 42], ids=repr)
def test_a_component_cluster_without_a_kms_key_arn_is_stopped(prod, key):
    evaluation = changed(prod, CLUSTER, lambda i: i.update(encryptionConfigKeyArn=key))
    assert_only_violation(violations(evaluation), "eks-secrets-encryption")


def aws_cluster(prod, **props):
    base = {"encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY}},
            "enabledClusterLogTypes": ["api", "audit"],
            "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}}
    return registration(prod, "aws:eks/cluster:Cluster", "eks-cluster", {**base, **props}, protect=True)


@pytest.mark.parametrize("config", [
    {"resources": [], "provider": {"keyArn": KEY}},
    {"resources": "not-secrets", "provider": {"keyArn": KEY}},
    {"resources": ["Secrets"], "provider": {"keyArn": KEY}},
    {"resources": ["secrets "], "provider": {"keyArn": KEY}},
    {"resources": ["secrets"]},
    {"resources": ["secrets"], "provider": {"keyArn": ""}},
    {"resources": ["configmaps"], "provider": {"keyArn": KEY}},
], ids=repr)
def test_an_aws_cluster_whose_encryption_leaves_out_secrets_is_stopped(prod, config):
    found = violations(plus(prod, aws_cluster(prod, encryptionConfig=config)))
    assert_only_violation(found, "eks-secrets-encryption")


def test_an_aws_cluster_encryption_config_in_the_older_list_shape_is_read(prod):
    config = [{"resources": ["secrets"], "provider": {"keyArn": KEY}}]
    assert violations(plus(prod, aws_cluster(prod, encryptionConfig=config))) == {}


def test_an_aws_cluster_whose_log_types_are_a_string_is_read_as_one_log_type(prod):
    found = violations(plus(prod, aws_cluster(prod, enabledClusterLogTypes="api,audit")))
    assert_only_violation(found, "eks-audit-logs")


# --- The API endpoint in production -----------------------------------------------------------------

ENDPOINT = "eks-endpoint-restricted-in-production"


@pytest.mark.parametrize("cidrs", [
    ["0.0.0.0/1", "128.0.0.0/1"], ["::0/0"], [" 0.0.0.0/0"], ["10.0.0.1/0"], ["anyone"], [],
    "0.0.0.0/0",
], ids=repr)
def test_a_production_endpoint_open_to_the_world_however_spelled_is_stopped(prod, cidrs):
    evaluation = changed(prod, CLUSTER, lambda i: i.update(publicAccessCidrs=cidrs))
    assert_only_violation(violations(evaluation), ENDPOINT)


@pytest.mark.parametrize("public", [True, None, "false", 0])
def test_a_production_endpoint_is_public_unless_closed_with_false(prod, public):
    evaluation = changed(prod, CLUSTER, lambda i: i.update(endpointPublicAccess=public, publicAccessCidrs=["0.0.0.0/0"]))
    assert_only_violation(violations(evaluation), ENDPOINT)


def test_a_closed_production_endpoint_may_list_any_cidrs(prod):
    evaluation = changed(prod, CLUSTER, lambda i: i.update(endpointPublicAccess=False, publicAccessCidrs=["0.0.0.0/0"]))
    assert violations(evaluation) == {}


def test_an_aws_cluster_endpoint_config_in_the_older_list_shape_is_read(prod):
    vpc = [{"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}]
    assert_only_violation(violations(plus(prod, aws_cluster(prod, vpcConfig=vpc))), ENDPOINT)


def test_an_unprotected_aws_cluster_is_stopped_in_production(prod):
    cluster = copy.deepcopy(aws_cluster(prod))
    cluster.protect = False
    assert_only_violation(violations(plus(prod, cluster)), "stateful-protected-in-production")


def test_the_registry_scanning_message(prod):
    assert violations(plus(prod, registry_scanning(prod, []))) == {"ecr-scan-on-push": [
        "ECR registry scanning configuration must scan every repository on push (a rule with scanFrequency "
        "SCAN_ON_PUSH or CONTINUOUS_SCAN and the WILDCARD filter '*'): it replaces each repository's own scanOnPush."]}


def test_the_immutable_tags_message_names_the_value_found(prod):
    evaluation = changed(prod, REPOSITORY, lambda i: i.update(imageTagMutability="MUTABLE"))
    assert assert_only_violation(violations(evaluation), "ecr-immutable-tags")[0].endswith("; got MUTABLE.")


def test_the_aws_cluster_encryption_message(prod):
    found = violations(plus(prod, aws_cluster(prod, encryptionConfig={"resources": ["configmaps"]})))
    assert found == {"eks-secrets-encryption": [
        "EKS cluster must envelope-encrypt Kubernetes secrets (encryptionConfig.resources: [secrets], "
        "provider.keyArn: a KMS key ARN); got resources ['configmaps'], key None."]}
