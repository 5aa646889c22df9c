"""Stack configuration written by a careless or hostile hand: every value below is refused before
any resource is registered, with one problem that starts with the key and the value.

Values are handed to `settings.parse` as the program receives them (strings; JSON for lists),
including what the CLI's own type check would stop first, because `load` must not depend on it.
"""

from __future__ import annotations

import json
import string

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from pulumi.runtime import config as runtime_config

import settings
from ops.offline import harness

PREFIX = "backend-on-eks:"
ARN = "arn:aws:iam::123456789012:role/{}"


def dev_raw() -> tuple[dict[str, str], str]:
    """The dev stack's values as the CLI hands them over (declared defaults merged in)."""
    merged = harness.effective_config(harness.stack_file_config("dev"))
    return {key[len(PREFIX):]: value for key, value in merged.items() if key.startswith(PREFIX)}, merged["aws:region"]


def problems_for(overrides: dict[str, str], region: str | None = None, secret_keys: frozenset[str] = frozenset()) -> list[str]:
    """Problems of the dev stack with raw string `overrides` (short key names)."""
    raw, dev_region = dev_raw()
    with pytest.raises(settings.StackConfigError) as caught:
        settings.parse({**raw, **overrides}, region or dev_region, "dev", **({"secret_keys": secret_keys} if secret_keys else {}))
    return caught.value.problems


def parsed_with(overrides: dict[str, str]) -> settings.StackSettings:
    raw, region = dev_raw()
    return settings.parse({**raw, **overrides}, region, "dev")


def as_list(*items: str) -> str:
    return json.dumps(list(items))


