"""`ops gate` after a deploy: the verdict, then the record of the good image or the rollback to it.

The gate runs for real: `ops verify` reads the fake Kubernetes API, and asks a real backend
process (granian, on 127.0.0.1) through the stack's serviceUrl. The "bad image" is a backend
whose upstream answers garbage, so it serves 502s; the "good image" one with a healthy upstream.
The stack (outputs, stack tags, `pulumi up` with imageDigest pinned) is a fake that switches the
fake cluster and the serviceUrl to the image it deploys. The pulumi CLI commands themselves are
tested further down against a stand-in `pulumi` executable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import pytest

from ops import EXIT_OK, EXIT_UNHEALTHY, EXIT_UNREACHABLE, EXIT_USAGE, EXIT_WRONG_ANSWERS
from ops.__main__ import build_parser, stack_verifier
from ops.gate import (
    DIGEST_KEY, EXIT_ROLLBACK_FAILED, EXIT_ROLLED_BACK, VERIFIED_TAG, PulumiCli, PulumiFailed, gate, run_gate, summary,
)
from ops.outputs import StackOutputs
from tests.app.app_server import AppServer
from tests.ops.cluster_state import REPOSITORY_URL
from tests.ops.conftest import stack_outputs
from tests.ops.test_verify import closed_port
from tests.support.fake_upstream import FakeUpstream

GOOD = "sha256:" + "1" * 64
BAD = "sha256:" + "2" * 64
BROKEN_TOO = "sha256:" + "3" * 64


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    """url by image: GOOD answers the contract; BAD and BROKEN_TOO answer 502 (upstream garbage)."""
    with FakeUpstream() as healthy, FakeUpstream(mode="malformed") as broken:
        env = {"UPSTREAM_CONNECT_TIMEOUT_SECONDS": "0.5", "UPSTREAM_READ_TIMEOUT_SECONDS": "1",
               "UPSTREAM_RETRIES": "0", "WEB_CONCURRENCY": "1", "WORKER_THREADS": "2"}
        with AppServer(tmp_path_factory.mktemp("good"), {**env, "UPSTREAM_URL": healthy.url}) as good, \
                AppServer(tmp_path_factory.mktemp("bad"), {**env, "UPSTREAM_URL": broken.url}) as bad:
            yield {GOOD: good.url, BAD: bad.url, BROKEN_TOO: bad.url}


class FakeStack:
    """A deployed stack: `up_with_image` rolls the fake cluster and the serviceUrl to that image."""

    def __init__(self, kube_api, backends: dict[str, str], deployed: str, tags: dict[str, str] | None = None,
                 up_fails: str | None = None) -> None:
        self.kube_api, self.backends, self.up_fails = kube_api, backends, up_fails
        self.tag_store = dict(tags or {})
        self.ups: list[str] = []
        self._deploy(deployed)

    def _deploy(self, digest: str) -> None:
        self.deployed = digest
        self.kube_api.scenario.deployment_digest = digest
        self.kube_api.scenario.running_digest = digest

    def outputs(self) -> StackOutputs:
        return StackOutputs.from_mapping(stack_outputs(
            self.kube_api, imageRef=f"{REPOSITORY_URL}@{self.deployed}", serviceUrl=self.backends[self.deployed],
            portForwardCommand=None))

    def tags(self) -> dict[str, str]:
        return {"pulumi:project": "backend-on-eks", **self.tag_store}

    def set_tag(self, name: str, value: str) -> None:
        self.tag_store[name] = value

    def up_with_image(self, digest: str) -> None:
        self.ups.append(digest)
        if self.up_fails:
            raise PulumiFailed(self.up_fails)
        self._deploy(digest)


def verifier():
    args = build_parser().parse_args(["gate", "--stack", "dev", "--timeout", "2", "--poll-interval", "0.05",
                                      "--http-timeout", "5"])
    return stack_verifier(args)


def run(stack: FakeStack, capsys):
    outcome = gate(stack, verifier(), sys.stdout)
    return outcome, capsys.readouterr().out


# --- the four paths a deploy takes ---------------------------------------------------------------


def test_a_good_deploy_passes_and_is_recorded_as_the_last_good_image(kube_api, backends, capsys):
    stack = FakeStack(kube_api, backends, deployed=GOOD)

    outcome, out = run(stack, capsys)

    assert outcome.exit_code == EXIT_OK
    assert stack.tag_store == {VERIFIED_TAG: GOOD}
    assert stack.ups == []
    assert "RESULT: OK" in out


def test_a_bad_deploy_rolls_back_to_the_last_good_image_which_verifies_and_the_run_still_fails(kube_api, backends, capsys):
    stack = FakeStack(kube_api, backends, deployed=BAD, tags={VERIFIED_TAG: GOOD})

    outcome, out = run(stack, capsys)

    assert outcome.exit_code == EXIT_ROLLED_BACK
    assert stack.ups == [GOOD]
    assert (outcome.deployed.digest, outcome.deployed.verdict) == (BAD, "wrong answers")
    assert (outcome.rollback.digest, outcome.rollback.verdict) == (GOOD, "ok")
    assert stack.tag_store == {VERIFIED_TAG: GOOD}  # a rollback records nothing new
    assert out.index(f"verification of the deploy: {BAD}") < out.index(f"verification of the rollback: {GOOD}")


def test_a_bad_deploy_with_no_good_image_recorded_is_not_rolled_back_into_nothing(kube_api, backends, capsys):
    stack = FakeStack(kube_api, backends, deployed=BAD)

    outcome, _ = run(stack, capsys)

    assert outcome.exit_code == EXIT_WRONG_ANSWERS
    assert stack.ups == [] and VERIFIED_TAG not in stack.tag_store
    assert "no deploy of it has passed yet" in outcome.reason and "nothing was rolled back" in outcome.reason


def test_a_rollback_whose_image_fails_too_fails_the_run_with_both_results(kube_api, backends, capsys):
    stack = FakeStack(kube_api, backends, deployed=BAD, tags={VERIFIED_TAG: BROKEN_TOO})

    outcome, _ = run(stack, capsys)

    assert outcome.exit_code == EXIT_ROLLBACK_FAILED
    assert stack.ups == [BROKEN_TOO]
    assert outcome.deployed.verdict == outcome.rollback.verdict == "wrong answers"
    assert outcome.deployed.problems and outcome.rollback.problems


def test_a_rollback_whose_pulumi_up_fails_fails_the_run_naming_the_error(kube_api, backends, capsys):
    # E.g. the lifecycle policy expired the recorded image: image_pin.py refuses it before any resource.
    stack = FakeStack(kube_api, backends, deployed=BAD, tags={VERIFIED_TAG: GOOD},
                      up_fails=f"`pulumi up --yes --skip-preview` failed: {DIGEST_KEY} = '{GOOD}': holds no image")

    outcome, _ = run(stack, capsys)

    assert outcome.exit_code == EXIT_ROLLBACK_FAILED
    assert outcome.rollback is None and outcome.rollback_to == GOOD
    assert "the rollback's pulumi up failed" in outcome.reason and "holds no image" in outcome.reason


# --- when a rollback would change nothing -------------------------------------------------------------


def test_a_failure_of_the_image_that_last_passed_is_not_rolled_back_onto_itself(kube_api, backends, capsys):
    stack = FakeStack(kube_api, backends, deployed=BAD, tags={VERIFIED_TAG: BAD})

    outcome, _ = run(stack, capsys)

    assert outcome.exit_code == EXIT_WRONG_ANSWERS and stack.ups == []
    assert "the fault is not the image" in outcome.reason


@pytest.mark.parametrize("recorded", ["latest", f"{REPOSITORY_URL}@{GOOD}", GOOD.upper(), ""])
def test_a_recorded_value_that_is_not_a_digest_is_never_deployed(kube_api, backends, capsys, recorded):
    stack = FakeStack(kube_api, backends, deployed=BAD, tags={VERIFIED_TAG: recorded})

    outcome, _ = run(stack, capsys)

    assert outcome.exit_code == EXIT_WRONG_ANSWERS and stack.ups == []
    assert repr(recorded) in outcome.reason and "not an image digest" in outcome.reason


def test_an_unhealthy_rollout_is_rolled_back_as_wrong_answers_are(kube_api, backends, capsys):
    stack = FakeStack(kube_api, backends, deployed=GOOD, tags={VERIFIED_TAG: BAD})
    kube_api.scenario.waiting_reason = "CrashLoopBackOff"

    outcome, _ = run(stack, capsys)

    assert outcome.deployed.exit_code == EXIT_UNHEALTHY
    assert stack.ups == [BAD]


def test_a_stack_verify_could_not_reach_is_not_rolled_back(kube_api, backends, capsys):
    stack = FakeStack(kube_api, backends, deployed=BAD, tags={VERIFIED_TAG: GOOD})
    stack.backends = {**backends, BAD: f"http://127.0.0.1:{closed_port()}"}

    outcome, _ = run(stack, capsys)

    assert outcome.exit_code == EXIT_UNREACHABLE and stack.ups == []
    assert "no evidence against the image" in outcome.reason


# --- what the run reports --------------------------------------------------------------------------


def test_the_summary_shows_both_verifications_and_what_the_gate_did(kube_api, backends, capsys):
    outcome, _ = run(FakeStack(kube_api, backends, deployed=BAD, tags={VERIFIED_TAG: GOOD}), capsys)

    text = summary("dev", outcome)

    assert text.startswith("## Deploy of dev: failed, rolled back\n")
    assert f"| the deploy | `{BAD}` | wrong answers |" in text
    assert f"| the rollback | `{GOOD}` | ok |" in text
    assert "The deploy's problems:" in text and "The rollback's problems:" not in text


def test_the_command_appends_the_summary_and_exits_with_the_outcome(kube_api, backends, capsys, tmp_path):
    summary_file = tmp_path / "summary.md"
    summary_file.write_text("earlier steps\n")
    args = argparse.Namespace(stack="dev", summary=summary_file)

    code = run_gate(args, FakeStack(kube_api, backends, deployed=GOOD), verifier())

    assert code == EXIT_OK
    assert summary_file.read_text().startswith("earlier steps\n## Deploy of dev: verified\n")
    assert f"GATE: verified; {GOOD} recorded" in capsys.readouterr().out


def test_a_stack_whose_outputs_cannot_be_read_is_a_usage_error_not_a_rollback(capsys):
    class Unreadable:
        def outputs(self):
            raise PulumiFailed("`pulumi stack output --json` failed: error: no stack named 'dev' found")

    code = run_gate(argparse.Namespace(stack="dev", summary=None), Unreadable(), verifier())

    assert code == EXIT_USAGE
    assert "no stack named 'dev' found" in capsys.readouterr().err


# --- the pulumi CLI commands ---------------------------------------------------------------------------

FAKE_PULUMI = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
answers = json.load(open(os.environ["FAKE_PULUMI_ANSWERS"]))
answer = answers.get(" ".join(args[:3]), {{}})
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("exit", 0))
"""


