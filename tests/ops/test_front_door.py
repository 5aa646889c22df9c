"""`verify` behind a load balancer: the target group's health, read with a stand-in `aws` CLI on
PATH that answers what `aws elbv2 describe-target-health --output json` answers."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ops import EXIT_UNREACHABLE

from tests.ops.conftest import stack_outputs

TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/front-door-nodes-1a2b3c4/0123456789abcdef"


def description(instance: str, state: str, reason: str | None = None, text: str | None = None) -> dict:
    health = {"State": state}
    if reason:
        health |= {"Reason": reason, "Description": text or ""}
    return {"Target": {"Id": instance, "Port": 30080}, "HealthCheckPort": "30080", "TargetHealth": health}


@pytest.fixture
def aws_cli(tmp_path, monkeypatch):
    """An `aws` on PATH that prints the next prepared answer (the last one again once used up) and
    records its arguments; `aws_cli.answers` is a list of (exit status, stdout, stderr)."""
    class Cli:
        answers: list[tuple[int, str, str]] = []
        calls = tmp_path / "aws-calls.jsonl"
        state = tmp_path / "aws-answers.json"

        def answer(self, *answers: tuple[int, str, str]) -> None:
            self.state.write_text(json.dumps(list(answers)))

        def healthy_then(self, *descriptions_lists: list[dict]) -> None:
            self.answer(*[(0, json.dumps({"TargetHealthDescriptions": d}), "") for d in descriptions_lists])

        def arguments(self) -> list[list[str]]:
            return [json.loads(line) for line in self.calls.read_text().splitlines()] if self.calls.exists() else []

    cli = Cli()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "aws"
    script.write_text(f"""#!{os.environ.get('PYTHON_FOR_FAKE_AWS', '/usr/bin/env python3')}
import json, sys
with open({str(cli.calls)!r}, "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
answers = json.load(open({str(cli.state)!r}))
status, out, err = answers[0]
if len(answers) > 1:
    json.dump(answers[1:], open({str(cli.state)!r}, "w"))
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(status)
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return cli


def behind_load_balancer(kube_api) -> dict:
    return stack_outputs(kube_api, serviceUrl=kube_api.url, portForwardCommand=None, targetGroupArn=TARGET_GROUP_ARN)


def test_healthy_targets_pass_and_the_section_names_the_url_and_the_target_group(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "healthy"), description("i-0bbb", "healthy")])

    result = run_verify(behind_load_balancer(kube_api))

    assert result.code == 0, result.out
    assert f"FRONT DOOR {kube_api.url} (target group {TARGET_GROUP_ARN})" in result.out
    assert "i-0aaa" in result.out and "i-0bbb" in result.out
    assert f"HTTP via {kube_api.url}" in result.out


def test_the_target_health_is_read_for_the_stacks_target_group_in_its_region(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "healthy")])

    run_verify(behind_load_balancer(kube_api))

    assert aws_cli.arguments() == [["elbv2", "describe-target-health", "--target-group-arn", TARGET_GROUP_ARN,
                                    "--region", "us-west-2", "--output", "json"]]


def test_an_unhealthy_target_fails_with_the_load_balancers_reason(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "healthy"),
                          description("i-0bbb", "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]")])

    result = run_verify(behind_load_balancer(kube_api))

    assert result.code == 1
    assert result.failures == [
        "target i-0bbb is unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [503])"]


def test_no_healthy_target_fails_saying_the_load_balancer_has_nowhere_to_send(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "unhealthy", "Target.Timeout", "Request timed out")])

    result = run_verify(behind_load_balancer(kube_api))

    assert f"no target of {TARGET_GROUP_ARN} is healthy: the load balancer has nowhere to send requests" in result.failures


def test_an_empty_target_group_fails_pointing_at_the_auto_scaling_group(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([])

    result = run_verify(behind_load_balancer(kube_api))

    assert any("has no targets: is the node group's Auto Scaling group attached" in f for f in result.failures)


def test_targets_still_registering_are_waited_for(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "initial", "Elb.RegistrationInProgress", "Target registration is in progress")],
                         [description("i-0aaa", "healthy")])

    result = run_verify(behind_load_balancer(kube_api))

    assert result.code == 0, result.out
    assert len(aws_cli.arguments()) == 2


def test_a_target_still_registering_at_the_timeout_fails(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "initial", "Elb.RegistrationInProgress", "Target registration is in progress")])

    result = run_verify(behind_load_balancer(kube_api))

    assert "target i-0aaa is initial (Elb.RegistrationInProgress: Target registration is in progress)" in result.failures


def test_a_draining_target_beside_a_healthy_one_is_shown_but_not_a_failure(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "healthy"),
                          description("i-0bbb", "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")])

    result = run_verify(behind_load_balancer(kube_api))

    assert result.code == 0, result.out
    assert "draining" in result.out
    assert len(aws_cli.arguments()) == 1


def test_an_aws_cli_error_is_one_failure_with_its_message(kube_api, run_verify, aws_cli):
    aws_cli.answer((254, "", "An error occurred (AccessDenied) when calling the DescribeTargetHealth operation: "
                             "User is not authorized to perform: elasticloadbalancing:DescribeTargetHealth\n"))

    result = run_verify(behind_load_balancer(kube_api))

    # A refused call says nothing about the targets' health: could not reach, not unhealthy.
    assert result.code == EXIT_UNREACHABLE
    assert any(f.startswith("`aws elbv2 describe-target-health` failed: An error occurred (AccessDenied)")
               for f in result.failures)


def test_an_answer_that_is_not_target_health_is_one_failure(kube_api, run_verify, aws_cli):
    aws_cli.answer((0, "<html>proxy login</html>", ""))

    result = run_verify(behind_load_balancer(kube_api))

    assert any("answered something else than TargetHealthDescriptions" in f for f in result.failures)


def test_without_a_target_group_no_aws_call_is_made(kube_api, run_verify, aws_cli):
    aws_cli.healthy_then([description("i-0aaa", "unhealthy")])

    result = run_verify(stack_outputs(kube_api, serviceUrl=kube_api.url, portForwardCommand=None))

    assert result.code == 0
    assert aws_cli.arguments() == [] and "FRONT DOOR" not in result.out


def test_a_target_group_output_that_is_not_a_target_group_arn_is_refused(kube_api, run_verify, aws_cli):
    result = run_verify(stack_outputs(kube_api, serviceUrl=kube_api.url, portForwardCommand=None,
                                      targetGroupArn="arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/x/0123456789abcdef"))

    assert result.code != 0
    assert "stack output 'targetGroupArn'" in result.out + result.err
