"""The e2e test's skip: it runs only when everything is present, and names whatever is not."""

from __future__ import annotations

from tests.e2e.preconditions import missing_preconditions, skip_reason

READY = {"PULUMI_E2E": "1", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"}


def on_path(*tools: str):
    return lambda name: f"/usr/bin/{name}" if name in tools else None


def test_nothing_is_missing_when_opted_in_with_tools_and_keys(tmp_path):
    assert missing_preconditions(READY, on_path("pulumi", "aws"), tmp_path) == []


def test_without_opt_in_the_skip_names_pulumi_e2e(tmp_path):
    environ = {key: value for key, value in READY.items() if key != "PULUMI_E2E"}

    missing = missing_preconditions(environ, on_path("pulumi", "aws"), tmp_path)

    assert missing == ["PULUMI_E2E=1 (opt-in: the test creates billed AWS resources)"]


def test_opt_in_requires_exactly_one(tmp_path):
    missing = missing_preconditions({**READY, "PULUMI_E2E": "true"}, on_path("pulumi", "aws"), tmp_path)

    assert len(missing) == 1 and missing[0].startswith("PULUMI_E2E=1")


def test_without_the_pulumi_cli_the_skip_names_it(tmp_path):
    assert missing_preconditions(READY, on_path("aws"), tmp_path) == ["the pulumi CLI on PATH"]


def test_without_the_aws_cli_the_skip_names_it(tmp_path):
    missing = missing_preconditions(READY, on_path("pulumi"), tmp_path)

    assert len(missing) == 1 and missing[0].startswith("the aws CLI on PATH")


def test_without_any_credential_source_the_skip_names_aws_credentials(tmp_path):
    missing = missing_preconditions({"PULUMI_E2E": "1"}, on_path("pulumi", "aws"), tmp_path)

    assert len(missing) == 1 and missing[0].startswith("AWS credentials")


def test_a_shared_credentials_file_counts_as_credentials(tmp_path):
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[default]\n")

    assert missing_preconditions({"PULUMI_E2E": "1"}, on_path("pulumi", "aws"), tmp_path) == []


def test_an_aws_profile_counts_as_credentials(tmp_path):
    environ = {"PULUMI_E2E": "1", "AWS_PROFILE": "sandbox"}

    assert missing_preconditions(environ, on_path("pulumi", "aws"), tmp_path) == []


def test_a_bare_machine_lists_every_missing_precondition_in_the_skip(tmp_path):
    reason = skip_reason(missing_preconditions({}, on_path(), tmp_path))

    assert reason.startswith("end-to-end deployment test needs: PULUMI_E2E=1")
    for fragment in ("the pulumi CLI on PATH", "the aws CLI on PATH", "AWS credentials"):
        assert fragment in reason
