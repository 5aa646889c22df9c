"""Command line: `python -m ops <command> ...`.

Each command registers its own subparser and handler, so adding one touches only its own
`register_*` function and the list in `build_parser`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ops import EXIT_OK, EXIT_UNHEALTHY, EXIT_UNREACHABLE, EXIT_USAGE, EXIT_WRONG_ANSWERS
from ops.catalog import register_catalog
from ops.cost import register_cost
from ops.endpoint import TOPIC
from ops.gate import register_gate
from ops.leftovers import register_logs
from ops.outputs import OutputsError, StackOutputs, load_outputs_file, load_stack_outputs
from ops.render import register_render
from ops.verify import UNHEALTHY, UNREACHABLE, WRONG_ANSWERS, Options, verify

VERDICT_EXIT_CODES = {"ok": EXIT_OK, UNHEALTHY: EXIT_UNHEALTHY, WRONG_ANSWERS: EXIT_WRONG_ANSWERS,
                      UNREACHABLE: EXIT_UNREACHABLE}

REPO_ROOT = Path(__file__).resolve().parent.parent



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops", description="Operations commands for the backend-on-eks stack."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_verify(commands)
    register_render(commands)
    register_catalog(commands)
    register_logs(commands)
    register_cost(commands)
    register_gate(commands, add_verify_options, stack_verifier, REPO_ROOT)
    return parser


def register_verify(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "verify",
        help="check a deployed stack: nodes, rollout, pods, events, image digest, HTTP",
        description=(
            "Check a deployed stack: nodes ready, Deployment rolled out, pods and their latest "
            "events, the image digest the pods run against the one the stack built, and the "
            "backend's /readyz and /contents/<topic>, one line per problem. Exits 0 when every check "
            "passed, 1 when the stack is unhealthy (nodes, rollout, pods, image, load balancer "
            "targets), 3 when the backend answered wrongly, 4 when something could not be reached."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", type=_stack_name, help="stack to read outputs from (needs the pulumi CLI)")
    source.add_argument(
        "--outputs-file",
        type=Path,
        metavar="PATH",
        help="JSON from `pulumi stack output --json --show-secrets` (no pulumi CLI needed)",
    )
    add_verify_options(parser)
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write the result as JSON (verdict, problems by kind, pod digests) to PATH; "
             "'-' writes it to stdout and the report to stderr",
    )
    parser.set_defaults(handler=run_verify)


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    """How verification waits and what it asks: shared by `verify` and `gate`."""
    parser.add_argument(
        "--timeout",
        type=_bounded_float("--timeout", 1, 3600),
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for the rollout to complete (default: 300)",
    )
    parser.add_argument(
        "--poll-interval",
        type=_bounded_float("--poll-interval", 0.05, 60),
        default=2.0,
        metavar="SECONDS",
        help="pause between rollout checks (default: 2)",
    )
    parser.add_argument(
        "--topic",
        type=_topic,
        default="python",
        help="topic for the GET /contents/<topic> check (default: python)",
    )
    parser.add_argument(
        "--events",
        type=_bounded_int("--events", 0, 50),
        default=5,
        metavar="N",
        help="latest events to show per pod (default: 5)",
    )
    parser.add_argument(
        "--http-timeout",
        type=_bounded_float("--http-timeout", 1, 300),
        default=15.0,
        metavar="SECONDS",
        help="timeout of each HTTP check (default: 15)",
    )


def verify_options(args: argparse.Namespace) -> Options:
    return Options(
        timeout=args.timeout,
        poll_interval=args.poll_interval,
        topic=args.topic,
        events_per_pod=args.events,
        http_timeout=args.http_timeout,
    )


def stack_verifier(args: argparse.Namespace):
    """`ops verify` as `gate` runs it: the report on stdout, and the exit code of its verdict."""
    options = verify_options(args)

    def check(outputs: StackOutputs):
        report = verify(outputs, options, sys.stdout, sys.stderr)
        return report, VERDICT_EXIT_CODES[report.verdict]

    return check


def run_verify(args: argparse.Namespace) -> int:
    try:
        outputs = read_outputs(args)
    except OutputsError as error:
        print(f"verify: {error}", file=sys.stderr)
        return EXIT_USAGE
    options = verify_options(args)
    to_stdout = args.json is not None and str(args.json) == "-"
    report = verify(outputs, options, sys.stderr if to_stdout else sys.stdout, sys.stderr)
    if args.json is not None:
        text = json.dumps(report.as_json(outputs), indent=2) + "\n"
        if to_stdout:
            sys.stdout.write(text)
        else:
            args.json.write_text(text, encoding="utf-8")
    return VERDICT_EXIT_CODES[report.verdict]


def read_outputs(args: argparse.Namespace) -> StackOutputs:
    if args.outputs_file is not None:
        return load_outputs_file(args.outputs_file)
    return load_stack_outputs(args.stack, REPO_ROOT)


def _stack_name(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("--stack is empty; expected a stack name such as 'dev'")
    return value.strip()


def _topic(value: str) -> str:
    if not TOPIC.match(value):
        raise argparse.ArgumentTypeError(
            f"--topic {value!r} is not accepted; expected 1-64 letters, digits, '.', '_' or '-'"
        )
    return value


def _bounded_float(flag: str, low: float, high: float):
    return _bounded(flag, float, f"a number in {low:g}-{high:g}", low, high)


def _bounded_int(flag: str, low: int, high: int):
    return _bounded(flag, int, f"an integer in {low}-{high}", low, high)


def _bounded(flag: str, kind, accepted: str, low, high):
    def parse(value: str):
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{flag} {value!r} is not {accepted}")
        return number

    return parse


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
