"""`python -m ops logs delete-left-group`: after a destroy, delete the control-plane log group EKS
re-creates for log streams that arrive once the cluster is gone (terraform-aws-eks#2763), and
Container Insights' groups, which a Fluent Bit or CloudWatch agent pod still flushing while the
add-on goes makes again (both create their groups on first write).

The program owns `/aws/eks/<cluster>/cluster` and `destroy` deletes it, but EKS can write a late
stream minutes later and so make the group again, with no retention, and the next `up` of the
stack would fail on it (control_plane_logs.py stops that `up` before it starts; this removes the
cause). The Destroy workflow runs this after `pulumi destroy`: it watches for the exact group for a
while and deletes it each time it appears, and never while a cluster of that name exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import yaml

import settings
import control_plane_logs
from components import container_insights
from ops import EXIT_FAILED, EXIT_OK
from ops.catalog import AWS_TIMEOUT_SECONDS, PROJECT_DIR, CallFailed, aws

DEFAULT_WATCH_SECONDS = 600
DEFAULT_INTERVAL_SECONDS = 30


def stack_log_groups(cluster_name: str) -> list[str]:
    """Every log group a stack of this cluster name owns, Container Insights' included."""
    return [control_plane_logs.log_group_name(cluster_name), *container_insights.log_group_names(cluster_name)]


def _existing(names: list[str], region: str) -> set[str]:
    """Which of `names` exist: one listing per folder they share (a prefix also matches longer
    names, so only exact names count)."""
    found: set[str] = set()
    for folder in sorted({name.rsplit("/", 1)[0] + "/" for name in names}):
        groups = aws(["logs", "describe-log-groups", "--log-group-name-prefix", folder], "logGroups", region)
        found |= {str(group.get("logGroupName")) for group in groups if isinstance(group, dict)}
    return found & set(names)


def _cluster_exists(cluster_name: str, region: str) -> bool:
    return cluster_name in aws(["eks", "list-clusters"], "clusters", region)


def _delete(name: str, region: str) -> None:
    command = ["aws", "logs", "delete-log-group", "--log-group-name", name, "--region", region]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=AWS_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise CallFailed("`aws logs delete-log-group`: no `aws` CLI on PATH") from None
    except subprocess.TimeoutExpired:
        raise CallFailed(f"`aws logs delete-log-group`: no answer within {AWS_TIMEOUT_SECONDS} s") from None
    # Gone between the look and the delete (another run, or EKS's own cleanup): what was wanted.
    if result.returncode != 0 and "ResourceNotFoundException" not in result.stderr:
        reason = " ".join(result.stderr.split()) or "no message"
        raise CallFailed(f"`aws logs delete-log-group --log-group-name {name}` failed (exit {result.returncode}): {reason}")


def delete_left_group(cluster_name: str, region: str, watch_seconds: float = DEFAULT_WATCH_SECONDS,
                      interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
                      sleep: Callable[[float], None] = time.sleep,
                      elapsed: Callable[[], float] | None = None) -> list[str]:
    """Looks every `interval_seconds` for `watch_seconds` (at least once) and deletes the group each
    time it is there; returns one line per thing done. CallFailed when a cluster of the name exists:
    its group is a live stack's, not a leftover."""
    if _cluster_exists(cluster_name, region):
        raise CallFailed(f"cluster {cluster_name} exists in {region}: its log group belongs to it; nothing deleted")
    names = stack_log_groups(cluster_name)
    started = time.monotonic() if elapsed is None else 0.0
    clock = elapsed or (lambda: time.monotonic() - started)
    done = []
    while True:
        existing = _existing(names, region)
        for name in names:
            if name in existing:
                _delete(name, region)
                done.append(f"deleted {name} (re-created after the destroy) at +{clock():.0f} s")
        if clock() + interval_seconds > watch_seconds:
            break
        sleep(interval_seconds)
    return done or [f"none of {', '.join(names)} came back within {watch_seconds:.0f} s"]


def register_logs(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "logs", help="clean up log groups EKS leaves behind",
        description="Clean up what EKS writes after a destroy.")
    actions = parser.add_subparsers(dest="logs_command", required=True, metavar="ACTION")
    delete = actions.add_parser(
        "delete-left-group", help="delete the stack's log groups re-created after a destroy",
        description="Watch for /aws/eks/<cluster>/cluster and /aws/containerinsights/<cluster>/* for a while "
                    "after a destroy and delete each time one is re-created; refuses while a cluster of that "
                    "name exists.")
    which = delete.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", help="the destroyed stack: its cluster name and region come from Pulumi.<stack>.yaml")
    which.add_argument("--cluster-name", help="the destroyed stack's EKS cluster name (with --region)")
    delete.add_argument("--region", help="its AWS region (default with --stack: the stack file's aws:region)")
    delete.add_argument("--watch-seconds", type=_seconds("--watch-seconds", 0, 3600), default=DEFAULT_WATCH_SECONDS,
                        metavar="SECONDS", help=f"how long to keep watching (default: {DEFAULT_WATCH_SECONDS})")
    delete.add_argument("--interval-seconds", type=_seconds("--interval-seconds", 1, 600),
                        default=DEFAULT_INTERVAL_SECONDS, metavar="SECONDS",
                        help=f"between looks (default: {DEFAULT_INTERVAL_SECONDS})")
    delete.set_defaults(handler=run_delete_left_group)


def stack_cluster(stack: str, project_dir: Path = PROJECT_DIR) -> tuple[str, str | None]:
    """The cluster name and region a stack file gives, by the program's own rule for the name."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise CallFailed(f"no stack file {path.name}")
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    name = config.get(f"{settings.PROJECT}:clusterName") or settings.default_cluster_name(stack)
    return name, config.get("aws:region")


def run_delete_left_group(args: argparse.Namespace) -> int:
    try:
        cluster_name, region = (args.cluster_name, args.region) if args.cluster_name else stack_cluster(args.stack)
        region = args.region or region
        if not region:
            raise CallFailed("no region: pass --region")
        lines = delete_left_group(cluster_name, region, args.watch_seconds, args.interval_seconds)
    except CallFailed as error:
        print(f"logs delete-left-group: {error}", file=sys.stderr)
        return EXIT_FAILED
    for line in lines:
        print(line)
    return EXIT_OK


def _seconds(flag: str, low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {value!r} is not a number of seconds") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{flag} {value!r} is outside {low:g}-{high:g} seconds")
        return number
    return parse