# Each row: a key, a raw value the issue or a hostile reading found accepted, and what the one
# problem must say. Rows marked (issue) were accepted before this change.
REFUSED = [
    # Trailing newlines and other invisible characters, in every kind of value.
    ("appName", "backend\n", "control or invisible character U+000A"),
    ("memoryLimit", "256Mi\n", "control or invisible character U+000A"),
    ("nodeInstanceTypes", as_list("t3.small\n"), "control or invisible character U+000A"),
    ("adminPrincipalArns", as_list(ARN.format("Admin") + "\n"), "control or invisible character U+000A"),
    ("clusterCreatorArn", ARN.format("Creator") + "\n", "control or invisible character U+000A"),
    ("kubernetesVersion", "1.35\n", "control or invisible character U+000A"),
    ("upstreamUrl", "https://hn.algolia.com/api/v1/search\n", "control or invisible character U+000A"),
    ("namespace", "backend\u200b", "control or invisible character U+200B"),
    ("logLevel", "INFO\r", "control or invisible character U+000D"),
    ("appName", " backend", "leading or trailing spaces"),
    ("natGatewayStrategy", "None\u00a0", "leading or trailing spaces"),
    ("clusterName", "x" * 5000, "is 5000 characters long"),
    # Look-alikes: letters and digits of other scripts.
    ("adminPrincipalArns", as_list(ARN.format("\u0410dmin")), "IAM user or role ARN"),
    ("adminPrincipalArns", as_list("arn:aws:iam::\u0661\u0662\u0663456789012:role/Admin"), "IAM user or role ARN"),
    ("nodeInstanceTypes", as_list("t3.\u0455mall"), "EC2 instance type"),
    ("namespace", "b\u0430ckend", "DNS label"),
    ("logLevel", "\u0131nfo", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("upstreamUrl", "https://hn.\u0430lgolia.com/api/v1/search", "expected an http:// or https:// URL"),
    ("upstreamUrl", "https://hn.algolia.com/api/v1/\tsearch", "control or invisible character U+0009"),
    ("cpuRequest", "\uff11", "CPU quantity"),
    # Integers and booleans as only some parsers read them.
    ("replicas", " 3", "leading or trailing spaces"),
    ("replicas", "1e3", "whole number from 1 to 100"),
    ("replicas", "0x10", "whole number from 1 to 100"),
    ("replicas", "1_0", "whole number from 1 to 100"),
    ("replicas", "2.0", "whole number from 1 to 100"),
    ("replicas", "02", "whole number from 1 to 100"),
    ("replicas", "\u0663", "whole number from 1 to 100"),
    ("controlPlaneLogRetentionDays", "-0", "whole number from 0 to 3653"),
    ("replicas", "9" * 400, "whole number from 1 to 100"),
    ("replicas", "-5", "whole number from 1 to 100"),
    ("ecrForceDelete", "yes", "true or false"),
    ("ecrForceDelete", "1", "true or false"),
    ("ecrForceDelete", "TRUE", "true or false"),
    ("backendWorkers", "2\n", "control or invisible character U+000A"),
    ("backendWorkers", "1e1", "must be a whole number"),
    ("upstreamReadTimeoutSeconds", "nan", "must be a whole number"),
    ("upstreamReadTimeoutSeconds", "1e1", "must be a whole number"),
    ("cacheMaxTopics", "1_000", "must be a whole number"),
    ("upstreamReadTimeoutSeconds", "2.5", "must be a whole number (Pulumi.yaml declares it an integer)"),
    # Lists that are not lists of strings.
    ("nodeInstanceTypes", "t3.small", "must be a list of strings"),
    ("nodeInstanceTypes", '{"t3.small": 1}', "must be a list of strings"),
    ("nodeInstanceTypes", "[3]", "must be a list of strings"),
    ("nodeInstanceTypes", "[NaN]", "must be a list of strings"),
    ("nodeInstanceTypes", "[" * 100_000 + "]" * 100_000, "must be a list of strings"),
    ("viewerPrincipalArns", as_list(ARN.format("Viewer"), ARN.format("Viewer")), "is listed more than once"),
    # Quantities: zero, units left out, more than any node has (issue).
    ("cpuRequest", "0", "CPU quantity from 10m to 64"),
    ("cpuLimit", "0", "CPU quantity from 100m to 64"),
    ("cpuLimit", "500", "CPU quantity from 100m to 64"),
    ("memoryRequest", "0", "memory quantity from 32Mi to 256Gi"),
    ("memoryLimit", "1", "memory quantity from 64Mi to 256Gi"),
    ("memoryLimit", "256", "memory quantity from 64Mi to 256Gi"),
    ("memoryLimit", "1Ti", "memory quantity from 64Mi to 256Gi"),
    # Names Kubernetes keeps for itself (issue).
    ("namespace", "kube-system", "kept by Kubernetes itself"),
    ("namespace", "default", "kept by Kubernetes itself"),
    ("namespace", "kube-public", "kept by Kubernetes itself"),
    ("namespace", "kube-node-lease", "kept by Kubernetes itself"),
    # Instance types of the other architecture than the AMI's (issue).
    ("nodeInstanceTypes", as_list("m7g.large"), "is an arm64 type, but nodeAmiType AL2023_x86_64_STANDARD"),
    ("nodeInstanceTypes", as_list("c6gn.xlarge"), "is an arm64 type"),
    ("nodeInstanceTypes", as_list("is4gen.large"), "is an arm64 type"),
    ("nodeInstanceTypes", as_list("a1.large"), "is an arm64 type"),
    # The VPC: only RFC 1918 space, and not Docker's bridge (issue).
    ("vpcCidr", "172.17.0.0/16", "overlaps 172.17.0.0/16, Docker's default bridge"),
    ("vpcCidr", "172.17.128.0/20", "Docker's default bridge"),
    ("vpcCidr", "127.0.0.0/16", "private IPv4 CIDR block from /16 to /20 within"),
    ("vpcCidr", "169.254.0.0/16", "private IPv4 CIDR block from /16 to /20 within"),
    ("vpcCidr", "100.64.0.0/16", "private IPv4 CIDR block from /16 to /20 within"),
    ("vpcCidr", "198.18.0.0/16", "private IPv4 CIDR block from /16 to /20 within"),
    # The API endpoint's sources: public blocks only, "everyone" only as 0.0.0.0/0 (issue).
    ("apiPublicAccessCidrs", as_list("10.0.0.0/8"), "private (RFC 1918 10.0.0.0/8) range"),
    ("apiPublicAccessCidrs", as_list("192.168.1.0/24"), "private (RFC 1918 192.168.0.0/16) range"),
    ("apiPublicAccessCidrs", as_list("127.0.0.1/32"), "loopback range"),
    ("apiPublicAccessCidrs", as_list("169.254.169.254/32"), "link-local range"),
    ("apiPublicAccessCidrs", as_list("100.64.0.0/10"), "carrier-grade NAT"),
    ("apiPublicAccessCidrs", as_list("224.0.0.0/4"), "multicast range"),
    ("apiPublicAccessCidrs", as_list("240.0.0.0/4"), "reserved range"),
    ("apiPublicAccessCidrs", as_list("0.0.0.0/1", "128.0.0.0/1"), "admit every public address"),
    ("apiPublicAccessCidrs", as_list("0.0.0.0/0", "203.0.113.0/24"), "lies within 0.0.0.0/0, listed too"),
    ("nodePortIngressCidrs", as_list("0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"), "admit every public address"),
    ("nodePortIngressCidrs", as_list("127.0.0.0/8"), "loopback range"),
    ("nodePortIngressCidrs", as_list("169.254.0.0/16"), "link-local range"),
    # The upstream on port 0: nothing listens there, and the NetworkPolicy would open 443 (issue).
    ("upstreamUrl", "https://hn.algolia.com:0/api/v1/search", "has port 0"),
    # An empty backend value: the backend would use a default of its own, silently (issue).
    ("logLevel", "", "must not be empty"),
    ("upstreamUrl", "", "must not be empty"),
]


@pytest.mark.parametrize(("key", "value", "accepted"), REFUSED, ids=lambda v: repr(v)[:40] if isinstance(v, str) else None)
def test_a_hostile_value_is_refused_with_one_problem_naming_its_key_and_value(key, value, accepted):
    problems = problems_for({key: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{PREFIX}{key} = ")
    assert accepted in problems[0]


def test_a_very_long_value_is_shown_shortened_with_its_length():
    [problem] = problems_for({"clusterName": "x" * 5000})
    assert problem.startswith(f"{PREFIX}clusterName = {'x' * 100!r}... (5000 characters): ")


# What a stack may legitimately say, next to what is refused above.
ACCEPTED = [
    ("apiPublicAccessCidrs", as_list("0.0.0.0/0")),
    ("apiPublicAccessCidrs", as_list("203.0.113.0/24", "198.51.100.7/32")),
    ("apiPublicAccessCidrs", as_list("0.0.0.0/1")),
    # Clients inside the VPC, a peered network or a VPN reach private nodes by private addresses.
    ("nodePortIngressCidrs", as_list("10.0.0.0/16", "192.168.0.0/24")),
    ("nodePortIngressCidrs", as_list("100.64.0.0/10")),
    ("nodePortIngressCidrs", as_list("0.0.0.0/0")),
    ("ecrForceDelete", "True"),
    ("ecrForceDelete", "False"),
    ("vpcCidr", "172.18.0.0/16"),
    ("vpcCidr", "10.100.0.0/16"),
    ("vpcCidr", "192.168.0.0/20"),
    ("namespace", "kubernetes-backend"),
    ("cpuRequest", "10m"),
    ("cpuLimit", "100m"),
    ("memoryRequest", "32Mi"),
    ("nodeInstanceTypes", as_list("t3.small", "t3a.small", "m6i.large", "c7i-flex.large", "g4dn.xlarge")),
    ("upstreamUrl", "http://search.internal:8081/v1"),
    ("logLevel", "debug"),
    ("controlPlaneLogRetentionDays", "0"),
]


@pytest.mark.parametrize(("key", "value"), ACCEPTED)
def test_a_legitimate_value_is_accepted(key, value):
    parsed_with({key: value})


def test_an_arm64_stack_is_accepted_with_graviton_types_only():
    arm = {"nodeAmiType": "AL2023_ARM_64_STANDARD", "imagePlatform": "linux/arm64"}
    assert parsed_with({**arm, "nodeInstanceTypes": as_list("t4g.small", "m7g.large", "c6gn.large")}).node_ami_type \
        == "AL2023_ARM_64_STANDARD"
    problems = problems_for({**arm, "nodeInstanceTypes": as_list("t4g.small", "t3.small")})
    assert problems == [
        f"{PREFIX}nodeInstanceTypes = 't3.small': is an amd64 type, but nodeAmiType AL2023_ARM_64_STANDARD runs on "
        "arm64 only; list types of one architecture, the AMI's"
    ]


@pytest.mark.parametrize(
    ("instance_type", "architecture"),
    [("t3.medium", "amd64"), ("m6a.large", "amd64"), ("g4ad.xlarge", "amd64"), ("g5g.xlarge", "arm64"),
     ("x2gd.large", "arm64"), ("im4gn.large", "arm64"), ("hpc7g.4xlarge", "arm64"), ("mac1.metal", "amd64"),
     ("mac2-m2pro.metal", "arm64"), ("u-6tb1.metal", None)],
)
def test_the_architecture_is_read_from_aws_instance_type_names(instance_type, architecture):
    assert settings.instance_architecture(instance_type) == architecture


@pytest.mark.parametrize(("region", "suggested"), [("us-eest-1", "us-east-1"), ("us-east-9", "us-east-"),
                                                   ("eu-west-7", "eu-west-"), ("US-EAST-1", None)])
def test_a_region_aws_does_not_have_is_refused_with_the_nearest_ones(region, suggested):
    [problem] = problems_for({}, region=region)
    assert problem.startswith(f"aws:region = {region!r}: must be an AWS region such as us-east-1")
    assert ("did you mean" in problem) == (suggested is not None)
    if suggested:
        assert suggested in problem.split("did you mean", 1)[1]


def in_partition_of(raw: dict[str, str], region: str) -> dict[str, str]:
    """The stack's principal ARNs moved to the partition of `region`, as that stack would name them."""
    partition = settings.partition_of(region)
    return {key: value.replace("arn:aws:", f"arn:{partition}:") if key.endswith("PrincipalArns") else value
            for key, value in raw.items()}


def test_every_region_pulumi_aws_knows_is_accepted():
    raw, _ = dev_raw()
    for region in settings.AWS_REGIONS:
        assert settings.parse(in_partition_of(raw, region), region, "dev").region == region


@pytest.mark.parametrize(("typo", "declared"), [("replica", "replicas"), ("nodeport", "nodePort"),
                                                ("memorylimit", "memoryLimit"), ("backendWorker", "backendWorkers")])
def test_a_misspelled_key_is_refused_naming_the_declared_key_meant(typo, declared):
    assert problems_for({typo: "3"}) == [
        f"{PREFIX}{typo} = '3': is not a key of this project (Pulumi.yaml declares every key); "
        f"did you mean {PREFIX}{declared}?"
    ]


def test_an_unknown_key_far_from_any_declared_one_is_refused_without_a_guess():
    assert problems_for({"colour": "blue"}) == [
        f"{PREFIX}colour = 'blue': is not a key of this project (Pulumi.yaml declares every key)"
    ]


def test_a_secret_value_never_appears_in_a_problem():
    secret = "hunter2-is-my-password"
    problems = problems_for({"upstreamUrl": f"https://user:{secret}@hn.algolia.com:0/x", "tokn": secret},
                            secret_keys=frozenset({"upstreamUrl", "tokn"}))
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        f"{PREFIX}tokn = [secret]", f"{PREFIX}upstreamUrl = [secret]",
    ]
    assert not any(secret in problem for problem in problems)


def test_the_declared_keys_set_as_secrets_are_exposed():
    raw, region = dev_raw()
    parsed = settings.parse(raw, region, "dev", secret_keys=frozenset({"upstreamUrl", "logLevel"}))
    assert parsed.secret_keys == frozenset({"upstreamUrl", "logLevel"})
    assert settings.parse(raw, region, "dev").secret_keys == frozenset()


@pytest.fixture
def program_config():
    """Sets the config the language host hands a program (`set_all_config`), as in a real run."""
    before_config, before_secrets = runtime_config.CONFIG.get(), runtime_config._SECRET_KEYS.get()

    def handing(values: dict[str, str], secret_keys: list[str]) -> None:
        runtime_config.set_all_config(values, secret_keys)

    yield handing
    runtime_config.CONFIG.set(before_config)
    runtime_config._SECRET_KEYS.set(before_secrets)


def test_load_learns_which_keys_are_secret_from_the_language_host(program_config, monkeypatch):
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    merged = harness.effective_config(harness.stack_file_config("dev"))
    program_config(merged, [f"{PREFIX}upstreamUrl", "aws:accessKey"])
    assert settings.load().secret_keys == frozenset({"upstreamUrl"})


def test_load_refuses_a_key_the_stack_has_but_pulumi_yaml_does_not_declare(program_config, monkeypatch):
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    merged = harness.effective_config(harness.stack_file_config("dev"))
    program_config({**merged, f"{PREFIX}replica": "5"}, [])
    with pytest.raises(settings.StackConfigError) as caught:
        settings.load()
    assert caught.value.problems[0].startswith(f"{PREFIX}replica = '5': is not a key of this project")


def test_load_reads_the_config_environment_variable_of_older_language_hosts(program_config, monkeypatch):
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    merged = harness.effective_config(harness.stack_file_config("dev"))
    program_config({}, [])
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({**merged, f"{PREFIX}nodeport": "30080"}))
    with pytest.raises(settings.StackConfigError) as caught:
        settings.load()
    assert caught.value.problems == [
        f"{PREFIX}nodeport = '30080': is not a key of this project (Pulumi.yaml declares every key); "
        f"did you mean {PREFIX}nodePort?"
    ]


def test_the_backends_combined_rule_runs_even_when_a_backend_key_is_refused():
    # 2 s + 4 s, three attempts: more than the shutdown grace; logLevel "" used to skip this check.
    problems = problems_for({"upstreamConnectTimeoutSeconds": "2", "upstreamReadTimeoutSeconds": "4", "logLevel": ""})
    assert [problem.split(" ", 1)[0].rstrip(":") for problem in problems] == [
        f"{PREFIX}logLevel",
        f"{PREFIX}upstreamConnectTimeoutSeconds/{PREFIX}upstreamReadTimeoutSeconds",
    ]


def test_more_workers_than_the_memory_limit_holds_are_refused_naming_all_three_keys():
    problems = problems_for({"backendWorkers": "64"})
    assert problems == [
        f"{PREFIX}backendWorkers/{PREFIX}backendThreadsPerWorker/{PREFIX}memoryLimit = 64/32/'256Mi': "
        "64 workers and the main process at ~40Mi each, plus 1Mi per thread, need 4648Mi: the kernel would kill "
        "workers as they start; lower backendWorkers or raise memoryLimit"
    ]


def test_threads_count_against_the_memory_limit_too():
    # 2 workers x 256 threads: (2 + 1) x 40Mi + 512 x 1Mi = 632Mi, more than 512Mi.
    assert len(problems_for({"backendThreadsPerWorker": "256", "memoryLimit": "512Mi"})) == 1
    parsed_with({"backendThreadsPerWorker": "256", "memoryLimit": "640Mi"})


def test_the_declared_backend_defaults_fit_the_declared_memory_limit():
    # (2 + 1) x 40Mi + 64 x 1Mi = 184Mi within 256Mi: the defaults must not trip their own rule.
    parsed_with({})


def test_replicas_the_node_group_can_never_hold_are_refused():
    # dev: at most 3 t3.small nodes of 2 vCPUs; 61 pods of 100m need 6.1 CPUs.
    [problem] = problems_for({"replicas": "61"})
    assert problem.startswith(f"{PREFIX}replicas/{PREFIX}cpuRequest/{PREFIX}nodeMaxSize = 61/'100m'/3: ")
    parsed_with({"replicas": "60"})


def test_a_cpu_request_no_listed_instance_type_has_is_refused():
    assert problems_for({"cpuRequest": "3", "cpuLimit": "3"}) == [
        f"{PREFIX}cpuRequest = '3': no listed instance type has that much: the largest has at most 2 vCPUs"
    ]


def test_two_admin_arns_that_share_an_access_entry_key_are_refused():
    problems = problems_for({"adminPrincipalArns": as_list(ARN.format("team.admin"), ARN.format("team_admin"))})
    assert len(problems) == 1
    assert "differ only in characters an access entry's name cannot hold" in problems[0]


def test_a_principal_in_two_lists_is_refused():
    problems = problems_for({"adminPrincipalArns": as_list(ARN.format("Ops")),
                             "viewerPrincipalArns": as_list(ARN.format("Ops"))})
    assert problems == [
        f"{PREFIX}adminPrincipalArns/{PREFIX}viewerPrincipalArns = {ARN.format('Ops')!r}: "
        "a principal gets one access entry: list it in one of these only"
    ]


def test_a_problem_between_keys_is_not_reported_again_when_one_of_them_is_bad_alone():
    # nodeMaxSize alone is out of range; the min <= desired <= max rule must not repeat it.
    assert [problem.split(" = ")[0] for problem in problems_for({"nodeMaxSize": "0"})] == [f"{PREFIX}nodeMaxSize"]


# Property tests over the shapes of the settings.

STRING_KEYS = sorted(key for key, spec in harness.project_config_schema().items() if spec["type"] == "string")
LIST_KEYS = sorted(key for key, spec in harness.project_config_schema().items() if spec["type"] == "array")
# Each integer key and the range it accepts (the backend's own for the backend's keys).
INTEGER_RANGES = {
    "availabilityZoneCount": (2, 3), "nodeDiskSizeGib": (20, 16384), "nodeMinSize": (1, 100),
    "nodeDesiredSize": (1, 100), "nodeMaxSize": (1, 100), "replicas": (1, 100), "nodePort": (30000, 32767),
    "ecrKeepImages": (1, 1000), "kmsKeyDeletionWindowDays": (7, 30), "controlPlaneLogRetentionDays": (0, 3653),
    "containerLogRetentionDays": (0, 3653), "backendWorkers": (1, 64), "backendThreadsPerWorker": (1, 256), "upstreamConnectTimeoutSeconds": (1, 60),
    "upstreamReadTimeoutSeconds": (1, 60), "cacheTtlSeconds": (11, 86400), "cacheMaxTopics": (1, 1_000_000),
    "maxReplicas": (1, 100), "targetCpuUtilizationPercent": (10, 95), "monthlyBudgetUsd": (0, 10_000_000),
    "alarmErrorRatePercent": (1, 50), "alarmLatencyP99Ms": (10, 60_000),
}
# A value of each list key that is valid alone, to spoil one item of.
LIST_SAMPLES = {
    "nodeInstanceTypes": "t3.small", "apiPublicAccessCidrs": "203.0.113.0/24", "nodePortIngressCidrs": "198.51.100.0/24",
    "adminPrincipalArns": ARN.format("Admin"), "deployPrincipalArns": ARN.format("Deploy"),
    "viewerPrincipalArns": ARN.format("Viewer"), "loadBalancerIngressCidrs": "198.51.100.0/24",
    "alarmEmails": "oncall@example.com",
}
invisible = st.characters(categories=("Cc", "Cf", "Co"))
spaces = st.sampled_from([" ", "\u00a0", "\u2003", "\u3000"])
PROPERTIES = hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_property_tables_cover_every_declared_key():
    declared = harness.project_config_schema()
    assert set(INTEGER_RANGES) == {key for key, spec in declared.items() if spec["type"] == "integer"}
    assert set(LIST_SAMPLES) == set(LIST_KEYS)


@PROPERTIES
@given(key=st.sampled_from(STRING_KEYS), character=invisible, at_end=st.booleans())
def test_any_string_value_with_a_control_or_invisible_character_is_refused_once(key, character, at_end):
    raw, _ = dev_raw()
    value = raw[key] + character if at_end else character + raw[key]
    [problem] = problems_for({key: value})
    assert problem.startswith(f"{PREFIX}{key} = {value!r}: contains the control or invisible character")


@PROPERTIES
@given(key=st.sampled_from(LIST_KEYS), character=invisible)
def test_any_list_item_with_a_control_or_invisible_character_is_refused_once(key, character):
    item = LIST_SAMPLES[key] + character
    [problem] = problems_for({key: json.dumps([item])})
    assert problem.startswith(f"{PREFIX}{key} = {item!r}: contains the control or invisible character")


@PROPERTIES
@given(key=st.sampled_from(STRING_KEYS + sorted(INTEGER_RANGES)), space=spaces, before=st.booleans())
def test_any_value_with_surrounding_spaces_is_refused_once(key, space, before):
    raw, _ = dev_raw()
    value = space + raw[key] if before else raw[key] + space
    [problem] = problems_for({key: value})
    assert problem.startswith(f"{PREFIX}{key} = {value!r}: ")


@PROPERTIES
@given(data=st.data(), key=st.sampled_from(sorted(INTEGER_RANGES)))
def test_any_whole_number_outside_a_keys_range_is_refused_once(data, key):
    low, high = INTEGER_RANGES[key]
    number = data.draw(st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1, max_value=10**18)))
    [problem] = problems_for({key: str(number)})
    assert problem.startswith(f"{PREFIX}{key} = ")
    assert str(number) in problem.split(": ", 1)[0]


