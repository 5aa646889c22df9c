"""The second round of hostile stack settings (issue 23): each case was accepted, or leaked, or
garbled, before; each is refused before any resource with a problem naming key, value and rule."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

import settings
from ops.offline import harness
from tests.infra.test_settings_hostile import ARN, PREFIX, as_list, dev_raw, parsed_with, problems_for
from tests.infra.test_zones import evaluate_with_offerings

PROPERTIES = hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def secret_problems(overrides: dict[str, str]) -> list[str]:
    return problems_for(overrides, secret_keys=frozenset(overrides))


# --- 1. no secret in a problem ---------------------------------------------------------------------

@pytest.mark.parametrize("value", ["ftp://user:pw@host/x", "https://user:pw@hn.algolia.com:70000/x",
                                   "http://[::1/x", "not a url at all"])
def test_a_secret_upstream_url_the_backend_refuses_is_not_repeated_in_its_reason(value):
    [problem] = secret_problems({"upstreamUrl": value})
    assert problem.startswith(f"{PREFIX}upstreamUrl = [secret]: the backend refuses it: expected ")
    for part in (value, repr(value), "user:pw", "70000"):
        assert part not in problem


def test_a_secret_spelled_inside_the_placeholder_leaves_the_placeholder_whole():
    [problem] = secret_problems({"backendThreadsPerWorker": "secr"})
    assert problem.startswith(f"{PREFIX}backendThreadsPerWorker = [secret]: ")
    assert "[[" not in problem


def test_secret_worker_counts_are_not_shown_in_the_memory_problem():
    [problem] = secret_problems({"backendWorkers": "64"})
    assert problem.startswith(f"{PREFIX}backendWorkers/{PREFIX}backendThreadsPerWorker/{PREFIX}memoryLimit = "
                              "[secret]/…/…: ")
    assert "64" not in problem and "4648Mi" not in problem


def test_a_secret_in_a_rule_the_backend_applies_to_several_keys_keeps_its_reason_out(monkeypatch):
    # Whatever the backend's rule over the whole environment says, it quotes what it was given.
    real = settings._backend_config.read_service_settings

    def refusing_together(env=None):
        if env is not None and len(env) > 1:
            raise settings._backend_config.ConfigError(f"these do not go together: {sorted(env.values())}")
        return real(env) if env is not None else real()

    monkeypatch.setattr(settings._backend_config, "read_service_settings", refusing_together)
    problems = secret_problems({"upstreamUrl": "https://user:hunter2@hn.algolia.com/api/v1/search"})
    [together] = [problem for problem in problems if "refuses them together" in problem]
    assert "its reason is not shown" in together and f"{PREFIX}upstreamUrl, set as secrets" in together
    assert "hunter2" not in together


def test_without_a_secret_the_backends_reason_over_several_keys_is_shown(monkeypatch):
    real = settings._backend_config.read_service_settings

    def refusing_together(env=None):
        if env is not None and len(env) > 1:
            raise settings._backend_config.ConfigError("UPSTREAM_URL and WEB_CONCURRENCY do not go together")
        return real(env) if env is not None else real()

    monkeypatch.setattr(settings._backend_config, "read_service_settings", refusing_together)
    [together] = [problem for problem in problems_for({}) if "refuses them together" in problem]
    assert together.endswith("the backend refuses them together: UPSTREAM_URL and WEB_CONCURRENCY do not go together")


BACKEND_KEYS = sorted(settings.BACKEND_ENVIRONMENT)


@PROPERTIES
@given(key=st.sampled_from(BACKEND_KEYS), value=st.text(st.characters(codec="ascii", exclude_categories=("Cc",)),
                                                        min_size=1, max_size=40))
def test_no_secret_backend_value_appears_in_any_problem(key, value):
    raw, region = dev_raw()
    try:
        settings.parse({**raw, key: value}, region, "dev", secret_keys=frozenset({key}))
        return
    except settings.StackConfigError as refused:
        problems = refused.problems
    for problem in problems:
        # The placeholder is the program's own text ("secr" is in "[secret]"): the rest is judged.
        shown = problem.replace("[secret]", "\0")
        assert repr(value) not in shown and json.dumps(value) not in shown
        if len(value) >= 4:
            assert value not in shown


# --- 2. IAM principal ARNs IAM would refuse --------------------------------------------------------------

@pytest.mark.parametrize(("arn", "said"), [
    ("arn:aws:iam::123456789012:role/Admin/", "no trailing slash"),
    ("arn:aws:iam::123456789012:role/team//Admin", "no trailing slash, no empty path segment"),
    ("arn:aws:iam::123456789012:role//Admin", "no trailing slash, no empty path segment"),
    ("arn:aws:iam::123456789012:role/a/../Admin", "no segment empty, '.' or '..'"),
    ("arn:aws:iam::123456789012:role/./Admin", "no segment empty, '.' or '..'"),
    ("arn:aws:iam::123456789012:role/" + "R" * 65, "1-64 letters"),
    ("arn:aws:iam::123456789012:user/" + "u" * 65, "1-64 letters"),
    ("arn:aws:iam::123456789012:role/" + "p/" * 257 + "Admin", "at most 512"),
    ("arn:aws-moon:iam::123456789012:role/Admin", "partition"),
    ("arn:aws-cn:iam::123456789012:role/Admin", "it is in aws-cn, but region us-east-1 is in aws"),
    ("arn:aws:iam::123456789012:role/Ad min", "1-64 letters"),
])
def test_a_principal_arn_iam_would_refuse_is_refused_before_any_resource(arn, said):
    [problem] = problems_for({"adminPrincipalArns": as_list(arn)})
    key_and_value, _, reason = problem.partition(": must be an IAM user or role ARN")
    assert key_and_value.startswith(f"{PREFIX}adminPrincipalArns = 'arn:")  # long values are shown shortened
    assert reason and said in reason


def test_a_creator_arn_in_another_partition_is_refused_too():
    [problem] = problems_for({"clusterCreatorArn": "arn:aws-us-gov:iam::123456789012:role/Creator"})
    assert problem.startswith(f"{PREFIX}clusterCreatorArn = ") and "aws-us-gov" in problem


def test_a_path_and_a_name_at_iams_limits_are_accepted():
    arn = "arn:aws:iam::123456789012:role/" + "p" * 510 + "/" + "R" * 64
    assert arn in parsed_with({"adminPrincipalArns": as_list(arn)}).admin_principal_arns


@pytest.mark.parametrize("region", settings.AWS_REGIONS)
def test_every_region_pulumi_aws_knows_has_a_partition_that_names_principals(region):
    # A region of a partition not in PARTITION_PREFIXES would be taken for aws: this fails first.
    partition = settings.partition_of(region)
    assert partition == "aws" or any(region.startswith(prefix) for prefix, _ in settings.PARTITION_PREFIXES)
    assert settings.iam_principal_problem(f"arn:{partition}:iam::123456789012:role/Admin", region) is None


# --- 3. one principal, two spellings ---------------------------------------------------------------------

@pytest.mark.parametrize(("first", "second"), [
    (ARN.format("Admin"), ARN.format("admin")),
    (ARN.format("Admin"), "arn:aws:iam::123456789012:role/team/Admin"),
    ("arn:aws:iam::123456789012:role/a/Admin", "arn:aws:iam::123456789012:role/b/ADMIN"),
])
def test_one_principal_spelled_two_ways_in_one_list_is_refused(first, second):
    [problem] = problems_for({"adminPrincipalArns": as_list(first, second)})
    assert problem.startswith(f"{PREFIX}adminPrincipalArns = ") and "name one principal" in problem
    assert repr(first) in problem and repr(second) in problem


def test_one_principal_spelled_two_ways_in_two_lists_is_refused_naming_both():
    problems = problems_for({"adminPrincipalArns": as_list(ARN.format("Ops")),
                             "viewerPrincipalArns": as_list("arn:aws:iam::123456789012:role/x/ops")})
    assert any(problem.startswith(f"{PREFIX}adminPrincipalArns/{PREFIX}viewerPrincipalArns = ")
               and "name one principal" in problem for problem in problems)


def test_a_role_and_a_user_of_one_name_are_two_principals():
    accepted = parsed_with({"adminPrincipalArns": as_list(ARN.format("Ops"), "arn:aws:iam::123456789012:user/Ops")})
    assert len(accepted.admin_principal_arns) == 2


# --- 4. a domain ACM cannot certify ---------------------------------------------------------------------

def tls(domain: str) -> dict[str, str]:
    return {"exposure": "loadBalancer", "nodePortIngressCidrs": "[]", "domainName": domain,
            "hostedZoneId": "Z0123456789ABCDEFGHIJ"}


def test_a_domain_name_over_64_characters_is_refused_for_its_certificate():
    domain = "a" * 57 + ".example.com"  # 69 characters, every label within 63
    [problem] = problems_for(tls(domain))
    assert problem.startswith(f"{PREFIX}domainName = {domain!r}: is 69 characters; ACM issues no certificate")


def test_a_domain_name_of_64_characters_is_accepted():
    domain = "a" * 52 + ".example.com"
    assert len(domain) == 64 and parsed_with(tls(domain)).domain_name == domain


# --- 5. CIDR blocks only in canonical form ------------------------------------------------------------------

CIDR_KEYS = {"apiPublicAccessCidrs": "203.0.113.0/24", "nodePortIngressCidrs": "198.51.100.0/24"}


@pytest.mark.parametrize("key", sorted(CIDR_KEYS))
@pytest.mark.parametrize("written", ["203.0.113.0/024", "203.0.113.0/+24", "203.0.113.0/ 24", "203.0.113.0/24 "])
def test_a_cidr_block_not_in_canonical_form_is_refused(key, written):
    [problem] = problems_for({key: as_list(written)})
    assert problem.startswith(f"{PREFIX}{key} = {written!r}: ")


def test_the_vpc_cidr_must_be_canonical_too():
    [problem] = problems_for({"vpcCidr": "10.0.0.0/016"})
    assert problem.startswith(f"{PREFIX}vpcCidr = '10.0.0.0/016': ")


@PROPERTIES
@given(network=st.ip_addresses(v=4).flatmap(
    lambda address: st.integers(8, 32).map(lambda prefix: ipaddress.IPv4Network(f"{address}/{prefix}", strict=False))),
    zeros=st.integers(1, 2))
def test_any_prefix_written_with_leading_zeros_is_refused(network, zeros):
    written = f"{network.network_address}/{'0' * zeros}{network.prefixlen}"
    assert not settings._is_cidr(written) and settings._is_cidr(str(network))


# --- 6. source lists a security group can hold --------------------------------------------------------------

def blocks(count: int) -> list[str]:
    return [str(ipaddress.IPv4Network(f"198.51.{index // 256}.{index % 256}/32")) for index in range(count)]


def test_more_source_blocks_than_a_security_group_holds_are_refused_without_judging_each():
    [problem] = problems_for({"nodePortIngressCidrs": json.dumps(blocks(3000))})
    assert problem == (f"{PREFIX}nodePortIngressCidrs = 'a list of 3000': must list at most 60 items: each is one "
                       "inbound rule of a security group, which holds 60 by default; summarise them with wider blocks")


def test_sixty_source_blocks_are_accepted():
    assert len(parsed_with({"nodePortIngressCidrs": json.dumps(blocks(60))}).node_port_ingress_cidrs) == 60


@PROPERTIES
@given(st.lists(st.integers(0, 255).flatmap(lambda third: st.integers(22, 28).map(
    lambda prefix: str(ipaddress.IPv4Network(f"198.51.{third}.0/{prefix}", strict=False)))), min_size=1, max_size=12,
    unique=True))
def test_a_block_inside_another_listed_block_is_found_whatever_the_order(listed):
    networks = [ipaddress.IPv4Network(block) for block in listed]
    nested = {str(n) for n in networks if any(n != other and n.subnet_of(other) for other in networks)}
    raw, region = dev_raw()
    try:
        settings.parse({**raw, "nodePortIngressCidrs": json.dumps(listed)}, region, "dev")
        found = set()
    except settings.StackConfigError as refused:
        found = {problem.split(" = ", 1)[1].split(":", 1)[0].strip("'") for problem in refused.problems
                 if "lies within" in problem}
    assert found == nested


# --- 7. the smaller ones ------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone_id", ["Z1", "Z12345678", "z0123456789ABCDEFGHIJ", "Z" + "A" * 32])
def test_a_hosted_zone_id_route53_does_not_make_is_refused(zone_id):
    [problem] = problems_for({**tls("api.example.com"), "hostedZoneId": zone_id})
    assert problem.startswith(f"{PREFIX}hostedZoneId = {zone_id!r}: must be empty or a Route 53 hosted zone ID")


def test_a_hosted_zone_id_with_its_api_path_prefix_is_refused_saying_to_drop_it():
    [problem] = problems_for({**tls("api.example.com"), "hostedZoneId": "/hostedzone/Z0123456789ABCDEFGHIJ"})
    assert problem.endswith("drop the /hostedzone/ prefix")


def test_an_empty_kubernetes_version_is_refused_with_a_message_that_says_so():
    [problem] = problems_for({"kubernetesVersion": ""})
    assert problem == (f"{PREFIX}kubernetesVersion = '': must not be empty: a Kubernetes minor version such as 1.35, "
                       "or remove the key for Pulumi.yaml's default")


def test_an_instance_type_no_zone_offers_is_named_as_such_not_as_too_few_zones():
    with pytest.raises(harness.ProgramFailed) as caught:
        evaluate_with_offerings({"t3.medium": set()}, {PREFIX + "nodeInstanceTypes": ["t3.medum"]})
    message = str(caught.value)
    assert "no availability zone of this region offers instance type 't3.medum'" in message
    assert "availabilityZoneCount" not in message
    assert caught.value.registrations == []


@pytest.mark.parametrize("instance_type", ["mac1.metal", "mac2.metal", "mac2-m2pro.metal", "mac-m4.metal"])
def test_a_mac_instance_type_is_refused_since_no_eks_node_runs_on_one(instance_type):
    [problem] = problems_for({"nodeInstanceTypes": as_list(instance_type)})
    assert problem.startswith(f"{PREFIX}nodeInstanceTypes = {instance_type!r}: is an EC2 Mac instance type")
