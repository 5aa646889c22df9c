"""What the end-to-end test needs before it may deploy to a real, billed AWS account.

Kept apart from the test so the skip logic itself is unit-tested: a skip that silently names the
wrong cause costs a maintainer an afternoon.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Mapping

# Any one of these is a credential source boto-style SDKs and the AWS CLI pick up without a call.
_CREDENTIAL_VARIABLES = (
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def missing_preconditions(
    environ: Mapping[str, str],
    which: Callable[[str], str | None] = shutil.which,
    home: Path | None = None,
) -> list[str]:
    """Each missing precondition, described so the reader knows what to provide."""
    missing = []
    if environ.get("PULUMI_E2E") != "1":
        missing.append("PULUMI_E2E=1 (opt-in: the test creates billed AWS resources)")
    if which("pulumi") is None:
        missing.append("the pulumi CLI on PATH")
    if which("aws") is None:
        missing.append("the aws CLI on PATH (the stack's kubeconfig runs `aws eks get-token`)")
    if not aws_credentials_configured(environ, home if home is not None else Path.home()):
        missing.append(
            "AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
            "a web identity token, or ~/.aws/credentials or ~/.aws/config)"
        )
    return missing


def aws_credentials_configured(environ: Mapping[str, str], home: Path) -> bool:
    """A local heuristic, no AWS call: is any credential source the AWS tools read configured?

    An EC2 instance profile cannot be seen without calling the metadata service; on such hosts
    set AWS_PROFILE or the key variables explicitly.
    """
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return True
    if any(environ.get(name) for name in _CREDENTIAL_VARIABLES):
        return True
    shared_files = (
        environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials",
        environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config",
    )
    return any(Path(path).is_file() for path in shared_files)


def skip_reason(missing: list[str]) -> str:
    return "end-to-end deployment test needs: " + "; ".join(missing)