@PROPERTIES
@given(key=st.sampled_from(sorted(INTEGER_RANGES)),
       text=st.text(alphabet=string.digits + "+-.eExX_ ", min_size=1, max_size=8).filter(lambda t: not t.isdigit()))
def test_anything_but_plain_digits_is_refused_for_an_integer_key(key, text):
    problems = problems_for({key: text})
    assert len(problems) == 1 and problems[0].startswith(f"{PREFIX}{key} = ")


@PROPERTIES
@given(overrides=st.dictionaries(st.sampled_from(sorted(INTEGER_RANGES) + STRING_KEYS),
                                 st.text(max_size=12), min_size=1, max_size=6))
def test_every_problem_starts_with_a_key_of_the_stack(overrides):
    raw, region = dev_raw()
    try:
        settings.parse({**raw, **overrides}, region, "dev")
    except settings.StackConfigError as error:
        keys = {f"{PREFIX}{key}" for key in raw}
        for problem in error.problems:
            named = problem.split(" ", 1)[0].rstrip(":").split("/")
            assert set(named) <= keys, problem


@pytest.mark.parametrize(
    ("variable", "value"),
    [("WEB_CONCURRENCY", " 3"), ("WEB_CONCURRENCY", "3\n"), ("WEB_CONCURRENCY", "1_0"), ("WEB_CONCURRENCY", "\u0663"),
     ("UPSTREAM_READ_TIMEOUT_SECONDS", "nan"), ("UPSTREAM_READ_TIMEOUT_SECONDS", "1e1"),
     ("UPSTREAM_READ_TIMEOUT_SECONDS", " 2"), ("CACHE_MAX_TOPICS", "  "), ("LOG_LEVEL", "\u0131nfo"),
     ("UPSTREAM_URL", "https://hn.algolia.com/api/v1/search\n"), ("UPSTREAM_URL", "https://hn.\u0430lgolia.com/")],
)
def test_the_backends_own_rules_that_settings_loads_take_whole_values_only(variable, value):
    # settings checks the container's environment with app/backend/config.py itself, so its
    # parsers must match whole values: int(), float() and urlsplit() alone accept all of these.
    with pytest.raises(settings._backend_config.ConfigError):
        settings._backend_config.read_service_settings({variable: value})


