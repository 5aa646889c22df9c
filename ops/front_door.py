"""The load balancer's view of the nodes: which targets of the stack's target group pass its health check.

Read with the aws CLI (`aws elbv2 describe-target-health`), which every actor that runs this
program already has and is logged in with (pulumi-eks and the kubeconfig's token both use it),
so `verify` needs no AWS SDK of its own and uses the caller's credentials as they are.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

# The states DescribeTargetHealth reports (Elastic Load Balancing API reference, TargetHealth).
HEALTHY = "healthy"
# A target being registered: the health check's answer is not in yet. (A draining one is on its
# way out, a node the autoscaler removes or replaces: no answer is coming, and none is needed.)
REGISTERING = "initial"


class FrontDoorError(RuntimeError):
    """The target health could not be read."""


@dataclass(frozen=True)
class Target:
    id: str
    port: int | None
    state: str
    reason: str
    description: str


def describe_target_health(target_group_arn: str, region: str, timeout: float = 30.0) -> list[Target]:
    aws = shutil.which("aws")
    if aws is None:
        raise FrontDoorError("the aws CLI is not on PATH: it reads the load balancer's target health "
                             "(install AWS CLI v2 and log in as for `pulumi up`)")
    command = [aws, "elbv2", "describe-target-health", "--target-group-arn", target_group_arn,
               "--region", region, "--output", "json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise FrontDoorError(f"`aws elbv2 describe-target-health` gave no answer within {timeout:g} s") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[:300] or f"exit status {done.returncode}"
        raise FrontDoorError(f"`aws elbv2 describe-target-health` failed: {detail}")
    return parse_target_health(done.stdout)


def parse_target_health(text: str) -> list[Target]:
    try:
        answer = json.loads(text)
        descriptions = answer["TargetHealthDescriptions"]
        targets = []
        for description in descriptions:
            target, health = description["Target"], description.get("TargetHealth") or {}
            port = target.get("Port")
            targets.append(Target(
                id=str(target["Id"]),
                port=port if isinstance(port, int) else None,
                state=str(health.get("State", "unknown")),
                reason=str(health.get("Reason", "")),
                description=str(health.get("Description", "")),
            ))
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise FrontDoorError(f"`aws elbv2 describe-target-health` answered something else than "
                             f"TargetHealthDescriptions ({type(error).__name__}: {error})") from None
    return targets


def settled(targets: list[Target]) -> bool:
    """Whether the health check has an answer for every target (and there is at least one)."""
    return bool(targets) and not any(target.state == REGISTERING for target in targets)


def failures(targets: list[Target], target_group_arn: str) -> list[str]:
    if not targets:
        return [f"target group {target_group_arn} has no targets: is the node group's Auto Scaling group "
                "attached, and does it have running nodes?"]
    found = []
    if not any(target.state == HEALTHY for target in targets):
        found.append(f"no target of {target_group_arn} is healthy: the load balancer has nowhere to send requests")
    for target in targets:
        # A draining target is a node on its way out (the autoscaler, a rollout of the node
        # group): expected, and no longer sent new connections.
        if target.state not in (HEALTHY, "draining"):
            why = ": ".join(part for part in (target.reason, target.description) if part)
            found.append(f"target {target.id} is {target.state}{f' ({why})' if why else ''}")
    return found