@pytest.fixture
def fake_pulumi(tmp_path, monkeypatch):
    """A `pulumi` on PATH that logs its arguments and answers by its first three ones."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI.format(python=sys.executable))
    (bin_dir / "pulumi").chmod(0o755)
    log, answers = tmp_path / "pulumi.log", tmp_path / "answers.json"
    answers.write_text("{}")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("FAKE_PULUMI_ANSWERS", str(answers))

    class Fake:
        def answer(self, command: str, stdout: str = "", stderr: str = "", exit: int = 0) -> None:
            current = json.loads(answers.read_text())
            current[command] = {"stdout": stdout, "stderr": stderr, "exit": exit}
            answers.write_text(json.dumps(current))

        @property
        def calls(self) -> list[list[str]]:
            return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return Fake()


def cli(tmp_path, policy_pack: str | None = "policy") -> PulumiCli:
    return PulumiCli("dev", tmp_path, policy_pack, sys.stderr)


def test_outputs_are_read_with_secrets_shown_for_the_named_stack(fake_pulumi, kube_api, tmp_path):
    fake_pulumi.answer("stack output --json", stdout=json.dumps(stack_outputs(kube_api)))

    outputs = cli(tmp_path).outputs()

    assert fake_pulumi.calls == [["stack", "output", "--json", "--show-secrets", "--stack", "dev", "--non-interactive"]]
    assert outputs.namespace == kube_api.scenario.namespace


def test_the_tags_are_listed_as_json_and_the_verified_one_is_set_by_name(fake_pulumi, tmp_path):
    fake_pulumi.answer("stack tag ls", stdout=json.dumps({"pulumi:project": "backend-on-eks", VERIFIED_TAG: GOOD}))
    stack = cli(tmp_path)

    assert stack.tags()[VERIFIED_TAG] == GOOD
    stack.set_tag(VERIFIED_TAG, BAD)

    assert fake_pulumi.calls[-1] == ["stack", "tag", "set", VERIFIED_TAG, BAD, "--stack", "dev", "--non-interactive"]


def test_the_rollback_up_pins_the_digest_and_runs_the_deploys_policy_pack(fake_pulumi, tmp_path):
    cli(tmp_path).up_with_image(GOOD)

    assert fake_pulumi.calls == [["up", "--yes", "--skip-preview", "--config", f"{DIGEST_KEY}={GOOD}",
                                  "--policy-pack", "policy", "--stack", "dev", "--non-interactive"]]


def test_a_failed_command_names_its_first_error_line_and_never_its_stdout(fake_pulumi, tmp_path):
    fake_pulumi.answer("stack output --json", stdout='{"kubeconfig": "very secret"}', exit=255,
                       stderr="error: [403] Forbidden: no access to stack dev\nmore detail\n")

    with pytest.raises(PulumiFailed) as failed:
        cli(tmp_path).outputs()

    assert "error: [403] Forbidden: no access to stack dev" in str(failed.value)
    assert "very secret" not in str(failed.value) and "more detail" not in str(failed.value)


@pytest.mark.parametrize("printed", ["not json", "[]", '"a string"'])
def test_tags_that_are_not_a_json_object_fail_clearly(fake_pulumi, tmp_path, printed):
    fake_pulumi.answer("stack tag ls", stdout=printed)

    with pytest.raises(PulumiFailed, match="stack tag ls --json"):
        cli(tmp_path).tags()


def test_without_the_pulumi_cli_on_path_the_gate_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(PulumiFailed, match="not on PATH"):
        cli(tmp_path).tags()