@pytest.mark.parametrize(("key", "value"), [("clusterName", "nextwork-eks-cluster"), ("clusterName", "A_1"),
                                            ("repositoryName", "team/backend"), ("repositoryName", "a.b-c_d")])
def test_a_pinned_physical_name_is_accepted(key, value):
    parsed = parsed_with({key: value})
    assert value in (parsed.cluster_name, parsed.repository_name)


# The periods CloudWatch Logs' PutRetentionPolicy accepts, spelled out here as the specification.
CLOUDWATCH_RETENTION_DAYS = [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                             2557, 2922, 3288, 3653]


@pytest.mark.parametrize("days", CLOUDWATCH_RETENTION_DAYS)
def test_every_retention_period_cloudwatch_accepts_is_accepted_and_its_neighbour_is_not(days):
    assert parsed_with({"controlPlaneLogRetentionDays": str(days)}).control_plane_log_retention_days == days
    if days + 1 not in CLOUDWATCH_RETENTION_DAYS and days < 3653:
        [problem] = problems_for({"controlPlaneLogRetentionDays": str(days + 1)})
        assert "periods CloudWatch Logs accepts" in problem


@pytest.mark.parametrize(("quantity", "size"), [("1", 1), ("1k", 1000), ("1M", 10**6), ("1G", 10**9), ("1T", 10**12),
                                                ("1Ki", 1024), ("1Mi", 2**20), ("1Gi", 2**30), ("1Ti", 2**40),
                                                ("0.5Gi", 2**29)])
