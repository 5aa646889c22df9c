"""`python -m ops render`: the Kubernetes objects a stack would create, without AWS or the Pulumi CLI.

The program runs under Pulumi's mocks (ops.offline); values AWS would assign (IDs, the image
digest, endpoints) are stand-ins, everything the program itself decides is real.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from ops import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from ops.offline.harness import ProgramFailed, stack_names
from ops.offline.manifests import manifests
from ops.offline.stacks import evaluate_stack



def render(stack: str) -> str:
    """The stack's Kubernetes objects as one multi-document YAML string."""
    return yaml.safe_dump_all(manifests(evaluate_stack(stack)), sort_keys=False)


def register_render(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "render",
        help="print the Kubernetes objects a stack would create (offline, no AWS needed)",
        description=(
            "Evaluate the Pulumi program for a stack under Pulumi's mocks and print, as YAML, every "
            "Kubernetes object it would create. Values AWS assigns (the image digest, IDs) are stand-ins."
        ),
    )
    parser.add_argument("--stack", required=True, help="stack whose Pulumi.<stack>.yaml to evaluate")
    parser.add_argument("--output", type=Path, metavar="PATH", help="write the YAML here instead of stdout")
    parser.set_defaults(handler=run_render)


def run_render(args: argparse.Namespace) -> int:
    stacks = stack_names()
    if args.stack not in stacks:
        print(f"render: --stack {args.stack!r} has no Pulumi.{args.stack}.yaml; expected one of {', '.join(stacks)}",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        documents = render(args.stack)
    except ProgramFailed as failure:
        print(f"render: the program failed for stack {args.stack!r}: {failure.cause}", file=sys.stderr)
        return EXIT_FAILED
    if args.output is None:
        sys.stdout.write(documents)
    else:
        args.output.write_text(documents)
    return EXIT_OK
