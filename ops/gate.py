"""`python -m ops gate --stack <stack>`: after `pulumi up`, prove the deploy, or roll it back.

What the deploy workflows run right after `pulumi up`:

1. `ops verify` of the stack (rollout, pods, the image digest they run, the backend's answers
   through its real entry point).
2. It passed: the image's digest is recorded as the stack tag `backend-on-eks:verified-image`
   (a Pulumi stack tag, kept by the backend beside the stack's state; a digest, never a tag that
   moves). Exit 0.
3. It failed, and a verified digest is recorded that is not the one that failed: `pulumi up` of
   the same commit with `imageDigest` pinned to it (the rest of the infrastructure as committed;
   image_pin.py refuses a digest ECR no longer holds, before any resource), then `ops verify`
   again. Exit 5 when the rollback verified (the run still fails: the commit is broken), 6 when
   the rollback's `up` or its verification failed too.
4. It failed with nothing to roll back to (no digest recorded, one that is not a digest, or the
   failing image is the verified one, so the fault is elsewhere), or it could not reach the
   stack at all (verify's "could not reach": no evidence against the image): verify's own exit
   code, and the reason. A rollback into nothing is never attempted.

Every outcome is printed, and written as Markdown to `--summary` (the job summary).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, TextIO

from ops import EXIT_OK, EXIT_USAGE
from settings import IMAGE_DIGEST
from ops.outputs import OutputsError, StackOutputs
from ops.verify import UNREACHABLE, Report

VERIFIED_TAG = "backend-on-eks:verified-image"
DIGEST_KEY = "backend-on-eks:imageDigest"
EXIT_ROLLED_BACK = 5
EXIT_ROLLBACK_FAILED = 6


class PulumiFailed(Exception):
    """A pulumi command failed; the message is its first error line, never its stdout (secrets)."""


class Stack(Protocol):
    """What the gate does to a stack: the pulumi CLI in a workflow, a fake in tests."""

    def outputs(self) -> StackOutputs: ...

    def tags(self) -> dict[str, str]: ...

    def set_tag(self, name: str, value: str) -> None: ...

    def up_with_image(self, digest: str) -> None: ...


@dataclass(frozen=True)
class Check:
    digest: str
    verdict: str
    exit_code: int
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    deployed: Check
    reason: str
    """One sentence: what the gate did and why."""
    rollback_to: str | None = None
    rollback: Check | None = None


Verifier = Callable[[StackOutputs], tuple[Report, int]]


def gate(stack: Stack, check_stack: Verifier, out: TextIO) -> Outcome:
    deployed = _check(stack.outputs(), check_stack, out, "the deploy")
    if deployed.exit_code == EXIT_OK:
        stack.set_tag(VERIFIED_TAG, deployed.digest)
        return Outcome(EXIT_OK, deployed, f"verified; {deployed.digest} recorded as the stack's last good image")

    if deployed.verdict == UNREACHABLE:
        return Outcome(deployed.exit_code, deployed,
                       "verification could not reach the stack (nothing answered, or access was refused): no "
                       "evidence against the image, so nothing was rolled back")
    recorded = stack.tags().get(VERIFIED_TAG)
    if recorded is None:
        return Outcome(deployed.exit_code, deployed,
                       f"verification failed and the stack has no {VERIFIED_TAG} tag (no deploy of it has "
                       "passed yet): nothing to roll back to, so nothing was rolled back")
    # What may be pinned is what the imageDigest setting accepts.
    if not IMAGE_DIGEST.fullmatch(recorded):
        return Outcome(deployed.exit_code, deployed,
                       f"verification failed and the stack tag {VERIFIED_TAG} holds {recorded!r}, not an image "
                       "digest (sha256: and 64 lowercase hex): nothing was rolled back")
    if recorded == deployed.digest:
        return Outcome(deployed.exit_code, deployed,
                       f"verification failed on {recorded}, the image that last passed: the fault is not the "
                       "image (infrastructure, upstream, configuration), so rolling back would change nothing")

    print(f"\nRolling back to the last verified image {recorded}: pulumi up with {DIGEST_KEY}={recorded}", file=out)
    try:
        stack.up_with_image(recorded)
    except PulumiFailed as error:
        return Outcome(EXIT_ROLLBACK_FAILED, deployed, f"verification failed, and the rollback's pulumi up failed: {error}",
                       rollback_to=recorded)
    try:
        rolled_back = _check(stack.outputs(), check_stack, out, "the rollback")
    except (PulumiFailed, OutputsError) as error:
        return Outcome(EXIT_ROLLBACK_FAILED, deployed, f"verification failed, and after the rollback the stack's "
                       f"outputs could not be read: {error}", rollback_to=recorded)
    if rolled_back.exit_code == EXIT_OK:
        return Outcome(EXIT_ROLLED_BACK, deployed, f"verification failed; rolled back to {recorded}, which verified",
                       rollback_to=recorded, rollback=rolled_back)
    return Outcome(EXIT_ROLLBACK_FAILED, deployed, f"verification failed, and so did the rollback to {recorded}",
                   rollback_to=recorded, rollback=rolled_back)


def _check(outputs: StackOutputs, check_stack: Verifier, out: TextIO, what: str) -> Check:
    print(f"\n== verification of {what}: {outputs.image_digest} ==", file=out)
    report, exit_code = check_stack(outputs)
    return Check(outputs.image_digest, report.verdict, exit_code, tuple(report.failures))


def summary(stack_name: str, outcome: Outcome) -> str:
    """The job summary (Markdown): the verdict of each verification and what the gate did."""
    rows = [f"## Deploy of {stack_name}: {_headline(outcome)}", "", outcome.reason, "",
            "| Verification | Image | Verdict |", "|---|---|---|",
            f"| the deploy | `{outcome.deployed.digest}` | {outcome.deployed.verdict} |"]
    if outcome.rollback is not None:
        rows.append(f"| the rollback | `{outcome.rollback.digest}` | {outcome.rollback.verdict} |")
    elif outcome.rollback_to is not None:
        rows.append(f"| the rollback | `{outcome.rollback_to}` | not verified (see above) |")
    for title, check in (("The deploy", outcome.deployed), ("The rollback", outcome.rollback)):
        if check is not None and check.problems:
            rows += ["", f"{title}'s problems:"] + [f"- {problem}" for problem in check.problems]
    return "\n".join(rows) + "\n"


def _headline(outcome: Outcome) -> str:
    return {EXIT_OK: "verified", EXIT_ROLLED_BACK: "failed, rolled back",
            EXIT_ROLLBACK_FAILED: "failed, rollback failed"}.get(outcome.exit_code, "failed, not rolled back")


# --- the pulumi CLI ------------------------------------------------------------------------------

class PulumiCli:
    """The stack through the pulumi CLI, as the deploy workflows have it (logged in, on PATH)."""

    def __init__(self, stack_name: str, work_dir: Path, policy_pack: str | None, log: TextIO,
                 run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> None:
        self.stack_name, self.work_dir, self.policy_pack, self.log, self._run = stack_name, work_dir, policy_pack, log, run

    def _pulumi(self, *args: str, stream: bool = False) -> str:
        command = ["pulumi", *args, "--stack", self.stack_name, "--non-interactive"]
        try:
            done = self._run(command, cwd=self.work_dir, text=True, stdout=None if stream else subprocess.PIPE,
                             stderr=None if stream else subprocess.PIPE, check=False)
        except FileNotFoundError:
            raise PulumiFailed("the pulumi CLI is not on PATH") from None
        if done.returncode != 0:
            lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
            reason = lines[0] if lines else f"exit status {done.returncode}"
            raise PulumiFailed(f"`pulumi {' '.join(args[:3])}` failed: {reason}")
        return done.stdout or ""

    def outputs(self) -> StackOutputs:
        text = self._pulumi("stack", "output", "--json", "--show-secrets")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError:
            raise PulumiFailed("`pulumi stack output --json` did not print JSON") from None
        return StackOutputs.from_mapping(raw)

    def tags(self) -> dict[str, str]:
        text = self._pulumi("stack", "tag", "ls", "--json")
        try:
            tags = json.loads(text)
        except json.JSONDecodeError:
            raise PulumiFailed("`pulumi stack tag ls --json` did not print JSON") from None
        if not isinstance(tags, dict):
            raise PulumiFailed("`pulumi stack tag ls --json` printed no object of tag names")
        return {str(name): str(value) for name, value in tags.items()}

    def set_tag(self, name: str, value: str) -> None:
        self._pulumi("stack", "tag", "set", name, value)

    def up_with_image(self, digest: str) -> None:
        # --config also saves the value to this checkout's stack file, never committed: the next
        # deploy of main builds and runs main's own image again.
        policy = ["--policy-pack", self.policy_pack] if self.policy_pack else []
        self._pulumi("up", "--yes", "--skip-preview", "--config", f"{DIGEST_KEY}={digest}", *policy, stream=True)


# --- command line --------------------------------------------------------------------------------

def register_gate(commands: argparse._SubParsersAction, add_verify_options: Callable[[argparse.ArgumentParser], None],
                  verifier_for: Callable[[argparse.Namespace], Verifier], work_dir: Path) -> None:
    parser = commands.add_parser(
        "gate", help="after pulumi up: verify the stack, record the image that passed or roll back to the last one",
        description="Verify the stack as `ops verify` does. Passed: record its image digest as the stack tag "
                    f"{VERIFIED_TAG} (exit 0). Failed: `pulumi up` with {DIGEST_KEY} pinned to the recorded digest "
                    f"and verify again (exit {EXIT_ROLLED_BACK} when the rollback verified, {EXIT_ROLLBACK_FAILED} when it "
                    "failed too); with no recorded digest to roll back to, verify's exit code. Needs the pulumi CLI, "
                    "logged in, and the credentials of the stack's deploy.")
    parser.add_argument("--stack", required=True, help="the stack, as `pulumi up --stack` names it")
    parser.add_argument("--policy-pack", metavar="DIR", default=None,
                        help="policy pack the rollback's pulumi up runs with (the deploy's own)")
    parser.add_argument("--summary", type=Path, metavar="PATH", default=None,
                        help="also append the outcome as Markdown here (e.g. $GITHUB_STEP_SUMMARY)")
    add_verify_options(parser)
    parser.set_defaults(handler=lambda args: run_gate(
        args, PulumiCli(args.stack, work_dir, args.policy_pack, sys.stderr), verifier_for(args)))


def run_gate(args: argparse.Namespace, stack: Stack, check_stack: Verifier) -> int:
    try:
        outcome = gate(stack, check_stack, sys.stdout)
    except (PulumiFailed, OutputsError) as error:
        print(f"gate: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"\nGATE: {outcome.reason}")
    if args.summary is not None:
        with args.summary.open("a", encoding="utf-8") as written:
            written.write(summary(args.stack, outcome))
    return outcome.exit_code
