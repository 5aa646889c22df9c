"""`python -m ops logs delete-left-group`, against an `aws` CLI stand-in of this file that keeps an
account's log groups and clusters in a JSON file and answers as the CLI does (including
ResourceNotFoundException for a group already gone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops import EXIT_FAILED, EXIT_OK, leftovers
from ops.__main__ import main
from tests.support import fake_aws_cli

GROUP = "/aws/eks/backend-on-eks-dev/cluster"
INSIGHTS_GROUP = "/aws/containerinsights/backend-on-eks-dev/application"
FAKE_AWS = r'''
import json, os, sys
state_file = os.environ["FAKE_AWS_STATE"]
state = json.load(open(state_file))
args = sys.argv[1:]
state["calls"].append(args)
def value(flag):
    return args[args.index(flag) + 1]
if args[:2] == ["logs", "describe-log-groups"]:
    prefix = value("--log-group-name-prefix")
    answer = {"logGroups": [{"logGroupName": n} for n in state["groups"] if n.startswith(prefix)]}
elif args[:2] == ["eks", "list-clusters"]:
    answer = {"clusters": state["clusters"]}
elif args[:2] == ["logs", "delete-log-group"]:
    name = value("--log-group-name")
    if name not in state["groups"]:
        json.dump(state, open(state_file, "w"))
        sys.stderr.write("An error occurred (ResourceNotFoundException) when calling the DeleteLogGroup operation: "
                         "The specified log group does not exist.\n")
        sys.exit(254)
    state["groups"].remove(name)
    answer = None
else:
    sys.stderr.write("unexpected call " + " ".join(args) + "\n")
    sys.exit(2)
# EKS writing a late stream: the group comes back after the n-th look.
if args[:2] == ["logs", "describe-log-groups"] and state.get("recreate_after_looks"):
    state["looks"] = state.get("looks", 0) + 1
    if state["looks"] == state["recreate_after_looks"]:
        state["groups"].append(state["recreate"])
json.dump(state, open(state_file, "w"))
if answer is not None:
    print(json.dumps(answer))
'''


class Account:
    def __init__(self, tmp_path: Path, monkeypatch) -> None:
        self.file = fake_aws_cli.install(tmp_path, monkeypatch, FAKE_AWS)
        self.write(groups=[], clusters=[])

    def write(self, **state) -> None:
        self.file.write_text(json.dumps({"calls": [], **state}))

    @property
    def state(self) -> dict:
        return json.loads(self.file.read_text())


@pytest.fixture
def account(tmp_path, monkeypatch):
    return Account(tmp_path, monkeypatch)


def test_a_group_eks_re_created_is_deleted(account):
    account.write(groups=[GROUP, GROUP + "-archive"], clusters=[])
    assert leftovers.delete_left_group("backend-on-eks-dev", "us-east-1", watch_seconds=0) == [
        f"deleted {GROUP} (re-created after the destroy) at +0 s"]
    assert account.state["groups"] == [GROUP + "-archive"]


def test_a_group_that_comes_back_while_watched_is_deleted_again(account):
    account.write(groups=[GROUP], clusters=[], recreate_after_looks=2, recreate=GROUP)
    ticks = iter(range(0, 1000, 30))
    done = leftovers.delete_left_group("backend-on-eks-dev", "us-east-1", watch_seconds=90, interval_seconds=30,
                                       sleep=lambda seconds: None, elapsed=lambda: next(ticks))
    assert len(done) == 2 and all(line.startswith(f"deleted {GROUP}") for line in done)
    assert account.state["groups"] == []


def test_nothing_is_deleted_while_a_cluster_of_that_name_exists(account):
    account.write(groups=[GROUP], clusters=["backend-on-eks-dev"])
    with pytest.raises(leftovers.CallFailed, match="cluster backend-on-eks-dev exists"):
        leftovers.delete_left_group("backend-on-eks-dev", "us-east-1", watch_seconds=0)
    assert account.state["groups"] == [GROUP]
    assert not any(call[:2] == ["logs", "delete-log-group"] for call in account.state["calls"])


def test_a_group_gone_between_the_look_and_the_delete_is_not_an_error(account, monkeypatch):
    account.write(groups=[GROUP], clusters=[])
    monkeypatch.setattr(leftovers, "_existing", lambda names, region: set(names))
    account.write(groups=[], clusters=[])
    assert leftovers.delete_left_group("backend-on-eks-dev", "us-east-1", watch_seconds=0)[0].startswith("deleted")


def test_with_no_group_it_says_so(account):
    [line] = leftovers.delete_left_group("backend-on-eks-dev", "us-east-1", watch_seconds=0)
    assert line.startswith(f"none of {GROUP}, {INSIGHTS_GROUP}, ") and line.endswith(" came back within 0 s")


def test_a_container_insights_group_re_created_by_a_pod_still_flushing_is_deleted(account):
    account.write(groups=[INSIGHTS_GROUP, "/aws/containerinsights/backend-on-eks-prod/application"], clusters=[])
    assert leftovers.delete_left_group("backend-on-eks-dev", "us-east-1", watch_seconds=0) == [
        f"deleted {INSIGHTS_GROUP} (re-created after the destroy) at +0 s"]
    assert account.state["groups"] == ["/aws/containerinsights/backend-on-eks-prod/application"]


def test_the_cli_takes_the_cluster_name_and_region_from_the_stack_file(account, capsys):
    account.write(groups=[GROUP], clusters=[])
    assert main(["logs", "delete-left-group", "--stack", "dev", "--watch-seconds", "0"]) == EXIT_OK
    assert f"deleted {GROUP}" in capsys.readouterr().out
    [delete] = [call for call in account.state["calls"] if call[:2] == ["logs", "delete-log-group"]]
    assert delete == ["logs", "delete-log-group", "--log-group-name", GROUP, "--region", "us-east-1"]


def test_the_cli_fails_naming_the_cluster_that_still_exists(account, capsys):
    account.write(groups=[GROUP], clusters=["backend-on-eks-dev"])
    assert main(["logs", "delete-left-group", "--stack", "dev", "--watch-seconds", "0"]) == EXIT_FAILED
    assert "cluster backend-on-eks-dev exists in us-east-1" in capsys.readouterr().err


def test_the_cli_refuses_a_stack_without_a_stack_file(account, capsys):
    assert main(["logs", "delete-left-group", "--stack", "staging"]) == EXIT_FAILED
    assert "no stack file Pulumi.staging.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value", [("--watch-seconds", "-1"), ("--watch-seconds", "3601"),
                                         ("--interval-seconds", "0"), ("--watch-seconds", "ten")])
def test_the_cli_refuses_durations_out_of_range(flag, value, capsys):
    with pytest.raises(SystemExit):
        main(["logs", "delete-left-group", "--stack", "dev", flag, value])
    assert flag in capsys.readouterr().err