def test_memory_quantities_mean_what_kubernetes_means(quantity, size):
    assert settings.memory_bytes(quantity) == size


@pytest.mark.parametrize(("key", "value", "accepted"), [
    ("cpuLimit", "64", True), ("cpuLimit", "64001m", False), ("memoryLimit", "256Gi", True),
    ("memoryLimit", "257Gi", False), ("memoryRequest", "31Mi", False), ("memoryLimit", "63Mi", False),
    ("cpuRequest", "9m", False), ("cpuLimit", "99m", False),
])
def test_the_quantity_bounds_are_exact(key, value, accepted):
    raw, region = dev_raw()
    raw = {**raw, key: value}
    if accepted:
        settings.parse(raw, region, "dev")
    else:
        [problem] = problems_for({key: value})
        assert problem.startswith(f"{PREFIX}{key} = {value!r}: must be a ")


@pytest.mark.parametrize(("instance_type", "vcpus"), [("t3.nano", 2), ("t3.medium", 2), ("m5.large", 2),
                                                      ("m5.xlarge", 4), ("c6i.24xlarge", 96), ("m7g.metal", None),
                                                      ("z1d.metal-6xl", None)])
def test_the_most_vcpus_an_instance_size_can_have(instance_type, vcpus):
    assert settings.instance_vcpus_at_most(instance_type) == vcpus


def test_replicas_fit_a_node_group_of_larger_instances():
    # 4 nodes of at most 4 vCPUs: 16 CPUs hold 32 pods of 500m, not 33.
    stack = {"nodeInstanceTypes": as_list("t3.small", "m5.xlarge"), "nodeMaxSize": "4", "cpuRequest": "500m"}
    parsed_with({**stack, "replicas": "32"})
    [problem] = problems_for({**stack, "replicas": "33"})
    assert "33 pods request 16500m CPU, more than 4 node(s) of at most 4 vCPUs each" in problem


def test_this_network_is_never_an_api_source():
    [problem] = problems_for({"apiPublicAccessCidrs": as_list("0.0.0.0/8")})
    assert "is a 'this network' range" in problem


def test_a_set_that_leaves_out_only_private_space_still_admits_every_public_address():
    # Everything but 10.0.0.0/8, in the eight blocks that take: no single 0.0.0.0/0 to spot.
    everything_but_ten = [str(block) for block in
                          settings.EVERYWHERE.address_exclude(settings.PRIVATE_RANGES[0])]
    [problem] = problems_for({"apiPublicAccessCidrs": json.dumps(everything_but_ten)})
    assert "together these blocks admit every public address" in problem


def test_a_misspelled_region_gets_its_two_nearest_regions():
    assert problems_for({}, region="us-eest-1") == [
        "aws:region = 'us-eest-1': must be an AWS region such as us-east-1; did you mean us-west-1 or us-east-1?"
    ]


def test_a_misspelled_key_gets_one_suggestion_even_when_several_are_near():
    [problem] = problems_for({"nodeSize": "3"})
    assert problem.endswith(f"did you mean {PREFIX}nodeMinSize?")


@pytest.mark.parametrize(("arn", "key"), [
    (ARN.format("Admin"), "123456789012-role-Admin"),
    ("arn:aws:iam::123456789012:role/team/Deploy", "123456789012-role-team-Deploy"),
    ("arn:aws-us-gov:iam::210987654321:user/alice@example.com", "210987654321-user-alice-example-com"),
])
def test_an_access_entry_key_is_the_account_and_the_principal_in_the_characters_a_name_holds(arn, key):
    assert settings.access_entry_key(arn) == key


@pytest.mark.parametrize(("value", "ending"), [("Singel", "; did you mean Single?"), ("Double", "")])
def test_a_choice_not_offered_names_the_choices_and_the_nearest_one_if_any(value, ending):
    assert problems_for({"natGatewayStrategy": value}) == [
        f"{PREFIX}natGatewayStrategy = {value!r}: must be one of None, Single, OnePerAz{ending}"
    ]


def test_a_choice_gets_only_its_nearest_choice_even_when_two_are_near():
    # One suggestion, the likeliest: naming both AMI types would leave the choice to the reader.
    assert problems_for({"nodeAmiType": "AL2023_X86_64_STANDARD"}) == [
        f"{PREFIX}nodeAmiType = 'AL2023_X86_64_STANDARD': must be one of AL2023_x86_64_STANDARD, "
        "AL2023_ARM_64_STANDARD; did you mean AL2023_x86_64_STANDARD?"
    ]
